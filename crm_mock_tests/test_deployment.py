"""The deployment's processes (code server, webserver, daemon) on a PostgreSQL-backed Dagster instance,
driven through the webserver's GraphQL API, as the docker deployment runs them (without Docker)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest
import yaml

from crm_mock_tests.conftest import require_postgres

REPO = Path(__file__).resolve().parent.parent
DAGSTER_DB = "crm_mock_test_dagster"
SERVICES = ("postgres", "rabbitmq", "code_server", "webserver", "daemon")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bin(name: str) -> str:
    found = Path(sys.executable).with_name(name)
    return str(found) if found.exists() else shutil.which(name) or name


def _wait_for(url: str, processes: list[subprocess.Popen], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            assert process.poll() is None, f"{process.args[:3]} exited with {process.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"{url} did not come up within {timeout:.0f} s")


def _wait_for_code_server(port: int, processes: list[subprocess.Popen], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert processes[0].poll() is None, "the code server exited"
        check = subprocess.run([_bin("dagster"), "api", "grpc-health-check", "-p", str(port)], capture_output=True)
        if check.returncode == 0:
            return
        time.sleep(1)
    raise AssertionError(f"the code server on port {port} did not come up within {timeout:.0f} s")


@pytest.fixture()
def deployment(tmp_path: Path):
    require_postgres()
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DAGSTER_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DAGSTER_DB}")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "docker" / "dagster.yaml", home / "dagster.yaml")
    grpc_port, web_port = _free_port(), _free_port()
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(yaml.safe_dump({"load_from": [{"grpc_server": {
        "host": "127.0.0.1", "port": grpc_port, "location_name": "crm_mock"}}]}))
    env = {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": "5432",
           "DAGSTER_PG_USER": "postgres", "DAGSTER_PG_PASSWORD": "", "DAGSTER_PG_DB": DAGSTER_DB,
           "CRM_MOCK_DATA_DIR": str(tmp_path / "data")}
    env.pop("CRM_MOCK_DATABASE_URL", None)
    logs = tmp_path / "logs"
    logs.mkdir()
    commands = {
        "code_server": [_bin("dagster"), "code-server", "start", "-h", "127.0.0.1", "-p", str(grpc_port),
                        "-m", "crm_mock.definitions", "--location-name", "crm_mock"],
        "webserver": [_bin("dagster-webserver"), "-h", "127.0.0.1", "-p", str(web_port), "-w", str(workspace)],
        "daemon": [_bin("dagster-daemon"), "run", "-w", str(workspace)],
    }
    processes = []
    try:
        for name, command in commands.items():
            log = (logs / f"{name}.log").open("w")
            processes.append(subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT))
            if name == "code_server":
                _wait_for_code_server(grpc_port, processes)
        _wait_for(f"http://127.0.0.1:{web_port}/server_info", processes)
        yield web_port, tmp_path / "data", logs
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_a_run_started_through_graphql_materialises_the_smoke_tier(deployment):
    from dagster_graphql import DagsterGraphQLClient

    port, data_dir, logs = deployment
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    run_id = client.submit_job_execution("materialize_all", tags={"dagster/partition": "smoke"})
    deadline = time.monotonic() + 600
    status = None
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id).value
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(2)
    assert status == "SUCCESS", "\n".join(p.read_text()[-3000:] for p in logs.iterdir())
    for service in ("hr", "contact", "inventory", "sales", "orders", "finance", "support"):
        assert (data_dir / "smoke" / f"{service}.sqlite").is_file()
    assert (data_dir / "smoke" / "edge_cases_manifest.json").is_file()
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={DAGSTER_DB}") as conn:
        assert conn.execute("SELECT status FROM runs WHERE run_id = %s", (run_id,)).fetchone() == ("SUCCESS",)


def test_the_compose_file_describes_the_deployment():
    compose = yaml.safe_load((REPO / "docker" / "compose.yaml").read_text())
    services = compose["services"]
    assert set(SERVICES) <= set(services)
    for name in SERVICES:
        assert "healthcheck" in services[name], name
    assert services["code_server"]["command"][:3] == ["dagster", "code-server", "start"]
    assert services["daemon"]["command"][:2] == ["dagster-daemon", "run"]
    example = (REPO / "docker" / ".env.example").read_text()
    for variable in ("DAGSTER_PG_PASSWORD", "CRM_MOCK_DATABASE_URL", "RABBITMQ_DEFAULT_PASS"):
        assert variable in example
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        done = subprocess.run(["docker", "compose", "-f", "compose.yaml", "--env-file", ".env.example", "config"],
                              cwd=REPO / "docker", capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
