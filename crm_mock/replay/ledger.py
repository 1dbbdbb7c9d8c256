"""The ledger: one SQLite database (WAL) per target and tier recording every event's state.

It is what makes a replay exactly-once and resumable: an event is marked in flight (committed) before it
is sent, and its outcome is committed after; a resumed replay skips what finished and resolves what was
in flight with the lookup request before sending it again with the same idempotency key.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

PENDING, IN_FLIGHT, OK, ALREADY_THERE, FAILED, SKIPPED = "pending", "in flight", "ok", "already there", "failed", "skipped"
EXPECTED_FOUND, EXPECTED_MISSING = "expected-found", "expected-missing"
STATES = (PENDING, IN_FLIGHT, OK, ALREADY_THERE, FAILED, SKIPPED, EXPECTED_FOUND, EXPECTED_MISSING)
SUCCEEDED = frozenset({OK, ALREADY_THERE, EXPECTED_FOUND})
FINAL = frozenset({OK, ALREADY_THERE, FAILED, SKIPPED, EXPECTED_FOUND, EXPECTED_MISSING})

_DDL = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
    idempotency_key TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT, latency_ms REAL, lag_ms REAL, error TEXT, request TEXT, response TEXT,
    root_seq INTEGER, updated_at REAL
);
CREATE INDEX IF NOT EXISTS events_state ON events (state);
CREATE TABLE IF NOT EXISTS captures (record_key TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
                                     PRIMARY KEY (record_key, name));
"""


class LedgerMismatch(RuntimeError):
    """The ledger belongs to another plan or target: resuming would send the wrong events."""


@dataclass
class Outcome:
    seq: int
    state: str
    attempts: int = 0
    status: str | None = None  # an HTTP status code, or a broker/lookup answer such as "confirmed"
    latency_ms: float | None = None
    lag_ms: float | None = None
    error: str | None = None
    request: str | None = None  # redacted excerpts
    response: str | None = None
    root_seq: int | None = None
    captures: dict[str, object] = field(default_factory=dict)
    record_key: str = ""


def ledger_path(data_dir: str | Path, tier: str, target_name: str) -> Path:
    return Path(data_dir) / tier / "replay" / f"{target_name}.ledger.sqlite"


class Ledger:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives the process being killed (not a power cut), without an fsync each
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(_DDL)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- identity ---------------------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT name, value FROM meta"))

    def bind(self, plan_hash: str, fingerprint: str, tier: str, target_name: str, restart: bool) -> bool:
        """Tie the ledger to a plan and target. True when it already held events (a resume)."""
        meta = self.meta()
        if meta and (meta.get("plan_hash") != plan_hash or meta.get("target") != fingerprint):
            if not restart:
                changed = [what for what, key, value in (("plan", "plan_hash", plan_hash), ("target", "target", fingerprint))
                           if meta.get(key) != value]
                raise LedgerMismatch(f"the ledger {self.path} was written for another {' and '.join(changed)}; "
                                     "run with --restart to discard it and replay from the start")
        if restart:
            with self.transaction():
                self.conn.execute("DELETE FROM events")
                self.conn.execute("DELETE FROM captures")
                self.conn.execute("DELETE FROM meta")
            meta = {}
        with self.transaction():
            self.conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
                ("plan_hash", plan_hash), ("target", fingerprint), ("tier", tier), ("target_name", target_name)])
        return bool(meta) and self.conn.execute("SELECT 1 FROM events LIMIT 1").fetchone() is not None

    # -- writes -----------------------------------------------------------------------------------------
    def transaction(self):
        return _Transaction(self.conn)

    def add_events(self, rows: Iterable[tuple[int, str, str, str, str]]) -> None:
        """(seq, event_id, kind, key, idempotency key) as pending, unless already present."""
        with self.transaction():
            self.conn.executemany(
                "INSERT OR IGNORE INTO events (seq, event_id, kind, key, idempotency_key, state) "
                f"VALUES (?, ?, ?, ?, ?, '{PENDING}')", rows)

    def mark_in_flight(self, seqs: list[int]) -> None:
        if seqs:
            with self.transaction():
                now = time.time()
                self.conn.executemany(f"UPDATE events SET state = '{IN_FLIGHT}', updated_at = ? WHERE seq = ?",
                                      [(now, s) for s in seqs])

    def record(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        now = time.time()
        with self.transaction():
            self.conn.executemany(
                "UPDATE events SET state = ?, attempts = attempts + ?, status = ?, latency_ms = ?, lag_ms = ?,"
                " error = ?, request = ?, response = ?, root_seq = ?, updated_at = ? WHERE seq = ?",
                [(o.state, o.attempts, o.status, o.latency_ms, o.lag_ms, o.error, o.request, o.response,
                  o.root_seq, now, o.seq) for o in outcomes])
            self.conn.executemany(
                "INSERT OR REPLACE INTO captures VALUES (?, ?, ?)",
                [(o.record_key, name, json.dumps(value)) for o in outcomes for name, value in o.captures.items()])

    # -- reads ------------------------------------------------------------------------------------------
    def states(self) -> dict[int, tuple[str, int | None]]:
        return {seq: (state, root) for seq, state, root in self.conn.execute("SELECT seq, state, root_seq FROM events")}

    def captures(self) -> dict[str, dict[str, object]]:
        out: dict[str, dict[str, object]] = {}
        for key, name, value in self.conn.execute("SELECT record_key, name, value FROM captures"):
            out.setdefault(key, {})[name] = json.loads(value)
        return out

    def counts(self) -> dict[str, dict[str, int]]:
        """event id -> state -> events."""
        out: dict[str, dict[str, int]] = {}
        for event_id, state, n in self.conn.execute(
                "SELECT event_id, state, COUNT(*) FROM events GROUP BY event_id, state ORDER BY MIN(seq)"):
            out.setdefault(event_id, {})[state] = n
        return out

    def rows(self, where: str = "1=1", params: tuple = (), limit: int | None = None) -> list[dict]:
        cursor = self.conn.execute(f"SELECT * FROM events WHERE {where} ORDER BY seq"
                                   + (f" LIMIT {int(limit)}" if limit else ""), params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor]


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *_) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
