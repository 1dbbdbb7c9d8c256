"""`dagster.materialize` of the whole graph on the smoke tier, in a temporary directory."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crm_mock.consistency.registry import run_rules
from crm_mock.consistency.sources import DatabaseSource
from crm_mock.defs.tables import produced_tables, table_key
from crm_mock.model import CATALOG
from crm_mock.scenario import load_scenario, plan_tier
from crm_mock.sinks.databases import SqliteDatabases
from crm_mock.sinks.sqlite import table_digest
from crm_mock_tests.conftest import TierRun, materialize_tier, run_checks


def _digests(run: TierRun) -> dict[str, str]:
    digests = {}
    for table in produced_tables():
        with closing(sqlite3.connect(run.sqlite(table.service))) as conn:
            digests[table.qualified_name] = table_digest(conn, table.service, table.name)
    return digests


def _sqlite_table(run: TierRun, qualified_name: str) -> pa.Table:
    table = CATALOG[qualified_name]
    with closing(sqlite3.connect(run.sqlite(table.service))) as conn:
        cursor = conn.execute(f"SELECT * FROM {table.name}")
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    return pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})


def test_smoke_materialises_with_every_check_passing(smoke_run: TierRun):
    assert smoke_run.result.success
    evaluations = smoke_run.result.get_asset_check_evaluations()
    assert evaluations, "no checks ran"
    failed = [(e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed]
    assert failed == []


def test_every_table_asset_reports_metadata(smoke_run: TierRun):
    materialised = {event.asset_key: event.event_specific_data.materialization.metadata
                    for event in smoke_run.result.get_asset_materialization_events()}
    for table in produced_tables():
        metadata = materialised[table_key(table)]
        assert metadata["dagster/row_count"].value > 0
        assert "dagster/column_schema" in metadata and "preview" in metadata
        lineage = metadata["dagster/column_lineage"].value
        if table.is_replica:
            master = CATALOG[table.replica_of.master]
            deps = lineage.deps_by_column[table.replica_of.columns[0]]
            assert deps[0].asset_key == table_key(master)


def test_service_databases_meet_the_contract(smoke_run: TierRun):
    """Every rule of the registry holds on the loaded service databases, quotas included."""
    plan = plan_tier(load_scenario(), "smoke")
    with DatabaseSource(SqliteDatabases(smoke_run.data_dir), "smoke") as source:
        failed = [r for r in run_rules(source, plan) if not r.passed]
    assert failed == []


def test_foreign_keys_inside_a_service_are_real_constraints(smoke_run: TierRun):
    with closing(sqlite3.connect(smoke_run.sqlite("contact"))) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        fks = conn.execute("PRAGMA foreign_key_list(accounts)").fetchall()
    assert any(fk[2] == "employee_replica" and fk[3] == "owner_employee_uuid" for fk in fks)


def test_sqlite_dates_are_iso_text(smoke_run: TierRun):
    with closing(sqlite3.connect(smoke_run.sqlite("hr"))) as conn:
        hire, = conn.execute("SELECT hire_date FROM employees LIMIT 1").fetchone()
    with closing(sqlite3.connect(smoke_run.sqlite("contact"))) as conn:
        created, = conn.execute("SELECT created_at FROM accounts LIMIT 1").fetchone()
    assert len(hire) == 10 and hire[4] == "-"
    assert len(created) == 19 and created[10] == " "


def test_rerun_is_byte_identical_and_idempotent(smoke_run: TierRun, tmp_path):
    before = _digests(smoke_run)
    again = materialize_tier(tmp_path / "data")
    assert again.result.success
    assert _digests(again) == before
    # re-running into the same directory replaces, never duplicates
    rerun = materialize_tier(tmp_path / "data", selection=dg.AssetSelection.groups("service_dbs"))
    assert rerun.result.success
    assert _digests(rerun) == before


def test_another_seed_gives_other_data(smoke_run: TierRun, tmp_path):
    scenario = tmp_path / "other.yaml"
    from crm_mock.scenario import DEFAULT_SCENARIO

    scenario.write_text(DEFAULT_SCENARIO.read_text().replace("seed: 20260630", "seed: 7"))
    other = materialize_tier(tmp_path / "data", scenario=scenario,
                             selection=dg.AssetSelection.assets(table_key("contact.accounts")).without_checks())
    assert other.result.success
    ours = pq.read_table(smoke_run.data_dir / "smoke/tables/contact/accounts.parquet")
    theirs = pq.read_table(tmp_path / "data/smoke/tables/contact/accounts.parquet")
    assert ours.num_rows == theirs.num_rows
    assert set(ours.column("account_uuid").to_pylist()).isdisjoint(theirs.column("account_uuid").to_pylist())


@pytest.mark.parametrize("corruption, check", [
    ("duplicate_key", "primary_key_unique"),
    ("dangling_account", "references_resolve"),
    ("overlong_name", "conforms_to_model"),
    ("extra_contact_for_small_business", "quotas"),
])
def test_a_corrupted_table_fails_its_check(smoke_run: TierRun, tmp_path, corruption, check):
    """Tamper with the materialised contacts, re-run only the checks, and see the right one fail."""
    import shutil

    data_dir = tmp_path / "data"
    shutil.copytree(smoke_run.data_dir, data_dir)
    path = data_dir / "smoke/tables/contact/contacts.parquet"
    frame = pq.read_table(path).to_pandas()
    victim = frame.contact_uuid.iloc[7]
    if corruption == "duplicate_key":
        frame.loc[8, "contact_uuid"] = victim
    elif corruption == "dangling_account":
        frame.loc[7, "account_uuid"] = "00000000-0000-8000-8000-000000000000"
    elif corruption == "overlong_name":
        frame.loc[7, "first_name"] = "x" * 51
    else:
        accounts = pq.read_table(data_dir / "smoke/tables/contact/accounts.parquet").to_pandas()
        small = accounts.account_uuid[accounts.segment == "SMALL_BUSINESS"].iloc[0]
        frame.loc[7, "account_uuid"] = small
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)

    key = table_key("contact.contacts")
    result = run_checks(data_dir, [dg.AssetCheckKey(key, check)])
    evaluation, = [e for e in result.get_asset_check_evaluations() if e.check_name == check]
    assert not evaluation.passed
    assert evaluation.metadata["offending_rows"].value >= 1


def test_a_steps_checks_run_without_the_table_it_built_held_in_memory(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """A table step writes its table itself: a value handed to Dagster stays referenced by its event loop until
    the step's next event, i.e. through the checks that follow (a replica's 138 MiB of Arrow at the stress tier)."""
    import crm_mock.defs.checks as step_checks

    held: dict[str, int] = {}
    selected_results = step_checks._selected_results

    def measured(context, checks, inputs, tracker):
        held[context.op_def.name] = pa.default_memory_pool().bytes_allocated()
        yield from selected_results(context, checks, inputs, tracker)

    monkeypatch.setattr(step_checks, "_selected_results", measured)
    from crm_mock.defs.check_registry import checks_of

    tables = [CATALOG["inventory.products"], CATALOG["sales.product_replica"]]
    in_step = [c.key for table in tables for c in checks_of(table) if c.runs_in_step]
    run = materialize_tier(tmp_path / "data", selection=dg.AssetSelection.assets(
        *(table_key(t) for t in tables)).without_checks() | dg.AssetSelection.checks(*in_step))
    assert run.result.success
    stored = pq.read_table(tmp_path / "data" / "smoke" / "tables" / "sales" / "product_replica.parquet")
    # the products step streams its table (nothing held): what its checks start with is the process's own (other
    # tests' tables in a shared worker); the replica's checks must start with no more than that
    assert stored.num_rows > 0
    assert held["sales__product_replica"] - held["inventory__products"] < stored.nbytes / 2, held
