"""The SQL spellings that differ by engine and UUID storage, run on real engines: a UUID literal list finds
exactly the rows whose stored key it names, however SQLite stores the key and in PostgreSQL's uuid type; a
malformed key is left out where the storage cannot hold it."""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing

import duckdb
import psycopg
import pytest

from crm_mock.consistency.sql import Sql
from crm_mock.model.ddl import UuidStorage
from crm_mock.sinks.values import stored_uuid
from crm_mock_tests.conftest import require_postgres

KEYS = [str(uuid.UUID(int=(n + 1) * 0x0123456789ABCDEF0123456789ABCDEF % 2**128)) for n in range(6)]


@pytest.mark.parametrize("storage", list(UuidStorage))
def test_uuid_literals_name_the_stored_keys_in_sqlite(storage: UuidStorage):
    with closing(sqlite3.connect(":memory:")) as conn:
        conn.execute("CREATE TABLE t (k)")
        conn.executemany("INSERT INTO t VALUES (?)", [(stored_uuid(k, storage),) for k in KEYS])
        wanted = [KEYS[1], KEYS[4], "not-a-uuid"]
        literals = Sql("sqlite").uuid_literals(wanted, storage)
        found = [row[0] for row in conn.execute(f"SELECT k FROM t WHERE k IN ({literals}) ORDER BY rowid")]
    assert found == [stored_uuid(KEYS[1], storage), stored_uuid(KEYS[4], storage)]
    assert ("not" in literals) is (storage is not UuidStorage.BLOB)  # 16 bytes cannot hold it


def test_uuid_literals_in_duckdb_and_quoting():
    conn = duckdb.connect()
    conn.execute("CREATE TABLE t (k VARCHAR)")
    conn.executemany("INSERT INTO t VALUES (?)", [(k,) for k in KEYS])
    literals = Sql("duckdb").uuid_literals([KEYS[0], "o'brien"], None)
    assert literals.endswith("'o''brien'")
    assert conn.execute(f"SELECT k FROM t WHERE k IN ({literals})").fetchall() == [(KEYS[0],)]
    assert Sql("sqlite").uuid_literals([], UuidStorage.TEXT) == ""


def test_uuid_literals_against_postgresql_uuid_type():
    require_postgres()
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres") as conn:
        conn.execute("CREATE TEMPORARY TABLE t (k uuid)")
        conn.cursor().executemany("INSERT INTO t VALUES (%s)", [(k,) for k in KEYS])
        literals = Sql("postgresql").uuid_literals([KEYS[2], "not-a-uuid", KEYS[3]], None)
        found = conn.execute(f"SELECT k::text FROM t WHERE k IN ({literals}) ORDER BY k").fetchall()
    assert sorted(found) == sorted([(KEYS[2],), (KEYS[3],)]) and "not" not in literals


@pytest.mark.parametrize("value", ["it's a 'key'", "", "ünïcode ✓", b"\x00\x01\xfe\xff", b"", 0, -42, 2**62, 1.5,
                                   -0.25, 1e300])
def test_a_literal_equals_the_value_sqlite_returned(value):
    """Stored in a column without affinity and read back, a value equals (and is the same type as) its literal."""
    with closing(sqlite3.connect(":memory:")) as conn:
        conn.execute("CREATE TABLE t (v BLOB)")
        conn.execute("INSERT INTO t VALUES (?)", (value,))
        stored, = conn.execute("SELECT v FROM t").fetchone()
        literal = Sql.literal(stored)
        assert literal is not None
        assert conn.execute(f"SELECT COUNT(*) FROM t WHERE v IN ({literal})").fetchone() == (1,)
        assert conn.execute(f"SELECT typeof({literal}) = typeof(v) FROM t").fetchone() == (1,)


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), "nul\x00inside", None, object()])
def test_no_literal_for_what_sql_cannot_spell(value):
    assert Sql.literal(value) is None
