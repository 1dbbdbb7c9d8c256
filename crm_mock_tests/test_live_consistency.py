"""`crm-mock check`: the consistency rules as SQL against live service databases, after tampering."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from contextlib import closing
from functools import partial
from pathlib import Path

import pytest

from crm_mock.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from crm_mock.model import CATALOG, SERVICES
from crm_mock.sinks.parquet import TableStore
from crm_mock.sinks.postgres import connect, load_service_postgres
from crm_mock.sinks.values import canonical_uuid
from crm_mock_tests.conftest import POSTGRES_URL, TierRun, reload_sqlite, require_postgres

# (service, the statement that picks a row, the statement that tampers with it)
TAMPERING = {
    "deleted_replica_row": ("orders", "SELECT account_uuid FROM account_replica ORDER BY account_uuid LIMIT 1 OFFSET 3",
                            "DELETE FROM account_replica WHERE account_uuid = {}"),
    "changed_replicated_price": ("sales", "SELECT product_uuid FROM product_replica ORDER BY product_uuid LIMIT 1 OFFSET 2",
                                 "UPDATE product_replica SET list_price = list_price + 1 WHERE product_uuid = {}"),
    "on_hold_in_contact_only": ("contact", "SELECT account_uuid FROM accounts WHERE status = 'ACTIVE' "
                                "ORDER BY account_uuid LIMIT 1 OFFSET 4",
                                "UPDATE accounts SET status = 'ON_HOLD' WHERE account_uuid = {}"),
    # the product replica row an order line points at disappears: the line's reference no longer resolves
    "orphaned_order_line": ("orders", "SELECT order_line_uuid FROM order_lines ORDER BY order_line_uuid LIMIT 1",
                            "DELETE FROM product_replica WHERE product_uuid = "
                            "(SELECT product_uuid FROM order_lines WHERE order_line_uuid = {})"),
}
EXPECTED_RULES = {  # tampering -> (rule, table) that must name the row
    "deleted_replica_row": ("replica_in_sync", "orders.account_replica"),
    "changed_replicated_price": ("replica_in_sync", "sales.product_replica"),
    "on_hold_in_contact_only": ("credit_hold_synced", "finance.customer_accounts"),
    "orphaned_order_line": ("references_resolve", "orders.order_lines"),
}


def _run_check(capsys, tier: str, data_dir: Path) -> tuple[int, list[dict]]:
    code = main(["check", "--tier", tier, "--data-dir", str(data_dir), "--json"])
    return code, json.loads(capsys.readouterr().out)


def _assert_named(results: list[dict], tampered: dict[str, str]) -> None:
    by_rule = {(r["rule"], r["table"]): r for r in results}
    for name, uuid in tampered.items():
        result = by_rule[EXPECTED_RULES[name]]
        assert not result["passed"] and uuid in result["sample"], (name, result)


def _tamper_sqlite(data_dir: Path) -> dict[str, str]:
    """The tampered rows' UUIDs in canonical text, whatever the files' UUID storage."""
    tampered = {}
    for name, (service, pick, change) in TAMPERING.items():
        with closing(sqlite3.connect(data_dir / "smoke" / f"{service}.sqlite")) as conn:
            stored = conn.execute(pick).fetchone()[0]
            conn.execute(change.format("?"), (stored,))
            conn.commit()
        tampered[name] = canonical_uuid(stored)
    return tampered


# a tier in each SQLite UUID storage; "mixed" gives neighbouring services different ones
STORAGES = {"text": "text", "hex": "hex", "blob": "blob",
            "mixed": {service: ("text", "hex", "blob")[i % 3] for i, service in enumerate(SERVICES)}}


def _copy_in(smoke_run: TierRun, data_dir: Path, storage: str) -> Path:
    if storage == "text":
        shutil.copytree(smoke_run.data_dir, data_dir)
    else:
        reload_sqlite(smoke_run, data_dir, STORAGES[storage])
    return data_dir


def test_a_fresh_tier_is_consistent(smoke_run: TierRun, capsys):
    code, results = _run_check(capsys, "smoke", smoke_run.data_dir)
    assert code == EXIT_OK and results and all(r["passed"] for r in results)


@pytest.mark.parametrize("storage", sorted(STORAGES))
def test_tampering_is_named_by_rule_service_table_and_uuid(smoke_run: TierRun, tmp_path, capsys, storage: str):
    data_dir = _copy_in(smoke_run, tmp_path / "data", storage)
    tampered = _tamper_sqlite(data_dir)
    code, results = _run_check(capsys, "smoke", data_dir)
    assert code == EXIT_FAILED
    _assert_named(results, tampered)
    # the text report names them too
    assert main(["check", "--tier", "smoke", "--data-dir", str(data_dir)]) == EXIT_FAILED
    report = capsys.readouterr().out
    assert all(uuid in report for uuid in tampered.values())


def test_a_missing_database_cannot_be_checked(tmp_path, capsys):
    assert main(["check", "--tier", "smoke", "--data-dir", str(tmp_path)]) == EXIT_USAGE
    assert "does not exist" in capsys.readouterr().err


@pytest.fixture()
def live_postgres_template():
    """Service databases only this test uses (other suites run against the same server), dropped afterwards."""
    require_postgres()
    import psycopg

    prefix = f"crm_mock_live_{os.getpid()}"
    yield POSTGRES_URL.format(database=prefix + "_{tier}_{service}")
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
        for service in SERVICES:
            admin.execute(f"DROP DATABASE IF EXISTS {prefix}_smoke_{service} WITH (FORCE)")


def test_the_same_on_postgres(smoke_run: TierRun, capsys, monkeypatch, live_postgres_template):
    template = live_postgres_template
    store = TableStore(smoke_run.data_dir)
    for service in SERVICES:
        load_service_postgres(template, "smoke", service, {
            t.name: partial(store.model_batches, "smoke", t.qualified_name) for t in CATALOG.service_tables(service)})
    monkeypatch.setenv("CRM_MOCK_DATABASE_URL", template)
    code, results = _run_check(capsys, "smoke", smoke_run.data_dir)
    assert code == EXIT_OK, [r for r in results if not r["passed"]]
    tampered = {}
    for name, (service, pick, change) in TAMPERING.items():
        conn, schema = connect(template, "smoke", service)
        with conn:
            conn.execute(f'SET search_path TO "{schema}"')
            uuid = str(conn.execute(pick).fetchone()[0])
            # real foreign keys guard these rows: tamper as a broken sync replaying changes would
            conn.execute("SET session_replication_role = replica")
            conn.execute(change.format(f"'{uuid}'"))
        tampered[name] = uuid
    code, results = _run_check(capsys, "smoke", smoke_run.data_dir)
    assert code == EXIT_FAILED
    _assert_named(results, tampered)
    tick = _tick(smoke_run.data_dir, database_url=template)
    request, = tick.run_requests
    reported = {s for e in _launch(request, smoke_run.data_dir, template) if not e.passed
                for s in e.metadata["sample"].value}
    assert set(tampered.values()) <= reported

    assert _repropagate(smoke_run.data_dir, template).success
    code, results = _run_check(capsys, "smoke", smoke_run.data_dir)
    assert code == EXIT_OK, [r for r in results if not r["passed"]]
    cleared = _tick(smoke_run.data_dir, cursor=tick.cursor, database_url=template)
    assert all(e.passed for e in _launch(cleared.run_requests[0], smoke_run.data_dir, template))


@pytest.fixture(autouse=True)
def _no_database_url(monkeypatch):
    monkeypatch.delenv("CRM_MOCK_DATABASE_URL", raising=False)
    monkeypatch.delenv("CRM_MOCK_AUTO_REPROPAGATE", raising=False)


def _resources(data_dir: Path, database_url: str = "") -> dict:
    from crm_mock.defs.resources import ScenarioResource, ServiceDatabaseResource, StorageResource

    storage = StorageResource(data_dir=str(data_dir))
    return {"storage": storage, "scenario": ScenarioResource(),
            "databases": ServiceDatabaseResource(storage=storage, database_url=database_url)}


def _repropagate(data_dir: Path, database_url: str = ""):
    from crm_mock.defs.consistency.repair import repropagate_job

    return repropagate_job(_resources(data_dir, database_url)).execute_in_process(
        run_config={"ops": {"repropagate_replicas": {"config": {"tier": "smoke"}}}})


def _tick(data_dir: Path, cursor: str | None = None, auto_repair: bool = False, database_url: str = ""):
    """One evaluation of the sensor, as the daemon makes it (the daemon then launches its run requests)."""
    import dagster as dg

    from crm_mock.defs.consistency.checks import live_consistency
    from crm_mock.defs.consistency.repair import repropagate_job
    from crm_mock.defs.consistency.sensors import AUTO_REPAIR_ENV, consistency_sensor

    resources = _resources(data_dir, database_url)
    sensor = consistency_sensor([live_consistency, repropagate_job(resources)])
    saved = os.environ.get(AUTO_REPAIR_ENV)
    os.environ[AUTO_REPAIR_ENV] = "1" if auto_repair else ""
    try:
        with dg.instance_for_test() as instance, dg.build_sensor_context(
                instance=instance, cursor=cursor, resources=resources) as context:
            return sensor(context)
    finally:
        os.environ[AUTO_REPAIR_ENV] = saved or ""


def _launch(request, data_dir: Path, database_url: str = "") -> list:
    """Run a sensor's run request the way the daemon launches it: its job, partition and subset."""
    import dagster as dg

    from crm_mock_tests.conftest import build_defs

    saved = os.environ.get("CRM_MOCK_DATABASE_URL")
    if database_url:
        os.environ["CRM_MOCK_DATABASE_URL"] = database_url
    try:
        job = build_defs(data_dir).resolve_job_def(request.job_name)
    finally:
        os.environ.pop("CRM_MOCK_DATABASE_URL", None)
        if saved is not None:
            os.environ["CRM_MOCK_DATABASE_URL"] = saved
    subset = job.get_subset(asset_selection=set(request.asset_selection),
                            asset_check_selection=set(request.asset_check_keys))
    with dg.instance_for_test() as instance:
        result = subset.execute_in_process(partition_key=request.partition_key, instance=instance, tags=request.tags)
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert {e.asset_check_key for e in evaluations} == set(request.asset_check_keys)
    assert {e.partition for e in evaluations} == {request.partition_key}
    return evaluations


def test_sensor_reports_drift_and_repropagate_repairs_it(smoke_run: TierRun, tmp_path, capsys):
    import dagster as dg

    from crm_mock.defs.consistency.checks import LIVE_CHECK_KEYS

    data_dir = tmp_path / "data"
    shutil.copytree(smoke_run.data_dir, data_dir)
    first = _tick(data_dir)  # first sight: every rule of the loaded tier, nothing of the others
    request, = first.run_requests
    assert (request.job_name, request.partition_key, request.run_key) == ("live_consistency", "smoke", "live-smoke-1")
    assert set(request.asset_check_keys) == set(LIVE_CHECK_KEYS)
    assert all(e.passed for e in _launch(request, data_dir))
    quiet = _tick(data_dir, cursor=first.cursor)
    assert not quiet.run_requests and quiet.skip_reason.skip_message.startswith(
        f"smoke: all {len(LIVE_CHECK_KEYS)} rules pass (unchanged)")

    tampered = _tamper_sqlite(data_dir)
    drifted = _tick(data_dir, cursor=first.cursor, auto_repair=True)
    live, repair = drifted.run_requests
    expected = {"deleted_replica_row": ("orders/account_replica", "live_replica_in_sync"),
                "changed_replicated_price": ("sales/product_replica", "live_replica_in_sync"),
                "on_hold_in_contact_only": ("finance/customer_accounts", "live_credit_hold_synced"),
                "orphaned_order_line": ("orders/order_lines", "live_references_resolve")}
    assert {(k.asset_key.to_user_string(), k.name) for k in live.asset_check_keys} >= set(expected.values())
    assert len(live.asset_check_keys) < len(LIVE_CHECK_KEYS)  # only what changed
    assert live.run_key == "live-smoke-2" and (repair.job_name, repair.run_key) == ("repropagate", "repropagate-smoke-2")
    failed = {(e.asset_key.to_user_string(), e.check_name): e for e in _launch(live, data_dir) if not e.passed}
    for name, key in expected.items():
        assert tampered[name] in failed[key].metadata["sample"].value, name
    assert failed[expected["changed_replicated_price"]].metadata["master_asset"].value == dg.AssetKey(
        ["inventory", "products"])
    # the same drift at the next tick: nothing to launch, and the tick says what it found
    again = _tick(data_dir, cursor=drifted.cursor, auto_repair=True)
    assert not again.run_requests
    assert "smoke: 9 rules failing: " in again.skip_reason.skip_message
    assert "live_replica_in_sync on orders/account_replica (2 rows)" in again.skip_reason.skip_message

    assert _repropagate(data_dir).success
    repaired = _tick(data_dir, cursor=again.cursor, auto_repair=True)
    cleared, = repaired.run_requests
    assert cleared.run_key == "live-smoke-3" and set(cleared.asset_check_keys) == set(live.asset_check_keys)
    assert all(e.passed for e in _launch(cleared, data_dir))
    code, _ = _run_check(capsys, "smoke", data_dir)
    assert code == EXIT_OK


def test_sensor_skips_with_a_reason_when_nothing_is_loaded(tmp_path):
    import dagster as dg

    result = _tick(tmp_path)
    assert isinstance(result, dg.SkipReason) and "does not exist" in result.skip_message


def test_planted_drift_is_recorded_found_and_repaired(tmp_path, capsys, monkeypatch):
    from crm_mock.scenario import DEFAULT_SCENARIO
    from crm_mock.sinks.manifest import manifest_path, read_manifest
    from crm_mock_tests.conftest import materialize_tier

    scenario = tmp_path / "drift.yaml"
    scenario.write_text(DEFAULT_SCENARIO.read_text().replace("  enabled: false", "  enabled: true")
                        .replace("sqlite_uuid_storage: text", "sqlite_uuid_storage: hex"))
    run = materialize_tier(tmp_path / "data", scenario=scenario, raise_on_error=False)
    with closing(sqlite3.connect(run.sqlite("contact"))) as conn:
        assert len(conn.execute("SELECT account_uuid FROM accounts LIMIT 1").fetchone()[0]) == 32
    failed_checks = {e.check_name for e in run.result.get_asset_check_evaluations() if not e.passed}
    # only the live rules see the planted drift (and the ON_HOLD quota sees the status planted out of sync)
    assert failed_checks and all(name.startswith(("live_replica_in_sync", "live_credit_hold", "live_references"))
                                 or name == "live_quotas" for name in failed_checks)
    drift = [e for e in read_manifest(manifest_path(run.data_dir, "smoke")) if e["theme"] == "drift"]
    assert {e["case_id"] for e in drift} == {"missing_replica_row", "changed_replicated_value", "status_out_of_sync",
                                            "unresolvable_reference"}
    code, results = _run_check(capsys, "smoke", run.data_dir)
    assert code == EXIT_FAILED
    named = {s for r in results for s in r["sample"]}
    assert {e["uuid"] for e in drift} <= named
    assert _repropagate(run.data_dir).success
    code, results = _run_check(capsys, "smoke", run.data_dir)
    assert code == EXIT_OK, [r for r in results if not r["passed"]]
