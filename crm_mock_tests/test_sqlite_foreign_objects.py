"""A SQLite service file the service also uses: a refresh replaces the model's tables and keeps the rest."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from functools import partial
from pathlib import Path

import pytest

from crm_mock.model import CATALOG
from crm_mock.sinks.parquet import TableStore
from crm_mock.sinks.refusal import RefreshRefused
from crm_mock.sinks.sqlite import load_service, table_digest
from crm_mock_tests.conftest import TierRun


def _sources(store: TableStore, service: str, tickets: int | None = None) -> dict:
    sources = {t.name: partial(store.model_batches, "smoke", t.qualified_name) for t in CATALOG.service_tables(service)}
    if tickets is not None:
        def first_tickets():
            remaining = tickets
            for batch in store.model_batches("smoke", "support.tickets"):
                yield batch.slice(0, remaining)
                remaining -= min(remaining, batch.num_rows)
        sources["tickets"] = first_tickets
    return sources


def _add_service_objects(path: Path) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript("""
            CREATE TABLE django_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, app TEXT NOT NULL, name TEXT NOT NULL);
            INSERT INTO django_migrations (app, name) VALUES ('support', '0001_initial');
            CREATE TABLE ticket_notes (id INTEGER PRIMARY KEY, ticket_uuid TEXT REFERENCES tickets (ticket_uuid), note TEXT);
            INSERT INTO ticket_notes (ticket_uuid, note) SELECT ticket_uuid, 'call back' FROM tickets LIMIT 2;
            CREATE VIEW open_tickets AS SELECT ticket_uuid, priority FROM tickets WHERE status IN ('NEW', 'OPEN', 'PENDING');
            CREATE INDEX tickets_status_custom ON tickets (status, priority);
            CREATE TABLE ticket_audit (ticket_uuid TEXT, at TEXT);
            CREATE TRIGGER tickets_audit AFTER UPDATE ON tickets BEGIN
                INSERT INTO ticket_audit VALUES (new.ticket_uuid, 'updated'); END;
        """)
        conn.commit()


def _state(path: Path) -> dict:
    with closing(sqlite3.connect(path)) as conn:
        return {
            "objects": sorted(conn.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")),
            "migrations": conn.execute("SELECT app, name FROM django_migrations").fetchall(),
            "notes": conn.execute("SELECT count(*) FROM ticket_notes").fetchone()[0],
            "tickets": conn.execute("SELECT count(*) FROM tickets").fetchone()[0],
            "open_view": conn.execute("SELECT count(*) FROM open_tickets").fetchone()[0],
            "open_direct": conn.execute(
                "SELECT count(*) FROM tickets WHERE status IN ('NEW', 'OPEN', 'PENDING')").fetchone()[0],
            "digest": table_digest(conn, "support", "tickets"),
        }


def test_a_refresh_keeps_the_service_objects_and_views_show_new_rows(smoke_run: TierRun, tmp_path: Path):
    store, path = TableStore(smoke_run.data_dir), tmp_path / "support.sqlite"
    load_service(path, "support", _sources(store, "support", tickets=40))
    _add_service_objects(path)
    before = _state(path)
    notes: list[str] = []
    load_service(path, "support", _sources(store, "support"), notify=notes.append)
    after = _state(path)
    assert after["objects"] == before["objects"]  # tables, view, index, trigger all there
    assert after["migrations"] == [("support", "0001_initial")] and after["notes"] == 2
    full = store.read("smoke", ("support", "tickets"), ["ticket_uuid"]).num_rows
    assert after["tickets"] == full > 40 and after["open_view"] == after["open_direct"] > before["open_view"]
    assert "kept view open_tickets" in notes and "kept index tickets_status_custom on tickets" in notes
    with closing(sqlite3.connect(path)) as conn:  # the service's trigger still fires on our table
        conn.execute("UPDATE tickets SET status = 'OPEN' WHERE rowid = 1")
        conn.commit()
        assert conn.execute("SELECT count(*) FROM ticket_audit").fetchone()[0] == 1
    # the same rows as a file crm_mock owns alone
    clean = tmp_path / "clean.sqlite"
    load_service(clean, "support", _sources(store, "support"))
    with closing(sqlite3.connect(clean)) as conn:
        assert table_digest(conn, "support", "account_replica") == _digest(path, "account_replica")


def _digest(path: Path, table: str) -> str:
    with closing(sqlite3.connect(path)) as conn:
        return table_digest(conn, "support", table)


def test_a_failed_refresh_in_place_leaves_everything_and_readers_see_old_rows(smoke_run: TierRun, tmp_path: Path):
    store, path = TableStore(smoke_run.data_dir), tmp_path / "support.sqlite"
    load_service(path, "support", _sources(store, "support", tickets=40))
    _add_service_objects(path)
    before = _state(path)
    seen_meanwhile = []

    def broken():
        # a reader in the middle of the refresh still sees the previous rows
        reader = threading.Thread(target=lambda: seen_meanwhile.append(_state(path)["tickets"]))
        reader.start()
        reader.join(timeout=30)
        yield from store.model_batches("smoke", "support.tickets")
        raise RuntimeError("the disk went away")

    with pytest.raises(RuntimeError, match="the disk went away"):
        load_service(path, "support", {**_sources(store, "support"), "tickets": broken})
    assert seen_meanwhile == [40]
    assert _state(path) == before


def test_a_view_the_model_would_break_stops_the_refresh(smoke_run: TierRun, tmp_path: Path):
    store, path = TableStore(smoke_run.data_dir), tmp_path / "support.sqlite"
    load_service(path, "support", _sources(store, "support"))
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("ALTER TABLE tickets ADD COLUMN legacy_score INTEGER")
        conn.execute("CREATE VIEW scored AS SELECT ticket_uuid, legacy_score FROM tickets")
        conn.commit()
    before = _state_scored(path)
    with pytest.raises(RefreshRefused, match="view scored"):
        load_service(path, "support", _sources(store, "support"))
    assert _state_scored(path) == before


def _state_scored(path: Path):
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT count(*), count(legacy_score) FROM scored").fetchone(), \
            sorted(conn.execute("SELECT type, name FROM sqlite_master"))
