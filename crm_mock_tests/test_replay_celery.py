"""Replay through Celery on the local RabbitMQ, against a real worker running a small test system
(crm_mock_tests/replay_system.py), and the Dagster replay job finishing on retry after a crash."""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest
import yaml
from kombu import Connection

from crm_mock.replay.plan import read_plan
from crm_mock.replay.runner import EXIT_FAILED, EXIT_USAGE, RunSettings, run_replay
from crm_mock.sinks.parquet import TableStore
from crm_mock_tests.replay_servers import EXAMPLES, json_server, store_rows
from crm_mock_tests.test_replay_http import CREATED

pytestmark = pytest.mark.timeout(180)
BROKER = "amqp://guest:guest@127.0.0.1:5672//"
ROOT = Path(__file__).resolve().parent.parent


def require_rabbitmq() -> None:
    try:
        with Connection(BROKER, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"RabbitMQ at 127.0.0.1:5672 is unreachable under CI: {exc}")
        pytest.skip(f"RabbitMQ at 127.0.0.1:5672 is unreachable: {exc}")


@pytest.fixture
def data_dir(smoke_run, tmp_path) -> Path:
    directory = tmp_path / "data"
    (directory / "smoke").mkdir(parents=True)
    (directory / "smoke" / "tables").symlink_to(smoke_run.data_dir / "smoke" / "tables")
    return directory


@pytest.fixture
def queue() -> str:
    """A queue of this test alone, deleted afterwards."""
    require_rabbitmq()
    name = f"crm_mock_replay_test_{uuid.uuid4().hex[:12]}"
    yield name
    with Connection(BROKER, connect_timeout=3) as conn:
        with contextlib.suppress(Exception):
            conn.default_channel.queue_delete(name)


@contextlib.contextmanager
def worker(queue: str, store_url: str, results: Path, skip_invoices: str = ""):
    env = {**os.environ, "CRM_MOCK_TEST_BROKER": BROKER, "CRM_MOCK_TEST_STORE_URL": store_url,
           "CRM_MOCK_TEST_RESULTS": f"db+sqlite:///{results}", "CRM_MOCK_TEST_SKIP_INVOICES": skip_invoices}
    argv = [sys.executable, "-m", "celery", "-A", "crm_mock_tests.replay_system", "worker", "-Q", queue, "-P", "threads",
            "-c", "4", "-n", f"{queue}@%h", "--without-gossip", "--without-mingle", "-l", "warning"]
    log = results.with_suffix(".log").open("wb")
    process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            assert process.poll() is None, results.with_suffix(".log").read_text()[-2000:]
            with Connection(BROKER, connect_timeout=3) as conn, contextlib.suppress(Exception):
                if conn.default_channel.queue_declare(queue, passive=True).consumer_count:
                    break
            time.sleep(0.3)
        else:
            raise RuntimeError("the Celery worker did not start consuming within 45s")
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        log.close()


def _celery_target(tmp_path: Path, queue: str, store_url: str, results: Path, name: str = "celery") -> Path:
    document = {
        "name": name,
        "services": {"store": {"base_url": store_url}},
        "brokers": {"rabbit": {"url": BROKER, "result_backend": f"db+sqlite:///{results}", "rate": 40}},
        "events": {
            "order.shipped": {"celery": {"broker": "rabbit", "task": "orders.ship_order", "queue": queue,
                                         "kwargs": {"columns": ["order_uuid", "shipped_at"]}}},
            "invoice.issued": {"expect": {"service": "store", "deadline_s": 8,
                                          "lookup": {"path": "/invoices?order_uuid={order_uuid}"}}},
        },
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _shipped_orders(data_dir: Path) -> list[str]:
    plan = read_plan(TableStore(data_dir), "smoke")
    return [k for e, k in zip(plan.table.column("event_id").to_pylist(), plan.table.column("key").to_pylist())
            if e == "order.shipped"]


def _invoice_of(data_dir: Path, order_uuid: str) -> str:
    plan = read_plan(TableStore(data_dir), "smoke").table.to_pylist()
    return next(r["key"] for r in plan if r["event_id"] == "invoice.issued" and f'"order_uuid":"{order_uuid}"' in r["record"])


def test_each_task_runs_exactly_once_across_a_resume_and_a_missing_invoice_is_reported(data_dir, tmp_path, queue):
    results = tmp_path / "results.sqlite"
    shipped = _shipped_orders(data_dir)
    forgotten = shipped[7]  # the test system "forgets" this order's invoice
    with json_server(tmp_path / "store") as store, worker(queue, store.url, results, forgotten):
        target = _celery_target(tmp_path, queue, store.url, results)
        argv = [sys.executable, "-m", "crm_mock.cli", "replay", "run", "--tier", "smoke", "--data-dir", str(data_dir),
                "--target", str(target)]
        process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(store_rows(store, "executions")) < 40:
                assert process.poll() is None, "the replay finished before it could be killed"
                time.sleep(0.05)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
        assert len(store_rows(store, "executions")) < len(shipped)
        result = run_replay(RunSettings(tier="smoke", target_path=target, data_dir=data_dir, resume=True))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(store_rows(store, "executions")) < len(shipped):
            time.sleep(0.2)
        time.sleep(1)  # a duplicate would arrive now
        executions = store_rows(store, "executions")
    per_task = collections.Counter(e["task_id"] for e in executions)
    assert len(per_task) == len(shipped) and max(per_task.values()) == 1
    assert {e["order_uuid"] for e in executions} == set(shipped)
    assert all(e["idempotency_key"] == e["task_id"] for e in executions)
    assert result.exit_code == EXIT_FAILED  # the forgotten invoice
    assert [(m["event"], m["key"]) for m in result.report["expected_missing"]] == [
        ("invoice.issued", _invoice_of(data_dir, forgotten))]
    states = result.report["events"]["invoice.issued"]["states"]
    assert states == {"expected-found": len(shipped) - 1, "expected-missing": 1}


def test_no_consumer_fails_the_preflight_with_exit_2_and_sends_nothing(data_dir, tmp_path, queue, capsys):
    from crm_mock.cli import main

    results = tmp_path / "results.sqlite"
    with json_server(tmp_path / "store") as store:
        target = _celery_target(tmp_path, queue + "_mistyped", store.url, results)
        code = main(["replay", "run", "--tier", "smoke", "--data-dir", str(data_dir), "--target", str(target)])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert f"queue '{queue}_mistyped'" in err and "no worker consumes it" in err


def test_dagster_job_with_a_crash_in_its_op_finishes_on_retry_without_duplicates(data_dir, tmp_path, monkeypatch):
    from crm_mock_tests.conftest import build_defs

    limit = 120
    secret = "dagster-s3cret-41d7"
    monkeypatch.setenv("CRM_MOCK_REPLAY_TEST_TOKEN", secret)
    document = yaml.safe_load((EXAMPLES / "json-server.yaml").read_text())
    document["services"]["store"]["auth"] = {"env": "CRM_MOCK_REPLAY_TEST_TOKEN", "prefix": "Bearer "}
    target = tmp_path / "dagster.yaml"
    target.write_text(yaml.safe_dump(document))
    with json_server(tmp_path / "store") as store:
        monkeypatch.setenv("CRM_MOCK_REPLAY_URL", store.url)
        job = build_defs(data_dir).resolve_job_def("replay")
        with dg.instance_for_test() as instance:
            result = job.execute_in_process(instance=instance, raise_on_error=False, run_config={"ops": {"replay_events": {
                "config": {"tier": "smoke", "target": str(target), "limit": limit, "crash_after": 40}}}})
            retries = [e for e in result.all_events if e.event_type_value == "STEP_RESTARTED"]
            logged = [str(record) for record in instance.all_logs(result.run_id)]
        stored = {c: store_rows(store, c) for c in CREATED}
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert retries, "the op never crashed: the test proves nothing"
    assert logged and not [line for line in logged if secret in line]  # metadata, logs and errors included
    outputs = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = outputs[-1].event_specific_data.metadata
    assert metadata["failed"].value == 0 and metadata["ok"].value + metadata["already_there"].value == limit
    events = metadata["report_json"].value["events"]
    for collection, (event_id, key) in CREATED.items():
        states = events.get(event_id, {}).get("states", {})
        assert len(stored[collection]) == states.get("ok", 0) + states.get("already there", 0), collection
        assert len({r[key] for r in stored[collection]}) == len(stored[collection]), f"duplicates in {collection}"
