"""How SQLite stores UUIDs (`ids.sqlite_uuid_storage`: text, hex or blob), and that every reader of the
files — digests, `crm-mock check`, `export-fixtures`, the row-count check — works the same in each."""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_mock.cli import EXIT_OK, main
from crm_mock.model import CATALOG, SERVICES, Kind
from crm_mock.model.ddl import UuidStorage
from crm_mock.sinks.sqlite import sqlite_path, table_digest, uuid_storage_of
from crm_mock.sinks.values import canonical_text, canonical_uuid, sqlite_values, stored_uuid
from crm_mock_tests.conftest import TierRun, reload_sqlite

HEX32 = re.compile(r"^[0-9a-f]{32}$")
UUID_COLUMNS = [(t, c) for t in CATALOG for c in t.columns if c.kind is Kind.UUID]


# --- spellings --------------------------------------------------------------------------------------------------------


@given(value=st.uuids(), storage=st.sampled_from(list(UuidStorage)))
def test_every_spelling_reads_back_canonical(value: uuid.UUID, storage: UuidStorage):
    stored = stored_uuid(str(value), storage)
    assert canonical_uuid(stored) == str(value)
    assert canonical_uuid(value) == str(value)  # what psycopg returns for a PostgreSQL uuid
    assert {UuidStorage.TEXT: str, UuidStorage.HEX: str, UuidStorage.BLOB: bytes}[storage] is type(stored)


@given(values=st.lists(st.uuids(), max_size=40), storage=st.sampled_from(list(UuidStorage)))
def test_every_spelling_sorts_like_the_canonical_text(values: list[uuid.UUID], storage: UuidStorage):
    """Key-ordered streams from databases stored differently merge, because their orders agree."""
    canonical = sorted(str(v) for v in values)
    assert [canonical_uuid(s) for s in sorted(stored_uuid(c, storage) for c in canonical)] == canonical


def test_a_value_that_is_no_uuid_is_reported_as_it_is():
    assert canonical_uuid("not-a-uuid") == "not-a-uuid"
    assert canonical_uuid(b"\x01\x02") == str(b"\x01\x02")


@pytest.mark.parametrize("storage", list(UuidStorage))
def test_sqlite_values_spell_uuids_and_keep_nulls(storage: UuidStorage):
    column = CATALOG["orders.sales_orders"].column("quote_uuid")  # nullable
    text = "c4216a29-3bed-44ad-8c41-6b763f124dd6"
    values = sqlite_values(column, pa.array([text, None]), storage)
    assert values == [stored_uuid(text, storage), None]
    assert canonical_text(column, values[0]) == text


# --- the files ----------------------------------------------------------------------------------------------------------

MIXED = {service: list(UuidStorage)[i % 3].value for i, service in enumerate(SERVICES)}


@pytest.fixture(scope="module", params=["hex", "blob", "mixed"])
def stored_as(request: pytest.FixtureRequest, smoke_run: TierRun, tmp_path_factory) -> tuple[TierRun, dict]:
    """The smoke tier again in another storage ("mixed": neighbouring services differ), and the storage
    of each service."""
    storage = MIXED if request.param == "mixed" else dict.fromkeys(SERVICES, request.param)
    run = reload_sqlite(smoke_run, tmp_path_factory.mktemp(f"uuids_{request.param}") / "data", storage)
    return run, {service: UuidStorage(value) for service, value in storage.items()}


@pytest.fixture(scope="module")
def stored(stored_as: tuple[TierRun, dict]) -> TierRun:
    return stored_as[0]


def _storage(run: TierRun, service: str) -> UuidStorage:
    with closing(sqlite3.connect(run.sqlite(service))) as conn:
        return uuid_storage_of(conn, service)


@pytest.mark.parametrize(("table", "column"), UUID_COLUMNS, ids=[f"{t.name}.{c.name}" for t, c in UUID_COLUMNS])
def test_uuid_columns_are_stored_as_set(stored_as: tuple[TierRun, dict], smoke_run: TierRun, table, column):
    stored, storages = stored_as
    storage = storages[table.service]
    with closing(sqlite3.connect(stored.sqlite(table.service))) as conn:
        rows = conn.execute(f"SELECT {column.name}, typeof({column.name}) FROM {table.name} "
                            f"WHERE {column.name} IS NOT NULL").fetchall()
    with closing(sqlite3.connect(smoke_run.sqlite(table.service))) as conn:
        canonical = [v for (v,) in conn.execute(f"SELECT {column.name} FROM {table.name} "
                                                f"WHERE {column.name} IS NOT NULL")]
    assert rows and len(rows) == len(canonical)
    if storage is UuidStorage.BLOB:
        assert all(kind == "blob" and len(v) == 16 for v, kind in rows)
    elif storage is UuidStorage.HEX:
        assert all(kind == "text" and HEX32.match(v) for v, kind in rows)
    assert sorted(canonical_uuid(v) for v, _ in rows) == sorted(canonical)


def test_each_file_says_how_it_stores_uuids(stored_as: tuple[TierRun, dict], smoke_run: TierRun):
    stored, storages = stored_as
    assert {s: _storage(stored, s) for s in SERVICES} == storages
    assert {_storage(smoke_run, s) for s in SERVICES} == {UuidStorage.TEXT}


def test_digests_are_equal_whatever_the_storage(stored: TierRun, smoke_run: TierRun):
    for table in CATALOG:
        with closing(sqlite3.connect(stored.sqlite(table.service))) as a, \
                closing(sqlite3.connect(smoke_run.sqlite(table.service))) as b:
            assert table_digest(a, table.service, table.name) == table_digest(b, table.service, table.name), table


def test_a_tier_in_any_storage_is_consistent(stored: TierRun, capsys):
    code = main(["check", "--tier", "smoke", "--data-dir", str(stored.data_dir), "--json"])
    results = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK and results, [r for r in results if not r["passed"]]


def test_fixtures_export_the_same_canonical_records(stored: TierRun, smoke_run: TierRun, tmp_path: Path):
    exported = {}
    for name, run in (("text", smoke_run), ("other", stored)):
        out = tmp_path / f"{name}.json"
        assert main(["export-fixtures", "--tier", "smoke", "--data-dir", str(run.data_dir), "--output", str(out)]) \
            == EXIT_OK
        exported[name] = out.read_text(encoding="utf-8")
    assert exported["other"] == exported["text"]
    records = [r for case in json.loads(exported["text"]).values() for r in case["records"]]
    assert records and all(r["row"] for r in records)


def test_an_unknown_declared_type_is_refused(tmp_path: Path):
    path = sqlite_path(tmp_path, "smoke", "hr")
    path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE employees (employee_uuid INTEGER PRIMARY KEY)")
        with pytest.raises(ValueError, match="hr.employees.employee_uuid is declared 'INTEGER'"):
            uuid_storage_of(conn, "hr")
