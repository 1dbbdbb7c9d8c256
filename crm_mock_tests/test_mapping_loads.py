"""Mapped loads into tables a service owns, on SQLite and the real PostgreSQL (smoke tier): refused with the
exact problem and nothing written when the mapping misses a NOT NULL column, names a missing column or
maps a value too long for the column; the service's own rows, constraints and referencing tables respected;
every form (UUID spellings, cents, naive moments, integer and boolean codes) read back as the model."""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import sqlite3
import textwrap
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import dagster as dg
import psycopg
import pyarrow.compute as pc
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from crm_mock.consistency.registry import run_rules
from crm_mock.consistency.sources import DatabaseSource
from crm_mock.mapping.port import MAPPING_ENV, MappedDatabases
from crm_mock.mapping.rules import mapped_rules
from crm_mock.mapping.spec import load_mapping
from crm_mock.model import CATALOG
from crm_mock.model import vocabularies as v
from crm_mock.scenario import load_scenario, plan_tier
from crm_mock.sinks.databases import PostgresDatabases, SqliteDatabases
from crm_mock.sinks.parquet import TableStore
from crm_mock.sinks.refusal import RefreshRefused
from crm_mock.sinks.values import canonical_text, canonical_uuid
from crm_mock_tests.conftest import TierRun, build_defs, require_postgres
from crm_mock_tests.django_harness import sqlite_services

TIER = "smoke"
MAINTENANCE = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=10"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "mappings" / "django.yaml"


@dataclass
class Target:
    """The services' databases, shaped by each test like a team's, and crm_mock's port onto them."""

    backend: str
    inner: SqliteDatabases | PostgresDatabases
    engines: dict[str, sa.Engine]
    schema: str  # how the database names the tables' schema
    work: Path

    def create(self, *tables: sa.Table, service: str = "hr") -> None:
        tables[0].metadata.create_all(self.engines[service])

    def port(self, mapping: str) -> tuple[MappedDatabases, Path]:
        path = self.work / f"{secrets.token_hex(3)}.yaml"
        path.write_text(textwrap.dedent(mapping), encoding="utf-8")
        return MappedDatabases(self.inner, load_mapping(path)), path

    def rows(self, statement: str, service: str = "hr") -> list[tuple]:
        with self.engines[service].connect() as connection:
            return [tuple(canonical_uuid(v) if isinstance(v, uuid.UUID) or isinstance(v, (bytes, str)) and len(v) in (16, 32)
                          else v for v in row) for row in connection.exec_driver_sql(statement)]


SERVICES_USED = ("hr", "inventory")


def sqlite_target(work: Path) -> Target:
    inner = SqliteDatabases(work)
    (work / TIER).mkdir(parents=True)
    return Target("sqlite", inner, {s: sa.create_engine(f"sqlite:///{inner.path(TIER, s)}") for s in SERVICES_USED},
                  "main", work)


@contextmanager
def postgres_target(work: Path) -> Iterator[Target]:
    """A database per service used here on the real server (names unique to the test), dropped afterwards."""
    require_postgres()
    stem = f"crm_mock_mapping_t_{secrets.token_hex(4)}"
    with psycopg.connect(MAINTENANCE, autocommit=True) as conn:
        for service in SERVICES_USED:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(f"{stem}_{service}")))
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{stem}_{{service}}"
    engines = {s: sa.create_engine(url.replace("{service}", s)) for s in SERVICES_USED}
    try:
        yield Target("postgres", PostgresDatabases(url), engines, "public", work)
    finally:
        for engine in engines.values():
            engine.dispose()
        with psycopg.connect(MAINTENANCE, autocommit=True) as conn:
            for service in SERVICES_USED:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(f"{stem}_{service}")))


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "postgres":
        with postgres_target(tmp_path) as made:
            yield made
        return
    made = sqlite_target(tmp_path)
    yield made
    for engine in made.engines.values():
        engine.dispose()


def sources(run: TierRun, service: str) -> dict:
    store = TableStore(run.data_dir)
    return {t.name: partial(store.model_batches, TIER, t.qualified_name) for t in CATALOG.service_tables(service)}


def staff(metadata: sa.MetaData, **overrides: sa.Column) -> sa.Table:
    """HR's employees the way a team might keep them."""
    columns = {
        "id": sa.Column("id", sa.Uuid(as_uuid=False) if overrides.pop("_native", True) else sa.String(36), primary_key=True),
        "boss_id": sa.Column("boss_id", sa.Uuid(as_uuid=False), sa.ForeignKey("staff.id"), nullable=True),
        "first_name": sa.Column("first_name", sa.String(50), nullable=False),
        "last_name": sa.Column("last_name", sa.String(50), nullable=False),
        "email": sa.Column("email", sa.String(120), nullable=False),
        "department": sa.Column("department", sa.String(20), nullable=False),
        "job_title": sa.Column("job_title", sa.String(80), nullable=False),
        "hire_date": sa.Column("hire_date", sa.Date, nullable=False),
        "status": sa.Column("status", sa.String(20), nullable=False),
    }
    columns.update(overrides)
    return sa.Table("staff", metadata, *columns.values())


STAFF = textwrap.dedent("""\
    version: 1
    services:
      hr:
        tables:
          employees:
            table: staff
            columns:
              employee_uuid: id
              manager_uuid: boss_id
    """)
SENTINEL = "00000000-0000-4000-8000-000000000001"


def _sentinel(target: Target, table: sa.Table, **values) -> None:
    row = {"id": SENTINEL, "first_name": "Our", "last_name": "Own", "email": "own@team.example", "department": "HR",
           "job_title": "Admin", "hire_date": dt.date(2020, 1, 1), "status": "ACTIVE", **values}
    with target.engines["hr"].begin() as connection:
        connection.execute(table.insert().values(**row))


def _line_of(path: Path, text: str) -> tuple[int, int]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if text in line:
            return number, line.index(text.strip()) + 1
    raise AssertionError(text)


def test_a_not_null_column_nothing_fills_is_refused_and_nothing_is_written(target: Target, smoke_run: TierRun):
    table = staff(sa.MetaData(), badge_no=sa.Column("badge_no", sa.Integer, nullable=False))
    target.create(table)
    _sentinel(target, table, badge_no=7)
    port, path = target.port(STAFF)
    with pytest.raises(RefreshRefused) as refused:
        port.load(TIER, "hr", sources(smoke_run, "hr"), None)
    line, column = _line_of(path, "employees:")
    assert refused.value.problems == [
        f"{path}:{line}:{column}: {target.schema}.staff.badge_no (INTEGER) is NOT NULL without a default and nothing "
        "fills it: map a model column to it or add it under fill (a constant, {from: column, values: {...}}, "
        "{copy: column} or {template: \"...\"})"]
    assert target.rows("SELECT id, badge_no FROM staff") == [(SENTINEL, 7)]


def test_a_column_the_table_does_not_have_is_refused_with_its_line(target: Target, smoke_run: TierRun):
    table = staff(sa.MetaData())
    target.create(table)
    _sentinel(target, table)
    port, path = target.port(STAFF + "          job_title: position\n")
    with pytest.raises(RefreshRefused) as refused:
        port.load(TIER, "hr", sources(smoke_run, "hr"), None)
    line, column = _line_of(path, "position")
    table_line, table_column = _line_of(path, "employees:")
    # the typo, and the service's own job_title column that, in consequence, nothing fills
    assert refused.value.problems == [
        f"{path}:{line}:{column}: hr.employees.job_title maps to column 'position', which {target.schema}.staff "
        "does not have",
        f"{path}:{table_line}:{table_column}: {target.schema}.staff.job_title (VARCHAR(80)) is NOT NULL without a "
        "default and nothing fills it: map a model column to it or add it under fill (a constant, {from: column, "
        "values: {...}}, {copy: column} or {template: \"...\"})"]
    assert target.rows("SELECT COUNT(*) FROM staff") == [(1,)]


def test_a_value_too_long_for_the_column_is_refused_and_nothing_is_written(target: Target, smoke_run: TierRun):
    table = staff(sa.MetaData(), last_name=sa.Column("last_name", sa.String(12), nullable=False),
                  department=sa.Column("department", sa.String(20), nullable=False, unique=True))
    target.create(table)
    _sentinel(target, table)
    names = TableStore(smoke_run.data_dir).read_model_table(TIER, "hr.employees")
    lengths = pc.utf8_length(names["last_name"]).to_pylist()
    too_long = [n for n, size in zip(names["last_name"].to_pylist(), lengths) if size > 12]
    repeated = sum(1 for n in set(names["department"].to_pylist()) if names["department"].to_pylist().count(n) > 1)
    assert too_long and repeated  # the smoke tier plants a 50-character name, and HR has several people
    port, _ = target.port(STAFF)
    with pytest.raises(RefreshRefused) as refused:
        port.load(TIER, "hr", sources(smoke_run, "hr"), None)
    problems = refused.value.problems
    assert problems[0] == (f"{target.schema}.staff.last_name {'VARCHAR(12)'}: {len(too_long)} value(s) longer than 12 "
                           f"characters (the longest has {max(lengths)}), e.g. {', '.join(map(repr, too_long[:3]))}")
    assert problems[1].startswith(f"{target.schema}.staff ") and \
        f"(department) would be violated: {repeated} value(s) repeat" in problems[1]
    assert len(problems) == 2
    assert target.rows("SELECT id FROM staff") == [(SENTINEL,)]


def test_the_services_table_that_references_replaced_rows_refuses_the_load(target: Target, smoke_run: TierRun):
    metadata = sa.MetaData()
    table = staff(metadata)
    badges = sa.Table("badge", metadata, sa.Column("id", sa.Integer, primary_key=True),
                      sa.Column("staff_id", sa.Uuid(as_uuid=False), sa.ForeignKey("staff.id", ondelete="CASCADE")))
    target.create(table, badges)
    _sentinel(target, table)
    with target.engines["hr"].begin() as connection:
        connection.execute(badges.insert().values(id=1, staff_id=SENTINEL))
    port, _ = target.port(STAFF)
    with pytest.raises(RefreshRefused) as refused:
        port.load(TIER, "hr", sources(smoke_run, "hr"), None)
    if target.backend == "postgres":  # refused before anything is deleted: PostgreSQL would cascade
        assert refused.value.problems == [
            "1 row(s) of the service's public.badge reference public.staff through badge_staff_id_fkey ON DELETE "
            "CASCADE: replacing the rows would change theirs (crm_mock never cascades)"]
    else:  # foreign keys stay off while loading (no cascade), then every one is verified before the commit
        assert refused.value.problems == ["1 row(s) of the service's badge would reference missing rows of staff (rowid 1)"]
    assert target.rows("SELECT id FROM staff") == [(SENTINEL,)] and target.rows("SELECT id FROM badge") == [(1,)]


def test_keep_rows_leaves_the_services_own_rows_out_of_the_load_and_the_rules(target: Target, smoke_run: TierRun):
    metadata = sa.MetaData()
    table = staff(metadata, origin=sa.Column("origin", sa.String(10), nullable=False),
                  is_active=sa.Column("is_active", sa.Boolean, nullable=False))
    target.create(table)
    _sentinel(target, table, origin="team", is_active=True)
    port, _ = target.port(STAFF + textwrap.indent(textwrap.dedent("""\
        keep_rows: "origin <> 'crm_mock'"
        fill:
          origin: crm_mock
          is_active: {from: status, values: {ACTIVE: true, ON_LEAVE: true, TERMINATED: false}}
        """), " " * 8))
    employees = TableStore(smoke_run.data_dir).read_model_table(TIER, "hr.employees").to_pylist()
    for _ in range(2):  # idempotent: the second load gives the same rows
        assert port.load(TIER, "hr", sources(smoke_run, "hr"), None) == {"employees": len(employees)}
        assert target.rows("SELECT COUNT(*) FROM staff") == [(len(employees) + 1,)]
    assert target.rows("SELECT id FROM staff WHERE origin = 'team'") == [(SENTINEL,)]
    assert port.count_rows(TIER, "hr", "employees") == len(employees)  # the service's row is not crm_mock's
    active = {e["employee_uuid"] for e in employees if e["status"] != "TERMINATED"}
    assert {r[0] for r in target.rows("SELECT id FROM staff WHERE is_active AND origin = 'crm_mock'")} == active
    plan = plan_tier(load_scenario(None), TIER)
    rules = [r for r in mapped_rules(port.mapping) if r.services == ("hr",)]
    with DatabaseSource(port, TIER, services=("hr",)) as source:
        results = run_rules(source, plan, rules)
    assert [r for r in results if not r.passed] == [] and len(results) >= 3


# products the way teams keep them: each form a mapping can say, checked by reading them back
UUID_TYPES = {"native": sa.Uuid(as_uuid=False), "text": sa.String(36), "hex": sa.CHAR(32), "bytes": sa.LargeBinary(16)}
SPELLINGS = st.sampled_from(["lower", "numbers", "letters"])


def _products(form: dict) -> tuple[sa.Table, str]:
    metadata = sa.MetaData()
    code_type = sa.Integer if form["codes"] == "numbers" else sa.String(20)
    table = sa.Table(
        "item", metadata, sa.Column("key", UUID_TYPES[form["uuid"]], primary_key=True),
        sa.Column("sku", sa.String(32), nullable=False), sa.Column("title", sa.String(120), nullable=False),
        sa.Column("category", sa.String(60), nullable=False), sa.Column("description", sa.Text, nullable=False),
        sa.Column("kind", code_type, nullable=False), sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("uom", sa.String(8), nullable=False),
        sa.Column("cost", sa.BigInteger if form["money"] == "cents" else sa.Numeric(12, 2), nullable=False),
        sa.Column("price", sa.Numeric(14, 4), nullable=False))
    spelled = {"lower": {w: w.lower() for w in v.PRODUCT_TYPE}, "numbers": {w: 10 + i for i, w in enumerate(v.PRODUCT_TYPE)},
               "letters": {w: w[0] for w in v.PRODUCT_TYPE}}[form["codes"]]
    mapping = f"""\
    version: 1
    services:
      inventory:
        schema: public                   # PostgreSQL's; SQLite has one schema and ignores it
        skip: [warehouses, stock_levels, stock_movements]
        tables:
          products:
            table: item
            columns:
              product_uuid: {{column: key, uuid: {form["uuid"]}}}
              name: title
              product_type: {{column: kind, values: {spelled}}}
              status: {{column: active, values: {{ACTIVE: true, DISCONTINUED: false}}}}
              unit_of_measure: uom
              unit_cost: {{column: cost, money: {form["money"]}}}
              list_price: price
    """
    return table, mapping


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(uuid=st.sampled_from(["text", "hex", "bytes"]), money=st.sampled_from(["decimal", "cents"]), codes=SPELLINGS)
def test_every_form_reads_back_as_the_model_on_sqlite(tmp_path: Path, smoke_run: TierRun, uuid: str, money: str,
                                                      codes: str):
    made = sqlite_target(tmp_path / secrets.token_hex(4))
    _round_trip(made, smoke_run, {"uuid": uuid, "money": money, "codes": codes})
    for engine in made.engines.values():
        engine.dispose()


@pytest.mark.parametrize("form", [{"uuid": "native", "money": "cents", "codes": "numbers"},
                                  {"uuid": "bytes", "money": "decimal", "codes": "lower"},
                                  {"uuid": "hex", "money": "cents", "codes": "letters"}])
def test_every_form_reads_back_as_the_model_on_postgres(tmp_path: Path, smoke_run: TierRun, form: dict):
    with postgres_target(tmp_path) as target:
        _round_trip(target, smoke_run, form)


def _round_trip(target: Target, smoke_run: TierRun, form: dict) -> None:
    table, mapping = _products(form)
    target.create(table, service="inventory")
    port, _ = target.port(mapping)
    store = TableStore(smoke_run.data_dir)
    products = {t: partial(store.model_batches, TIER, f"inventory.{t}") for t in ("products",)}
    assert port.load(TIER, "inventory", products, None) == {"products": 100}
    model = CATALOG["inventory.products"]
    expected = [[canonical_text(c, value) for c, value in zip(model.columns, row.values())]
                for row in sorted(store.read_model_table(TIER, "inventory.products").to_pylist(),
                                  key=lambda r: r["product_uuid"])]
    with port.connect(TIER, "inventory") as connection:
        rows = connection.exec_driver_sql(f"SELECT {', '.join(model.column_names)} FROM products "
                                          "ORDER BY product_uuid").fetchall()
    assert [[canonical_text(c, value) for c, value in zip(model.columns, row)] for row in rows] == expected


def test_the_database_assets_load_through_the_mapping_in_the_environment(
        smoke_run: TierRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """CRM_MOCK_MAPPING, as the UI's code server reads it: each service's database asset loads the Django
    project's tables (created by migrate) and its row check counts them through the mapping."""
    pytest.importorskip("django")
    data_dir = tmp_path / "data"
    shutil.copytree(smoke_run.data_dir / TIER / "tables", data_dir / TIER / "tables")
    sqlite_services(tmp_path / "django.json", data_dir, TIER).migrate()
    monkeypatch.setenv(MAPPING_ENV, str(EXAMPLE))
    definitions = build_defs(data_dir)
    services = ("hr", "contact", "finance")
    keys = [dg.AssetKey([s, "database"]) for s in services]
    selection = dg.AssetSelection.assets(*keys).without_checks() | dg.AssetSelection.checks(
        *(dg.AssetCheckKey(k, "rows_match_table_store") for k in keys))
    with dg.instance_for_test() as instance:
        result = dg.materialize([*definitions.assets, *definitions.asset_checks], selection=selection,
                                partition_key=TIER, instance=instance, resources=definitions.resources)
    assert result.success
    loaded = {e.event_specific_data.materialization.asset_key.path[0]: e.event_specific_data.materialization.metadata
              for e in result.get_asset_materialization_events()}
    assert set(loaded) == set(services)
    assert loaded["contact"]["location"].value.endswith(f"contact.sqlite through {EXAMPLE}")
    store = TableStore(data_dir)
    assert loaded["contact"]["rows_per_table"].value == {
        t.name: store.read(TIER, (t.service, t.name), [t.primary_key[0]]).num_rows for t in CATALOG.service_tables("contact")}
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 3 and all(c.passed for c in checks)
    with closing(sqlite3.connect(data_dir / TIER / "contact.sqlite")) as conn:  # the service's table, its spelling
        assert conn.execute("SELECT MIN(status), COUNT(*) FROM contacts_account").fetchone() == (
            "active", store.read(TIER, ("contact", "accounts"), ["account_uuid"]).num_rows)
