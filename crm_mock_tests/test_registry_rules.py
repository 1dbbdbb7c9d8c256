"""The rule registry: what it holds, that every rule passes on the clean smoke tier wherever it runs (the Parquet
store, SQLite with text or hex UUIDs, PostgreSQL), and that the model-derived rules name the rows a corruption
broke on each of those sources. The business rules' corruptions are in test_registry_business_rules.py."""

from __future__ import annotations

from contextlib import ExitStack

import pyarrow as pa
import pytest

from crm_mock.consistency.registry import registry, run_rules
from crm_mock.consistency.sources import StoreSource
from crm_mock.model import CATALOG, Kind, Table
from crm_mock.sinks.parquet import TableStore
from crm_mock_tests.conftest import build_defs, require_postgres
from crm_mock_tests.rule_sources import SOURCES, TIER, SmokeTier, assert_caught, edit, edit_at, find, new_uuid

RULES = {(r.name, r.table.qualified_name): r for r in registry()}


def open_source(tier: SmokeTier, kind: str):
    if kind == "postgresql":
        require_postgres()
    return tier.clean(kind)


# --- what the registry holds ----------------------------------------------------------------------------------------


def test_rules_are_named_and_described_once():
    rules = registry()
    assert len({r.key for r in rules}) == len(rules)
    for r in rules:
        assert r.description.strip() and "\n" not in r.description, r.key
        assert all(name in {t.qualified_name for t in CATALOG} for name in r.tables), r.key


def test_the_same_rule_names_everywhere(smoke_run, tmp_path, capsys, monkeypatch):
    """One registry: the build checks (on the table store), the live checks the sensor launches (on the
    databases, `live_` + the rule's name), `crm-mock check` and `--list` name the same (rule, table) pairs."""
    import json

    from crm_mock.cli import main
    from crm_mock.defs.consistency.checks import LIVE_CHECK_KEYS

    graph = build_defs(tmp_path).resolve_asset_graph()
    tables = {tuple(t.qualified_name.split(".")) for t in CATALOG}
    on_tables = [key for key in graph.asset_check_keys if tuple(key.asset_key.path) in tables]
    build = {(key.name, ".".join(key.asset_key.path)) for key in on_tables if not key.name.startswith("live_")}
    live = {(key.name.removeprefix("live_"), ".".join(key.asset_key.path)) for key in on_tables
            if key.name.startswith("live_")}
    sensor = {(key.name.removeprefix("live_"), ".".join(key.asset_key.path)) for key in LIVE_CHECK_KEYS}
    monkeypatch.delenv("CRM_MOCK_DATABASE_URL", raising=False)
    capsys.readouterr()
    assert main(["check", "--tier", "smoke", "--json", "--data-dir", str(smoke_run.data_dir)]) == 0
    cli = {(r["rule"], r["table"]) for r in json.loads(capsys.readouterr().out)}
    assert main(["check", "--list"]) == 0
    listed = {tuple(line.split()[:2]) for line in capsys.readouterr().out.splitlines()}
    assert {("manager_tree", "hr.employees"), ("references_resolve", "finance.invoices")} <= build
    assert build == live == sensor == cli == listed == set(RULES)


def test_every_table_has_its_model_rules():
    for t in CATALOG:
        assert ("primary_key_unique", t.qualified_name) in RULES
        assert ("conforms_to_model", t.qualified_name) in RULES
        assert (("references_resolve", t.qualified_name) in RULES) == bool(t.foreign_keys)
        assert (("replica_in_sync", t.qualified_name) in RULES) == bool(t.replica_of)


def test_rules_read_only_the_tables_they_declare(smoke_tier: SmokeTier, tmp_path):
    """Each rule runs on a store holding just its declared tables (what Dagster wires as its dependencies)."""
    for r in registry():
        store = TableStore(tmp_path / r.check_name / r.table.service)
        for name in r.tables:
            path = store.path(TIER, *name.split("."))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.symlink_to(smoke_tier.store.path(TIER, *name.split(".")))
        with StoreSource(store, TIER) as source:
            result = r.run(source, smoke_tier.plan)
        assert result.passed, result


@pytest.mark.parametrize("kind", SOURCES)
def test_every_rule_passes_on_the_clean_smoke_tier(smoke_tier: SmokeTier, kind: str):
    results = run_rules(open_source(smoke_tier, kind), smoke_tier.plan)
    assert len(results) == len(registry())
    failed = [r for r in results if not r.passed]
    assert not failed, failed
    assert all(r.offending == 0 and r.sample == () for r in results)


# --- the model's rules against corrupted copies ---------------------------------------------------------------------
# One copy of the whole tier carries a corruption per rule and table, each in its own row: a code outside its
# vocabulary (row n/2), a reference to nothing (n/2 + 1), a replica value that drifted from its master (n/2 + 2).
# Where a table has no code column the conformance corruption is one the database's types reject or normalise
# (PostgreSQL: varchar length, NUMERIC(12,2), uuid), so there it is tried on the store and SQLite only.


def _conformance(table: Table) -> tuple[str, object, bool]:
    """(column, how to corrupt its value, whether PostgreSQL can hold the corruption)."""
    for c in table.columns:
        if c.kind is Kind.CODE:
            return c.name, "NOT_A_CODE", True
    for c in table.columns:
        if c.kind is Kind.TEXT:
            return c.name, "x" * (c.max_length + 1), False
    for c in table.columns:
        if c.kind is Kind.MONEY:
            return c.name, lambda value: value + 0.005, False
    column = table.foreign_keys[-1].name  # a key upper-cased: still unique, no longer canonical
    return column, str.upper, False


def _drifted(value: object) -> object:
    return value + 1 if isinstance(value, float) else f"{value}X"


def _label(table: Table, row: dict) -> str:
    return "|".join(row[k] for k in table.primary_key)


Expected = dict[tuple[str, str], tuple[str, str]]  # (rule, table) → (kind, offender)


def corrupt_model(tier: SmokeTier, postgres: bool) -> tuple[dict[str, pa.Table], Expected]:
    """Every table corrupted once per model rule (for ``postgres``, where its types can hold it); the expected
    (kind, offender) per rule."""
    tables, expected = {}, {}
    for t in CATALOG:
        name, data = t.qualified_name, tier.table(t.qualified_name)
        rows = data.to_pylist()
        middle = len(rows) // 2
        column, change, on_pg = _conformance(t)
        if on_pg or not postgres:
            data = edit_at(data, middle, **{column: (lambda row: change(row[column])) if callable(change) else change})
            expected[("conforms_to_model", name)] = (column, rows[middle][t.primary_key[0]])
        if t.foreign_keys:
            fk = t.foreign_keys[0].name
            ghost = new_uuid(f"{name}.{fk}")
            data = edit_at(data, middle + 1, **{fk: ghost})
            # references_resolve names a row by the first column of its key
            expected[("references_resolve", name)] = (fk, {**rows[middle + 1], fk: ghost}[t.primary_key[0]])
        if t.replica_of:
            copied = t.replica_of.columns[0]
            data = edit_at(data, middle + 2, **{copied: lambda row: _drifted(row[copied])})
            expected[("replica_in_sync", name)] = ("drifted", _label(t, rows[middle + 2]))
        tables[name] = data
    return tables, expected


@pytest.fixture(scope="module")
def model_case(smoke_tier: SmokeTier):
    """kind → (its source of the corrupted tier, the expected offenders), loaded on first use."""
    with ExitStack() as stack:
        opened = {}

        def case(kind: str):
            if kind not in opened:
                tables, expected = corrupt_model(smoke_tier, postgres=kind == "postgresql")
                opened[kind] = stack.enter_context(smoke_tier.whole(kind, "model", tables)), expected
            return opened[kind]

        yield case


MODEL_CASES = [(name, table) for name, table in RULES if name in ("conforms_to_model", "references_resolve",
                                                                   "replica_in_sync")]


@pytest.mark.parametrize("kind", SOURCES)
@pytest.mark.parametrize("rule", MODEL_CASES, ids=" ".join)
def test_model_rule_names_the_corrupted_row(model_case, smoke_tier: SmokeTier, rule: tuple[str, str], kind: str):
    if kind == "postgresql":
        require_postgres()
    source, expected = model_case(kind)
    if rule not in expected:
        pytest.skip("PostgreSQL's column types reject or normalise this table's corruption")
    column, offender = expected[rule]
    assert_caught(find(RULES[rule], source, smoke_tier.plan), column, offender, where=kind)


@pytest.mark.parametrize("name", [t.qualified_name for t in CATALOG])
def test_duplicate_key_is_named_on_the_store(smoke_tier: SmokeTier, name: str, tmp_path):
    """Only the store can hold a duplicate key: SQLite and PostgreSQL enforce primary keys."""
    table = CATALOG[name]
    data = smoke_tier.table(name)
    row = data.num_rows // 2
    store = TableStore(tmp_path)
    store.write(TIER, (table.service, table.name), pa.concat_tables([data, data.slice(row, 1)]))
    with StoreSource(store, TIER) as source:
        found = find(RULES[("primary_key_unique", name)], source, smoke_tier.plan)
    assert_caught(found, "duplicated", _label(table, data.slice(row, 1).to_pylist()[0]), count=1, total=1)


def test_null_key_and_null_value_are_caught_on_the_store(smoke_tier: SmokeTier, tmp_path):
    name = "inventory.stock_levels"
    data = edit(smoke_tier.table(name), lambda row: row["quantity_on_hand"] == 0 and row["quantity_reserved"] == 0,
                warehouse_uuid=None, reorder_point=None)
    store = TableStore(tmp_path)
    store.write(TIER, ("inventory", "stock_levels"), data)
    with StoreSource(store, TIER) as source:
        assert_caught(find(RULES[("primary_key_unique", name)], source, smoke_tier.plan), "null_key", "<null key>")
        assert_caught(find(RULES[("conforms_to_model", name)], source, smoke_tier.plan), "reorder_point")
