"""Dagster's processes for tests and benchmarks: each in its own process group, killed by id, every wait bounded."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml


def bin_path(name: str) -> str:
    found = Path(sys.executable).with_name(name)
    return str(found) if found.exists() else shutil.which(name) or name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def module_workspace(directory: Path) -> Path:
    """A workspace that loads crm_mock from the installed package, as location `crm_mock`."""
    workspace = directory / "workspace.yaml"
    workspace.write_text(yaml.safe_dump({"load_from": [{"python_module": {
        "module_name": "crm_mock.definitions", "location_name": "crm_mock"}}]}))
    return workspace


class Process:
    """A child in a new session: stopping it stops what it started (code servers, run workers)."""

    def __init__(self, command: list[str], env: dict, cwd: Path, log: Path) -> None:
        self.log_path = log
        self._log = log.open("w")
        self.process = subprocess.Popen(command, env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        try:  # the group may outlive its leader for a moment: make sure nothing of it is left
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._log.close()


def daemon(workspace: Path, env: dict, log: Path) -> Process:
    return Process([bin_path("dagster-daemon"), "run", "-w", str(workspace)], env, workspace.parent, log)


def webserver(workspace: Path, env: dict, log: Path, port: int) -> Process:
    return Process([bin_path("dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", str(workspace)],
                   env, workspace.parent, log)


def wait_until_serving(port: int, processes: list[Process], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/server_info"
    while time.monotonic() < deadline:
        for process in processes:
            assert process.alive, f"{process.process.args[:2]} exited:\n{process.tail()}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"{url} did not answer within {timeout:.0f} s")


def wait_for_run(client, run_id: str, timeout: float = 600) -> str:
    """Poll a run's status through the webserver's GraphQL API until it finishes."""
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id).value
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} still {status} after {timeout:.0f} s")


def wait_for_daemon(instance, process: Process, daemons: tuple[str, ...] = ("QUEUED_RUN_COORDINATOR",),
                    timeout: float = 180) -> None:
    """Until the daemon's loops have reported in (a run queued before that waits for its start-up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.alive, f"the daemon exited:\n{process.tail()}"
        if set(daemons) <= set(instance.get_daemon_heartbeats()):
            return
        time.sleep(1)
    raise AssertionError(f"the daemon did not report {daemons} within {timeout:.0f} s:\n{process.tail()}")
