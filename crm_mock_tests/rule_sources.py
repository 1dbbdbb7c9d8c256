"""The smoke tier as every source the rule registry runs on (the Parquet table store, SQLite files with
text or hex UUIDs, a PostgreSQL database), clean or with some tables corrupted, and pyarrow edits to
corrupt them with.

A corrupted case loads only the services it changes (and of those only the tables the rule reads); an
`Overlay` serves the other services from the clean copy, so a case costs a few small loads.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest
import pyarrow.compute as pc
from psycopg import sql

from crm_mock.consistency.engine import Findings, RuleContext
from crm_mock.consistency.registry import registry
from crm_mock.consistency.results import RuleResult
from crm_mock.consistency.rule import Rule
from crm_mock.consistency.sources import DatabaseSource, Source, StoreSource
from crm_mock.model import CATALOG
from crm_mock.model.ddl import UuidStorage, arrow_schema
from crm_mock.scenario import TierPlan
from crm_mock.sinks.databases import PostgresDatabases, SqliteDatabases
from crm_mock.sinks.parquet import TableStore

TIER = "smoke"
SOURCES = ("store", "sqlite", "sqlite_hex", "postgresql")
STORAGE = {"sqlite": UuidStorage.TEXT, "sqlite_hex": UuidStorage.HEX}
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
RULES = {(r.name, r.table.qualified_name): r for r in registry()}

Tables = Mapping[str, pa.Table]


class Overlay(Source):
    """The ``corrupted`` source for its services, the ``clean`` one for the rest."""

    def __init__(self, clean: Source, corrupted: Source, services: Iterable[str]) -> None:
        self.clean, self.corrupted, self.services = clean, corrupted, frozenset(services)
        self.dialect, self.tier = clean.dialect, clean.tier

    def _for(self, service: str) -> Source:
        return self.corrupted if service in self.services else self.clean

    def rows(self, service: str, query: str) -> Iterator[tuple]:
        return self._for(service).rows(service, query)

    def uuid_storage(self, service: str) -> UuidStorage | None:
        return self._for(service).uuid_storage(service)


def model_table(name: str, table: pa.Table) -> pa.Table:
    """``table`` in the model's column order and Arrow types, any column allowed to hold nulls."""
    schema = arrow_schema(CATALOG[name])
    return table.select(schema.names).cast(pa.schema([f.with_nullable(True) for f in schema]))


class SmokeTier:
    """The smoke tier's tables and their sources; corrupted copies live under ``work``."""

    def __init__(self, data_dir: Path, plan: TierPlan, work: Path) -> None:
        self.store, self.plan, self.work = TableStore(data_dir), plan, work
        self.database = f"crm_mock_rules_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.pg_template = PG_SERVER.format(database=self.database)  # one database, a schema per tier and service
        self._cases = itertools.count()
        self._tables: dict[str, pa.Table] = {}
        self._clean: dict[str, Source] = {}
        self._stack = ExitStack()
        self._pg_created = False

    # --- data ---------------------------------------------------------------------------------------------------

    def table(self, name: str) -> pa.Table:
        if name not in self._tables:
            self._tables[name] = self.store.read_model_table(TIER, name)
        return self._tables[name]

    def rows(self, name: str) -> list[dict]:
        return self.table(name).to_pylist()

    def first(self, name: str, where: Callable[[dict], bool] = lambda row: True) -> dict:
        """The first row of ``name`` that ``where`` accepts: the test cannot corrupt what the data lacks."""
        row = next((r for r in self.rows(name) if where(r)), None)
        assert row is not None, f"the smoke tier holds no row of {name} to corrupt"
        return row

    # --- sources ------------------------------------------------------------------------------------------------

    def clean(self, kind: str) -> Source:
        if kind not in self._clean:
            self._clean[kind] = self._stack.enter_context(self._open(kind, "clean", {}, {
                t.qualified_name for t in CATALOG}))
        return self._clean[kind]

    @contextmanager
    def corrupted(self, kind: str, tables: Tables, reads: Iterable[str]) -> Iterator[Source]:
        """``kind``'s source with ``tables`` replaced: their services loaded again (with the tables of
        ``reads`` in them), every other service the clean one."""
        services = {CATALOG[name].service for name in tables}
        wanted = {name for name in [*tables, *reads] if CATALOG[name].service in services}
        with self._open(kind, f"case{next(self._cases)}", tables, wanted) as source:
            yield Overlay(self.clean(kind), source, services)

    def whole(self, kind: str, case: str, tables: Tables):
        """``kind``'s source of the whole tier with ``tables`` replaced (a context manager)."""
        return self._open(kind, case, tables, {t.qualified_name for t in CATALOG})

    @contextmanager
    def _open(self, kind: str, case: str, replaced: Tables, wanted: set[str]) -> Iterator[Source]:
        services = sorted({CATALOG[name].service for name in wanted})
        contents = {name: replaced.get(name, self.table(name)) for name in wanted}
        if kind == "store":
            store = TableStore(self.work / case / "store")
            for name, table in contents.items():
                store.write(TIER, tuple(name.split(".")), table)
            with StoreSource(store, TIER) as source:
                yield source
            return
        for service in services:
            batches = {CATALOG[name].name: _batches(name, table) for name, table in contents.items()
                       if CATALOG[name].service == service}
            if kind == "postgresql":
                PostgresDatabases(self.pg_template).load(case, service, batches, UuidStorage.TEXT)
                self._pg_created = True
            else:
                SqliteDatabases(self.work / case / kind).load(TIER, service, batches, STORAGE[kind])
        databases = (PostgresDatabases(self.pg_template) if kind == "postgresql"
                     else SqliteDatabases(self.work / case / kind))
        with DatabaseSource(databases, case if kind == "postgresql" else TIER, tuple(services)) as source:
            yield source

    def close(self) -> None:
        self._stack.close()
        if self._pg_created:
            with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.database)))


def _batches(name: str, table: pa.Table) -> Callable[[], list[pa.RecordBatch]]:
    return lambda: model_table(name, table).to_batches()


@dataclass
class On:
    """One source kind: ``caught`` runs a rule on it with some tables corrupted and checks what it names."""

    tier: SmokeTier
    kind: str

    def run(self, rule: tuple[str, str], tables: Tables) -> RuleResult:
        return self.find(rule, tables).result

    def find(self, rule: tuple[str, str], tables: Tables) -> "Found":
        with self.tier.corrupted(self.kind, tables, RULES[rule].tables) as source:
            return find(RULES[rule], source, self.tier.plan)

    def caught(self, rule: tuple[str, str], tables: Tables, kind: str, *offenders: str, count: int | None = None,
               total: int | None = None) -> RuleResult:
        found = self.find(rule, tables)
        assert_caught(found, kind, *offenders, count=count, total=total, where=self.kind)
        return found.result

    def store_only(self, why: str) -> None:
        if self.kind != "store":
            pytest.skip(f"the databases cannot hold it: {why}")


# --- corruptions: pyarrow edits of a table --------------------------------------------------------------------------


def new_uuid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"crm_mock_tests/registry/{name}"))


def _mask(table: pa.Table, where: Callable[[dict], bool]) -> pa.Array:
    mask = pa.array([bool(where(row)) for row in table.to_pylist()])
    assert pc.any(mask).as_py(), "no row to corrupt"
    return mask


def edit(table: pa.Table, where: Callable[[dict], bool], **columns: object) -> pa.Table:
    """A copy of ``table`` whose rows ``where`` accepts take the given column values (a value may be a
    function of the row)."""
    mask = _mask(table, where)
    for column, new in columns.items():
        i = table.schema.get_field_index(column)
        field = table.schema.field(i)
        values = [(new(row) if callable(new) else new) if hit else row[column]
                  for row, hit in zip(table.to_pylist(), mask.to_pylist())]
        if any(v is None for v in values):
            field = field.with_nullable(True)
        table = table.set_column(i, field, pa.array(values, type=field.type))
    return table


def edit_at(table: pa.Table, index: int, **columns: object) -> pa.Table:
    """``edit`` of the row at ``index``."""
    rows = iter(range(table.num_rows))
    return edit(table, lambda row: next(rows) == index, **columns)


def set_cells(table: pa.Table, key: str, value: object, **columns: object) -> pa.Table:
    """A copy of ``table`` with the row(s) whose ``key`` is ``value`` given new column values."""
    return edit(table, lambda row: row[key] == value, **columns)


def drop(table: pa.Table, where: Callable[[dict], bool]) -> pa.Table:
    return table.filter(pc.invert(_mask(table, where)))


def append(table: pa.Table, row: dict, **changes: object) -> pa.Table:
    """``table`` with one more row: ``row`` with ``changes``."""
    return pa.concat_tables([table, pa.Table.from_pylist([{**row, **changes}], schema=table.schema)])


def zero_stock_products(tier: SmokeTier) -> set[str]:
    """Part A: a stocked (non-SERVICE) product with nothing on hand in any warehouse that stocks it."""
    on_hand: dict[str, int] = {}
    for row in tier.rows("inventory.stock_levels"):
        on_hand[row["product_uuid"]] = on_hand.get(row["product_uuid"], 0) + row["quantity_on_hand"]
    return {p["product_uuid"] for p in tier.rows("inventory.products")
            if p["product_type"] != "SERVICE" and on_hand.get(p["product_uuid"], 0) == 0}


# --- assertions -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """What a rule reported, and what it found by kind (each kind's own count and sample)."""

    result: RuleResult
    findings: Findings


def find(rule: Rule, source: Source, plan: TierPlan) -> Found:
    findings = Findings()
    rule.find(RuleContext(source, plan), findings)
    return Found(rule.run(source, plan), findings)


def assert_caught(found: Found, kind: str, *offenders: str, count: int | None = None, total: int | None = None,
                  where: str = "") -> None:
    """The rule failed, its ``kind`` found offenders and named every one of ``offenders`` (UUIDs, or a count
    problem); ``count``: that kind's offenders, ``total``: the whole rule's (nothing else broke)."""
    result = found.result
    label = f"{result.rule} on {result.table} ({where})"
    assert not result.passed, f"{label} missed the corruption: {result}"
    tally = found.findings.tallies.get(kind)
    assert tally is not None and tally.count, f"{label}: {kind} did not fire: {result.details}"
    if count is not None:
        assert tally.count == count, f"{label}: {kind} found {tally.count}: {tally.sample}"
    if total is not None:
        assert result.offending == total, f"{label}: {result.details}"
    for offender in offenders:
        assert any(offender in entry for entry in tally.sample), f"{label}: {offender!r} not in {tally.sample}"
