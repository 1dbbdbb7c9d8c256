"""On SQLite, conforms_to_model and references_resolve test a reference column within the service once per distinct
value (through the column's index) and then name the rows holding the values that offend (malformed, dangling). These tests drift a loaded inventory database the way a
service would (plain UPDATEs on its file) and check that the rule names exactly the drifted rows, with the same
result as testing every row, in each UUID storage, and that it falls back to the per-row test where the values
cannot be named in a list."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from crm_mock.consistency.engine import RuleContext
from crm_mock.consistency.rules import model as model_rules
from crm_mock.consistency.sources import DatabaseSource
from crm_mock.model.ddl import UuidStorage
from crm_mock.sinks.databases import SqliteDatabases
from crm_mock_tests.rule_sources import RULES, TIER, Overlay, SmokeTier, _batches, assert_caught, find

RULE = RULES[("conforms_to_model", "inventory.stock_movements")]
KEY = "stock_movement_uuid"


def drifted_inventory(tier: SmokeTier, path: Path, storage: UuidStorage, drift: list[tuple[str, str]]) -> Path:
    """The smoke tier's inventory loaded with ``storage``, then each (SET clause, row offset) applied to the
    stock movement at that offset in key order; the movements' keys, in order, are returned with the path."""
    databases = SqliteDatabases(path)
    tables = {name: _batches(f"inventory.{name}", tier.table(f"inventory.{name}"))
              for name in ("products", "warehouses", "stock_levels", "stock_movements")}
    databases.load(TIER, "inventory", tables, storage)
    with closing(sqlite3.connect(databases.path(TIER, "inventory"))) as conn:
        keys = [k for (k,) in conn.execute(f"SELECT {KEY} FROM stock_movements ORDER BY {KEY}")]
        for assignment, offset in drift:
            conn.execute(f"UPDATE stock_movements SET {assignment} WHERE {KEY} = ?", (keys[offset],))
        conn.commit()
    return path


def conformance(path: Path, tier: SmokeTier):
    with DatabaseSource(SqliteDatabases(path), TIER, ("inventory",)) as source:
        return find(RULE, source, tier.plan)


def row_label(tier: SmokeTier, offset: int) -> str:
    return sorted(r[KEY] for r in tier.rows("inventory.stock_movements"))[offset]


# per storage: a value its test rejects in the warehouse column, and one shared by two rows in the product column
DRIFT = {
    UuidStorage.TEXT: ("upper(warehouse_uuid)", "'not-a-uuid'"),
    UuidStorage.HEX: ("upper(warehouse_uuid)", "'not-a-uuid'"),
    UuidStorage.BLOB: ("X'00112233'", "'0123456789abcdef'"),  # 4 bytes; text, not 16 bytes
}


@pytest.mark.parametrize("storage", list(UuidStorage), ids=lambda s: s.value)
def test_drifted_reference_values_name_their_rows(smoke_tier: SmokeTier, tmp_path: Path, storage: UuidStorage,
                                                  monkeypatch: pytest.MonkeyPatch):
    warehouse, product = DRIFT[storage]
    path = drifted_inventory(smoke_tier, tmp_path / "by_value", storage, [
        (f"warehouse_uuid = {warehouse}", 3), (f"product_uuid = {product}", 5), (f"product_uuid = {product}", 8)])
    found = conformance(path, smoke_tier)
    assert_caught(found, "warehouse_uuid", row_label(smoke_tier, 3), count=1, total=3, where=storage.value)
    assert_caught(found, "product_uuid", row_label(smoke_tier, 5), row_label(smoke_tier, 8), count=2,
                  where=storage.value)
    # the same result as testing the UUID of every row (no list: the per-row test)
    monkeypatch.setattr(model_rules, "MANY_VALUES", -1)
    assert conformance(path, smoke_tier).result == found.result


def test_a_value_no_literal_spells_is_tested_per_row(smoke_tier: SmokeTier, tmp_path: Path):
    """A BLOB column keeps a REAL as a REAL: an infinite one has no SQL literal, so the column is tested per row."""
    path = drifted_inventory(smoke_tier, tmp_path / "real", UuidStorage.BLOB,
                             [("warehouse_uuid = 9e999", 2), ("warehouse_uuid = 42", 6)])
    with closing(sqlite3.connect(path / TIER / "inventory.sqlite")) as conn:
        assert conn.execute("SELECT COUNT(*) FROM stock_movements WHERE typeof(warehouse_uuid) IN ('real', 'integer')"
                            ).fetchone() == (2,)
    found = conformance(path, smoke_tier)
    assert_caught(found, "warehouse_uuid", row_label(smoke_tier, 2), row_label(smoke_tier, 6), count=2, total=2)


def test_the_clean_tier_is_tested_by_value_and_passes(smoke_tier: SmokeTier, tmp_path: Path):
    """On a clean database every reference column's lists are empty (nothing malformed, nothing dangling): the row
    scan tests only the other columns, no row is read for the references, and both rules pass."""
    path = drifted_inventory(smoke_tier, tmp_path / "clean", UuidStorage.TEXT, [])
    with DatabaseSource(SqliteDatabases(path), TIER, ("inventory",)) as source:
        ctx = RuleContext(source, smoke_tier.plan)
        for column, parent in (("product_uuid", "products"), ("warehouse_uuid", "warehouses")):
            assert model_rules._offending_values(ctx, RULE.table, column, ctx.sql.uuid_malformed("value", None)) == ""
            assert model_rules._offending_values(ctx, RULE.table, column, f"p.{column} IS NULL",
                                                 join=f"LEFT JOIN {parent} p ON d.value = p.{column}") == ""
        assert RULE.run(source, smoke_tier.plan).passed
    assert references(path, smoke_tier).result.passed


# --- references_resolve: the dangling values first, then their rows ------------------------------------------------

REFERENCES = RULES[("references_resolve", "inventory.stock_movements")]


def references(path: Path, tier: SmokeTier):
    """The rule on the drifted inventory, the order references resolved in the clean smoke tier's Orders."""
    with DatabaseSource(SqliteDatabases(path), TIER, ("inventory",)) as inventory:
        return find(REFERENCES, Overlay(tier.clean("sqlite"), inventory, {"inventory"}), tier.plan)


@pytest.mark.parametrize("storage", list(UuidStorage), ids=lambda s: s.value)
def test_dangling_reference_values_name_their_rows(smoke_tier: SmokeTier, tmp_path: Path, storage: UuidStorage,
                                                   monkeypatch: pytest.MonkeyPatch):
    ghost = {UuidStorage.TEXT: "'00000000-0000-4000-8000-000000000001'",
             UuidStorage.HEX: "'00000000000040008000000000000001'",
             UuidStorage.BLOB: "X'00000000000040008000000000000001'"}[storage]
    path = drifted_inventory(smoke_tier, tmp_path / "dangling", storage, [
        (f"product_uuid = {ghost}", 4), (f"product_uuid = {ghost}", 9), (f"warehouse_uuid = {ghost}", 7)])
    found = references(path, smoke_tier)
    assert_caught(found, "product_uuid", row_label(smoke_tier, 4), row_label(smoke_tier, 9), count=2, total=3,
                  where=storage.value)
    assert_caught(found, "warehouse_uuid", row_label(smoke_tier, 7), count=1, where=storage.value)
    monkeypatch.setattr(model_rules, "MANY_VALUES", -1)  # no list: the join of every row
    assert references(path, smoke_tier).result == found.result


@pytest.mark.parametrize("run, column, spelling", [
    (conformance, "warehouse_uuid", "'bad-{n}'"),
    (references, "product_uuid", "'00000000-0000-4000-8000-00000000000{n}'"),
], ids=["malformed", "dangling"])
def test_more_failing_values_than_a_list_takes_are_tested_row_by_row(smoke_tier: SmokeTier, tmp_path: Path, run,
                                                                     column: str, spelling: str,
                                                                     monkeypatch: pytest.MonkeyPatch):
    """More distinct failing values than an IN list takes: the column is tested row by row, nothing is missed."""
    path = drifted_inventory(smoke_tier, tmp_path / "many", UuidStorage.TEXT,
                             [(f"{column} = {spelling.format(n=n)}", n) for n in range(4)])
    monkeypatch.setattr(model_rules, "MANY_VALUES", 2)
    assert_caught(run(path, smoke_tier), column, *(row_label(smoke_tier, n) for n in range(4)), count=4, total=4)
