"""`crm-mock check`: the consistency rules as SQL against live service databases, after tampering."""

from __future__ import annotations

import json
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
from crm_mock_tests.conftest import POSTGRES_URL, TierRun, drop_test_databases, reload_sqlite, require_postgres

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


def test_the_same_on_postgres(smoke_run: TierRun, capsys, monkeypatch):
    require_postgres()
    drop_test_databases("crm_mock_live_")
    template = POSTGRES_URL.format(database="crm_mock_live_{tier}_{service}")
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
    tick = _sensor_tick(smoke_run.data_dir, monkeypatch, database_url=template)
    reported = {s for e in tick.asset_events if not e.passed for s in e.metadata["sample"].value}
    assert set(tampered.values()) <= reported
    from crm_mock.defs.consistency.repair import repropagate

    assert repropagate.execute_in_process(resources=_resources(smoke_run.data_dir, template), run_config={
        "ops": {"repropagate_replicas": {"config": {"tier": "smoke"}}}}).success
    code, results = _run_check(capsys, "smoke", smoke_run.data_dir)
    assert code == EXIT_OK, [r for r in results if not r["passed"]]
    assert all(e.passed for e in _sensor_tick(smoke_run.data_dir, monkeypatch, database_url=template).asset_events)


@pytest.fixture(autouse=True)
def _no_database_url(monkeypatch):
    monkeypatch.delenv("CRM_MOCK_DATABASE_URL", raising=False)


def _resources(data_dir: Path, database_url: str = "") -> dict:
    from crm_mock.defs.resources import ScenarioResource, ServiceDatabaseResource, StorageResource

    storage = StorageResource(data_dir=str(data_dir))
    return {"storage": storage, "scenario": ScenarioResource(),
            "databases": ServiceDatabaseResource(storage=storage, database_url=database_url)}


def _sensor_tick(data_dir: Path, monkeypatch, auto_repair: bool = False, database_url: str = ""):
    import dagster as dg

    from crm_mock.defs.consistency.sensors import AUTO_REPAIR_ENV, service_consistency_sensor

    monkeypatch.setenv(AUTO_REPAIR_ENV, "1" if auto_repair else "")
    with dg.instance_for_test() as instance, dg.build_sensor_context(
            instance=instance, resources=_resources(data_dir, database_url)) as context:
        return service_consistency_sensor(context)


@pytest.mark.parametrize("storage", ["text", "mixed"])
def test_sensor_reports_drift_and_repropagate_repairs_it(smoke_run: TierRun, tmp_path, capsys, monkeypatch,
                                                         storage: str):
    import dagster as dg

    from crm_mock.defs.consistency.repair import repropagate

    data_dir = _copy_in(smoke_run, tmp_path / "data", storage)
    clean = _sensor_tick(data_dir, monkeypatch)
    assert clean.asset_events and all(e.passed for e in clean.asset_events)
    assert {e.partition for e in clean.asset_events} == {"smoke"}  # the other tiers are not loaded

    tampered = _tamper_sqlite(data_dir)
    tick = _sensor_tick(data_dir, monkeypatch, auto_repair=True)
    failed = {(e.asset_key.to_user_string(), e.check_name): e for e in tick.asset_events if not e.passed}
    expected = {"deleted_replica_row": ("orders/database", "replica_in_sync__account_replica"),
                "changed_replicated_price": ("sales/database", "replica_in_sync__product_replica"),
                "on_hold_in_contact_only": ("finance/database", "credit_hold_synced__customer_accounts"),
                "orphaned_order_line": ("orders/database", "references_resolve__order_lines")}
    for name, key in expected.items():
        assert tampered[name] in failed[key].metadata["sample"].value, name
    assert failed[expected["changed_replicated_price"]].metadata["master_asset"].value == dg.AssetKey(
        ["inventory", "products"])
    # auto repair asks for one run whose key is the drift: the same drift never launches twice
    request, = tick.run_requests
    again, = _sensor_tick(data_dir, monkeypatch, auto_repair=True).run_requests
    assert request.run_key == again.run_key and request.job_name == "repropagate"

    result = repropagate.execute_in_process(resources=_resources(data_dir),
                                            run_config={"ops": {"repropagate_replicas": {"config": {"tier": "smoke"}}}})
    assert result.success
    after = _sensor_tick(data_dir, monkeypatch, auto_repair=True)
    assert all(e.passed for e in after.asset_events) and not after.run_requests
    code, _ = _run_check(capsys, "smoke", data_dir)
    assert code == EXIT_OK


def test_sensor_skips_with_a_reason_when_nothing_is_loaded(tmp_path, monkeypatch):
    import dagster as dg

    result = _sensor_tick(tmp_path, monkeypatch)
    assert isinstance(result, dg.SkipReason) and "does not exist" in result.skip_message


def test_planted_drift_is_recorded_found_and_repaired(tmp_path, capsys, monkeypatch):
    """With the scenario's UUIDs stored as 32-hex text, so the loads, the row counts, the live checks and
    the repair all work on files stored that way."""
    from crm_mock.defs.consistency.repair import repropagate
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
    assert failed_checks and all(name.startswith(("replica_in_sync", "credit_hold", "references_resolve"))
                                 for name in failed_checks)  # only the live rules see the planted drift
    drift = [e for e in read_manifest(manifest_path(run.data_dir, "smoke")) if e["theme"] == "drift"]
    assert {e["case_id"] for e in drift} == {"missing_replica_row", "changed_replicated_value", "status_out_of_sync",
                                            "unresolvable_reference"}
    code, results = _run_check(capsys, "smoke", run.data_dir)
    assert code == EXIT_FAILED
    named = {s for r in results for s in r["sample"]}
    assert {e["uuid"] for e in drift} <= named
    assert repropagate.execute_in_process(resources=_resources(run.data_dir), run_config={
        "ops": {"repropagate_replicas": {"config": {"tier": "smoke"}}}}).success
    code, results = _run_check(capsys, "smoke", run.data_dir)
    assert code == EXIT_OK, [r for r in results if not r["passed"]]
