"""The same jobs on Celery: the smoke tier's materialize_all run sharded by `crm-mock materialize --executor celery` on a
PostgreSQL-backed Dagster instance (docker/dagster.yaml), its steps executed by two real Celery workers
(crm_mock.celery_worker) on the local RabbitMQ, giving the same table store, byte for byte, as the in-process run.
Every wait is bounded and the workers are always stopped: a run whose steps no worker takes waits for ever."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import shutil
import subprocess
import time
import uuid
from collections import defaultdict
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import yaml
from kombu import Connection

from crm_mock.defs.executors import CELERY_BROKER_ENV, CELERY_QUEUE_ENV, EXECUTOR_ENV, CelerySettings, ExecutorChoiceError
from crm_mock_tests.conftest import build_defs, drop_test_databases, require_postgres
from crm_mock_tests.dagster_processes import Process, bin_path
from crm_mock_tests.test_replay_celery import BROKER, require_rabbitmq

pytestmark = pytest.mark.timeout(420)
REPO = Path(__file__).resolve().parent.parent
DB_PREFIX = "crm_mock_celery_"
WORKERS = 2
RUN_TIMEOUT = 300  # the smoke tier takes ~90 s on 2 busy cores; a run nobody serves is killed at this bound
# what a worker must not inherit from the test's environment: the command's own settings must reach it
COMMAND_SETTINGS = ("CRM_MOCK_DATA_DIR", "CRM_MOCK_SCENARIO", "CRM_MOCK_SQLITE_UUID_STORAGE", "CRM_MOCK_DATABASE_URL",
                    "CRM_MOCK_MAPPING")


@pytest.fixture
def celery_env(tmp_path: Path):
    """A PostgreSQL-backed instance in a database of its own, and a queue no other worker listens on."""
    require_postgres()
    require_rabbitmq()
    drop_test_databases(DB_PREFIX)
    database = f"{DB_PREFIX}{uuid.uuid4().hex[:10]}"
    queue = f"crm_mock_celery_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "docker" / "dagster.yaml", home / "dagster.yaml")
    env = {key: value for key, value in os.environ.items() if key not in COMMAND_SETTINGS}
    env.update({"DAGSTER_HOME": str(home), "DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": "5432",
                "DAGSTER_PG_USER": "postgres", "DAGSTER_PG_PASSWORD": "", "DAGSTER_PG_DB": database,
                EXECUTOR_ENV: "celery", CELERY_BROKER_ENV: BROKER, CELERY_QUEUE_ENV: queue})
    try:
        yield env, queue
    finally:
        with Connection(BROKER, connect_timeout=3) as conn:
            for delete in (conn.default_channel.queue_delete, conn.default_channel.exchange_delete):
                with contextlib.suppress(Exception):
                    delete(queue)
        drop_test_databases(database)


@contextlib.contextmanager
def celery_workers(env: dict, queue: str, directory: Path, count: int = WORKERS):
    """``count`` worker processes, one step at a time each, every one in its own directory and named apart;
    stopped (their whole process group) whatever happens."""
    workers: list[Process] = []
    try:
        for number in range(1, count + 1):
            cwd = directory / f"worker_{number}"
            cwd.mkdir()
            workers.append(Process(
                [bin_path("celery"), "-A", "crm_mock.celery_worker", "worker", "-Q", queue, "-c", "1",
                 "-n", f"{queue}_{number}@%h", "--without-gossip", "--without-mingle", "-l", "info"],
                env, cwd, directory / f"worker_{number}.log"))
        deadline = time.monotonic() + 90
        while _consumers(queue) < count:
            for worker in workers:
                assert worker.alive, f"a worker exited:\n{worker.tail()}"
            assert time.monotonic() < deadline, "the workers did not consume the queue within 90 s:\n" + "\n".join(
                w.tail() for w in workers)
            time.sleep(0.5)
        yield workers
    finally:
        for worker in workers:
            worker.stop()


def _consumers(queue: str) -> int:
    return CelerySettings(broker=BROKER, queue=queue, broker_from_env=False).consumers(timeout=3)


def _materialize(env: dict, cwd: Path, *args: str, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([bin_path("crm-mock"), "materialize", "--tier", "smoke", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def _digests(data_dir: Path) -> dict[str, str]:
    tables = data_dir / "smoke" / "tables"
    return {str(p.relative_to(tables)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(tables.rglob("*.parquet"))}


def _utc_day(path: Path) -> dt.date:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc).date()


def test_the_smoke_tier_on_two_celery_workers_gives_the_in_process_tables(celery_env, smoke_run, tmp_path,
                                                                           monkeypatch):
    env, queue = celery_env
    data_dir = tmp_path / "data"
    with celery_workers(env, queue, tmp_path) as workers:
        day = dt.datetime.now(dt.timezone.utc).date()
        done = _materialize(env, tmp_path, "--data-dir", str(data_dir), "--shards", str(WORKERS))
        logs = "\n".join(w.tail(1_000_000) for w in workers)
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}\n{logs[-4000:]}"
    output = done.stdout + done.stderr + logs
    assert BROKER not in output and "guest:guest@" not in output  # the broker's password is never printed

    # the run is in the PostgreSQL instance, and every one of its steps ran on a worker, both workers busy
    for key in ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB"):
        monkeypatch.setenv(key, env[key])
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        [run] = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS
        records = instance.get_records_for_run(run.run_id, limit=100_000).records
    steps_by_worker: dict[str, set[str]] = defaultdict(set)
    succeeded = set()
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            succeeded.add(event.step_key)
        elif event.event_type == dg.DagsterEventType.ENGINE_EVENT:
            # dagster-celery's task reports the worker that took the step (Celery's request.hostname)
            worker = event.engine_event_data.metadata.get("Celery worker")
            if worker is not None:
                steps_by_worker[worker.value].add(event.step_key)
    assert {name.split("@")[0] for name in steps_by_worker} == {f"{queue}_{n}" for n in range(1, WORKERS + 1)}, \
        dict(steps_by_worker)
    assert all(steps_by_worker.values())
    assert set().union(*steps_by_worker.values()) == succeeded
    assert len(succeeded) > 40  # every table, database, check step and the live rules of materialize_all
    # the transaction tables ran sharded: a step per shard and a join, each on some worker
    for shard in range(WORKERS):
        assert f"orders__order_lines.orders__order_lines__shard_{shard}" in succeeded, sorted(succeeded)
    assert "orders__order_lines.orders__order_lines__join" in succeeded
    assert "finance__ledger_entries__built_checks" in succeeded

    # the same bytes as in process: every Parquet file of the run, against the session's in-process smoke run
    reference = _digests(smoke_run.data_dir)
    on_celery = _digests(data_dir)
    assert len(on_celery) > 30 and set(on_celery) <= set(reference)
    assert not (tmp_path / "worker_1" / "data").exists()  # the workers wrote where the command said
    finished = dt.datetime.now(dt.timezone.utc).date()
    reference_day = _utc_day(smoke_run.data_dir / "smoke" / "tables" / "id_maps" / "account.parquet")
    if not day == finished == reference_day:
        pytest.skip("a UTC midnight fell between the two runs: `reference_date: today` gave them different days")
    assert on_celery == {name: reference[name] for name in on_celery}


def test_a_run_with_no_worker_on_its_queue_is_refused_at_once(celery_env, tmp_path):
    env, queue = celery_env
    started = time.monotonic()
    done = _materialize(env, tmp_path, "--data-dir", str(tmp_path / "data"), timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"no Celery worker consumes the queue {queue!r} at amqp://guest:**@127.0.0.1:5672//" in done.stderr
    assert "guest:guest" not in done.stdout + done.stderr
    assert time.monotonic() - started < 60
    assert not (tmp_path / "data").exists()  # refused before anything was written


def test_an_unreachable_broker_is_named_without_its_password(tmp_path, monkeypatch):
    monkeypatch.setenv(CELERY_BROKER_ENV, "amqp://someone:s3cret-pw@127.0.0.1:1//")
    done = _materialize({**os.environ}, tmp_path, "--executor", "celery", timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "the Celery broker amqp://someone:**@127.0.0.1:1// is unreachable" in done.stderr
    assert "s3cret-pw" not in done.stdout + done.stderr


def test_the_executor_is_chosen_by_the_environment_and_shows_no_password(tmp_path, monkeypatch):
    jobs = {}
    monkeypatch.setenv(CELERY_BROKER_ENV, "amqp://someone:s3cret-pw@broker.example:5672//")
    monkeypatch.setenv(CELERY_QUEUE_ENV, "crm_mock_steps")
    for choice in ("", "in_process", "multiprocess", "celery"):
        monkeypatch.setenv(EXECUTOR_ENV, choice)
        jobs[choice] = build_defs(tmp_path).resolve_job_def("materialize_all")
    assert jobs[""].executor_def.name == jobs["in_process"].executor_def.name == "in_process"
    assert jobs["celery"].executor_def.name == "celery"
    assert jobs["multiprocess"].executor_def.name == "multiprocess"
    # the values the executor is configured with (which the UI may show) name the variable, not the URL
    assert CelerySettings.from_environment().executor_config() == {
        "broker": {"env": CELERY_BROKER_ENV}, "config_source": {"task_default_queue": "crm_mock_steps"}}
    monkeypatch.setenv(EXECUTOR_ENV, "k8s")
    with pytest.raises(ExecutorChoiceError, match="CRM_MOCK_EXECUTOR='k8s'"):
        build_defs(tmp_path)
    monkeypatch.setenv(EXECUTOR_ENV, "in_process")
    monkeypatch.setenv("CRM_MOCK_SHARDS", "many")
    with pytest.raises(ExecutorChoiceError, match="CRM_MOCK_SHARDS='many'"):
        build_defs(tmp_path)
    monkeypatch.delenv("CRM_MOCK_SHARDS")
    monkeypatch.setenv("CRM_MOCK_PROCESSES", "half")  # reported even when the executor does not use it
    with pytest.raises(ExecutorChoiceError, match="CRM_MOCK_PROCESSES='half'"):
        build_defs(tmp_path)


def test_the_compose_workers_share_the_instance_the_broker_and_the_table_store():
    services = yaml.safe_load((REPO / "docker" / "compose.yaml").read_text())["services"]
    worker, code_server = services["worker"], services["code_server"]
    assert worker["command"][:4] == ["celery", "-A", "crm_mock.celery_worker", "worker"]
    assert worker["command"][worker["command"].index("-c") + 1] == "1"
    assert worker["deploy"]["replicas"] == 2 and "healthcheck" in worker
    # the same image, environment (instance DB, broker, executor) and volumes (table store) as the code server
    assert worker["image"] == code_server["image"] and worker["env_file"] == code_server["env_file"]
    assert worker["volumes"] == code_server["volumes"] and "crm_mock_data:/opt/dagster/data" in worker["volumes"]
    example = (REPO / "docker" / ".env.example").read_text()
    assert f"{EXECUTOR_ENV}=celery" in example and f"{CELERY_BROKER_ENV}=amqp://" in example
    assert '".[celery]"' in (REPO / "docker" / "Dockerfile").read_text()
