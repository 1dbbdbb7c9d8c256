"""The PostgreSQL sink against the real server on 127.0.0.1:5432: same rows as SQLite, atomic, idempotent."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from functools import partial
from pathlib import Path

import psycopg
import pytest

from crm_mock.model import CATALOG, SERVICES
from crm_mock.sinks.parquet import TableStore
from crm_mock.sinks.postgres import DatabaseTargetError, PostgresTarget, connect, load_service_postgres
from crm_mock.sinks.sqlite import table_digest
from crm_mock_tests.conftest import POSTGRES_URL, TierRun, drop_test_databases, require_postgres

PER_SERVICE = POSTGRES_URL.format(database="crm_mock_test_{tier}_{service}")
PER_SCHEMA = POSTGRES_URL.format(database="crm_mock_test_{tier}")
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def postgres() -> None:
    require_postgres()
    drop_test_databases("crm_mock_test_smoke")
    drop_test_databases("crm_mock_test_denied_")


def _sources(store: TableStore, tier: str, service: str) -> dict:
    return {t.name: partial(store.model_batches, tier, t.qualified_name)
            for t in CATALOG.service_tables(service) if store.exists(tier, (t.service, t.name))}


def _load_all(run: TierRun, template: str) -> None:
    store = TableStore(run.data_dir)
    for service in SERVICES:
        load_service_postgres(template, "smoke", service, _sources(store, "smoke", service))


def _pg_digests(template: str, service: str) -> dict[str, str]:
    conn, schema = connect(template, "smoke", service)
    with conn:
        conn.execute(f'SET search_path TO "{schema}"')
        return {t.name: table_digest(conn, service, t.name) for t in CATALOG.service_tables(service)}


def _sqlite_digests(run: TierRun, service: str) -> dict[str, str]:
    with closing(sqlite3.connect(run.sqlite(service))) as conn:
        return {t.name: table_digest(conn, service, t.name) for t in CATALOG.service_tables(service)}


@pytest.mark.parametrize("template", [PER_SERVICE, PER_SCHEMA], ids=["database_per_service", "schema_per_service"])
def test_postgres_holds_exactly_the_sqlite_rows(smoke_run: TierRun, template: str):
    _load_all(smoke_run, template)
    for service in SERVICES:
        assert _pg_digests(template, service) == _sqlite_digests(smoke_run, service), service


def test_foreign_keys_inside_a_service_are_constraints(smoke_run: TierRun):
    _load_all(smoke_run, PER_SERVICE)
    conn, _ = connect(PER_SERVICE, "smoke", "orders")
    with conn:
        constraints = {row[0] for row in conn.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = 'public.order_lines'::regclass")}
    assert constraints, "order_lines has no foreign keys"


def test_a_failed_load_leaves_the_previous_data(smoke_run: TierRun):
    _load_all(smoke_run, PER_SERVICE)
    before = _pg_digests(PER_SERVICE, "contact")
    store = TableStore(smoke_run.data_dir)
    sources = _sources(store, "smoke", "contact")

    def broken():
        yield from store.model_batches("smoke", "contact.contacts")
        raise RuntimeError("the network went away")

    with pytest.raises(RuntimeError):
        load_service_postgres(PER_SERVICE, "smoke", "contact", {**sources, "contacts": broken})
    assert _pg_digests(PER_SERVICE, "contact") == before
    load_service_postgres(PER_SERVICE, "smoke", "contact", sources)
    assert _pg_digests(PER_SERVICE, "contact") == before  # a re-run changes nothing


KILLED_LOADER = """
import sys, time
from functools import partial
from pathlib import Path
from crm_mock.sinks.parquet import TableStore
from crm_mock.sinks.postgres import load_service_postgres
store = TableStore(sys.argv[1])
marker = Path(sys.argv[2])

def slow():
    for batch in store.model_batches("smoke", "inventory.stock_levels"):
        for i in range(batch.num_rows):
            yield batch.slice(i, 1)
            marker.touch()
            time.sleep(0.01)

sources = {"products": partial(store.model_batches, "smoke", "inventory.products"),
           "warehouses": partial(store.model_batches, "smoke", "inventory.warehouses"),
           "stock_levels": slow,
           "stock_movements": partial(store.model_batches, "smoke", "inventory.stock_movements")}
load_service_postgres(sys.argv[3], "smoke", "inventory", sources)
"""


def test_killing_a_load_midway_leaves_the_previous_data_readable(smoke_run: TierRun, tmp_path: Path):
    _load_all(smoke_run, PER_SERVICE)
    before = _pg_digests(PER_SERVICE, "inventory")
    marker = tmp_path / "copying"
    process = subprocess.Popen([sys.executable, "-c", KILLED_LOADER, str(smoke_run.data_dir), str(marker), PER_SERVICE],
                               cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 120
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the loader never started copying"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert _pg_digests(PER_SERVICE, "inventory") == before
    # the next load clears what the killed one left and gives the same rows
    store = TableStore(smoke_run.data_dir)
    load_service_postgres(PER_SERVICE, "smoke", "inventory", _sources(store, "smoke", "inventory"))
    assert _pg_digests(PER_SERVICE, "inventory") == before
    conn, _ = connect(PER_SERVICE, "smoke", "inventory")
    with conn:
        leftovers = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'crm_mock_%'").fetchall()
    assert leftovers == []


def test_bad_targets_get_clear_errors_without_secrets():
    with pytest.raises(DatabaseTargetError, match="postgresql://"):
        PostgresTarget.resolve("mysql://u:hunter2@127.0.0.1/x_{service}", "smoke", "hr")
    with pytest.raises(DatabaseTargetError) as caught:
        load_service_postgres("postgresql+psycopg://postgres:hunter2@127.0.0.1:1/crm_{tier}_{service}", "smoke",
                              "hr", {})
    assert "hunter2" not in str(caught.value) and "cannot connect" in str(caught.value)
    assert "***" in PostgresTarget.resolve("postgresql://u:hunter2@h/db_{service}", "smoke", "hr").display


def test_missing_privileges_name_what_to_grant():
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS crm_mock_limited")
        admin.execute("CREATE ROLE crm_mock_limited LOGIN")
    try:
        with pytest.raises(DatabaseTargetError, match="CREATEDB"):
            load_service_postgres("postgresql+psycopg://crm_mock_limited@127.0.0.1:5432/crm_mock_test_denied_{service}",
                                  "smoke", "hr", {})
    finally:
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
            admin.execute("DROP ROLE IF EXISTS crm_mock_limited")


def test_prefetched_keeps_order_raises_in_place_and_stops_early():
    from crm_mock.sinks.prefetch import prefetched

    assert list(prefetched(iter(range(50)), depth=3)) == list(range(50))
    produced = []

    def failing():
        for i in range(10):
            produced.append(i)
            if i == 4:
                raise RuntimeError("the source broke")
            yield i

    seen = []
    with pytest.raises(RuntimeError, match="the source broke"):
        for item in prefetched(failing()):
            seen.append(item)
    assert seen == [0, 1, 2, 3]
    produced.clear()
    for item in prefetched(failing(), depth=2):
        break  # the consumer leaves early: the producer stops within depth items
    assert len(produced) <= 3
