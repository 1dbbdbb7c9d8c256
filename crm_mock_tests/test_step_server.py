"""The multiprocess executor's fork server: each step's process is a fork of a server that has crm_mock's
definitions, the Faker pools and the instance's modules loaded, and a server started under another environment
is never reused."""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crm_mock.defs.executors import STEP_SERVER_MODULE, fork_server_start_method

PROBE = "CRM_MOCK_TEST_FORK_SERVER_PROBE"


def _report_probe(connection) -> None:
    connection.send(os.environ.get(PROBE))
    connection.close()


def _probe_in_a_forked_process() -> str | None:
    context = multiprocessing.get_context("forkserver")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=_report_probe, args=(sending,))
    process.start()
    sending.close()
    try:
        assert receiving.poll(60), "the forked process sent nothing"
        return receiving.recv()
    finally:
        process.join(60)


@pytest.fixture
def own_fork_server():
    """A fork server of this test's own, preloading nothing; stopped afterwards, so no other test forks from it."""
    multiprocessing.get_context("forkserver").set_forkserver_preload([])
    yield
    multiprocessing.forkserver._forkserver._stop()


def test_a_fork_server_started_under_another_environment_is_not_reused(own_fork_server, monkeypatch):
    monkeypatch.setenv(PROBE, "first run")
    assert fork_server_start_method() == {"forkserver": {"preload_modules": [STEP_SERVER_MODULE]}}
    assert _probe_in_a_forked_process() == "first run"

    monkeypatch.setenv(PROBE, "second run")
    # what the guard is for: a running server forks with the environment it started under
    assert _probe_in_a_forked_process() == "first run"
    fork_server_start_method()  # as the next run's executor is configured
    assert _probe_in_a_forked_process() == "second run"
    fork_server_start_method()  # the same environment: the server is kept
    server_pid = multiprocessing.forkserver._forkserver._forkserver_pid
    assert server_pid is not None and _probe_in_a_forked_process() == "second run"
    assert multiprocessing.forkserver._forkserver._forkserver_pid == server_pid


def test_the_step_server_holds_the_built_definitions(tmp_path: Path):
    """What the fork server imports leaves the definitions built for the environment it started under, and the
    scenario's Faker pools; a process whose environment differs builds its own definitions."""
    script = """
import os
import sys
import crm_mock.step_server
import crm_mock.definitions as root
from crm_mock.generate.pools import locale_pools

built = root.defs()
assert built is root._prebuilt[1], "the step's definitions were built again"
assert {job.name for job in built.get_repository_def().get_all_jobs()} >= {"materialize_all", "__ASSET_JOB"}
assert locale_pools.cache_info().currsize == 1
# the instance was opened once, so its storages' modules are loaded (Dagster imports them on first use)
assert {"alembic", "dagster._core.storage.runs.sqlite.sqlite_run_storage"} <= set(sys.modules)
os.environ["CRM_MOCK_DATA_DIR"] = os.environ["CRM_MOCK_DATA_DIR"] + "-elsewhere"
assert root.defs() is not built
print("step server ok")
"""
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CRM_MOCK_")},
           "DAGSTER_HOME": str(home), "CRM_MOCK_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "step server ok" in done.stdout
