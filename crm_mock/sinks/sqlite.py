"""The embedded default: one SQLite file per service, replaced atomically (rebuilt aside, or refreshed in place
when the service keeps its own objects in the file)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.schema import CreateIndex, CreateTable

from crm_mock.model import CATALOG
from crm_mock.model.ddl import SQLITE_UUID_TYPES, UuidStorage, service_metadata
from crm_mock.sinks.prefetch import prefetched
from crm_mock.sinks.refusal import RefreshRefused
from crm_mock.sinks.values import canonical_text, sqlite_values

BatchSource = Callable[[], Iterable[pa.RecordBatch]]


def sqlite_path(data_dir: str | Path, tier: str, service: str) -> Path:
    return Path(data_dir) / tier / f"{service}.sqlite"


def fk_indexes(metadata: sa.MetaData) -> list[sa.Index]:
    """An index on every foreign-key column, so joins across the service stay fast at volume."""
    indexes = []
    for table in metadata.sorted_tables:
        # a set: sorted, so the files come out byte-identical from run to run
        for fk in sorted(table.foreign_key_constraints, key=lambda fk: [c.name for c in fk.columns]):
            columns = [table.c[c.name] for c in fk.columns]
            if list(table.primary_key.columns)[: len(columns)] != columns:
                indexes.append(sa.Index(f"ix_{table.name}_{'_'.join(c.name for c in columns)}", *columns))
    return indexes


def load_service(path: Path, service: str, sources: Mapping[str, BatchSource],
                 uuid_storage: UuidStorage = UuidStorage.TEXT,
                 notify: Callable[[str], None] | None = None) -> dict[str, int]:
    """Replace the service's tables at ``path`` with exactly the given rows, UUIDs stored as ``uuid_storage``.

    A file that holds only crm_mock's tables is rebuilt in a side file and renamed over the old one once
    complete. A file the service also uses (its own tables, views, triggers or indexes) is refreshed in
    place instead, in one transaction that replaces only the model's tables and keeps everything else.
    Either way a failure leaves the previous database intact and a re-run gives the same rows.
    """
    metadata = service_metadata(service, list(sources), uuid_storage=uuid_storage)
    indexes = fk_indexes(metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file():
        whole = service_metadata(service)  # every model table of the service is ours, loaded now or not
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            foreign = service_objects(conn, whole, fk_indexes(whole))
        if foreign:
            return _refresh_in_place(path, service, sources, metadata, indexes, uuid_storage, foreign,
                                     notify or (lambda message: None))
    building = path.with_name(f".{path.name}.{os.getpid()}.building")
    building.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    try:
        with closing(sqlite3.connect(building)) as conn:
            # the side file is discarded on failure, so the journal buys nothing here
            conn.execute("PRAGMA journal_mode = OFF")
            conn.execute("PRAGMA synchronous = OFF")
            counts = _build(conn, service, sources, metadata, indexes, uuid_storage)
            conn.commit()
        with open(building, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(building, path)
    except BaseException:
        building.unlink(missing_ok=True)
        raise
    return counts


def _build(conn: sqlite3.Connection, service: str, sources: Mapping[str, BatchSource], metadata: sa.MetaData,
           indexes: list[sa.Index], uuid_storage: UuidStorage) -> dict[str, int]:
    # keys are random UUIDs: keep the key indexes' pages in memory while they fill (128 MiB: within the
    # process's 1 GiB budget)
    conn.execute("PRAGMA cache_size = -131072")
    dialect = sqlite_dialect.dialect()
    counts = {}
    for table in metadata.sorted_tables:
        conn.execute(str(CreateTable(table).compile(dialect=dialect)))
        counts[table.name] = _insert(conn, service, table.name, sources[table.name](), uuid_storage)
    for index in indexes:
        conn.execute(str(CreateIndex(index).compile(dialect=dialect)))
    return counts


@dataclass(frozen=True)
class ServiceObject:
    """Something in a service's SQLite file that crm_mock did not create."""

    type: str  # table, view, index, trigger
    name: str
    table: str  # the table it belongs to (itself for tables and views)
    sql: str | None


def service_objects(conn: sqlite3.Connection, metadata: sa.MetaData, indexes: list[sa.Index]) -> list[ServiceObject]:
    ours = {t.name for t in metadata.sorted_tables} | {ix.name for ix in indexes}
    found = []
    for type_, name, table, statement in conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"):
        internal = name.startswith("sqlite_autoindex_") and table in ours or name.startswith("sqlite_stat")
        if name not in ours and not internal:
            found.append(ServiceObject(type_, name, table, statement))
    return found


def _refresh_in_place(path: Path, service: str, sources: Mapping[str, BatchSource], metadata: sa.MetaData,
                      indexes: list[sa.Index], uuid_storage: UuidStorage, foreign: list[ServiceObject],
                      notify: Callable[[str], None]) -> dict[str, int]:
    """Drop and rebuild only the model's tables, in one transaction on the live file.

    SQLite binds views and foreign keys to table names, so they follow the rebuilt tables; the service's
    own indexes and triggers on our tables go with the old table and are re-created from their SQL.
    Readers see the previous rows until the commit.
    """
    ours = {t.name for t in metadata.sorted_tables}
    attached = [o for o in foreign if o.type in ("index", "trigger") and o.table in ours and o.sql]
    # isolation_level=None: the transaction is ours to open; wait for readers rather than fail
    with closing(sqlite3.connect(path, isolation_level=None, timeout=60)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table in reversed(metadata.sorted_tables):
                conn.execute(f'DROP TABLE IF EXISTS "{table.name}"')
            counts = _build(conn, service, sources, metadata, indexes, uuid_storage)
            problems = []
            for obj in attached:
                try:
                    conn.execute(obj.sql)
                except sqlite3.Error as exc:
                    problems.append(f"the service's {obj.type} {obj.name} on {obj.table} cannot be kept on the "
                                    f"model's table: {exc}")
            for view in (o for o in foreign if o.type == "view"):
                try:  # a view is bound by name: prove it still reads what it names
                    conn.execute(f'SELECT * FROM "{view.name}" LIMIT 0')
                except sqlite3.Error as exc:
                    problems.append(f"the service's view {view.name} would break: {exc}")
            if problems:
                raise RefreshRefused(str(path), problems)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    for obj in foreign:
        notify(f"kept {obj.type} {obj.name}" + (f" on {obj.table}" if obj.table != obj.name else ""))
    return counts


def _insert(conn: sqlite3.Connection, service: str, name: str, batches: Iterable[pa.RecordBatch],
            uuid_storage: UuidStorage) -> int:
    model = CATALOG[f"{service}.{name}"]
    columns = model.columns
    statement = f"INSERT INTO {name} ({', '.join(c.name for c in columns)}) VALUES ({', '.join('?' * len(columns))})"

    def converted() -> Iterator[tuple[int, list[list]]]:
        for batch in batches:
            if batch.schema.names != list(model.column_names):
                raise ValueError(f"{model.qualified_name}: batch columns {batch.schema.names} differ from the model")
            yield batch.num_rows, [sqlite_values(c, batch.column(i), uuid_storage) for i, c in enumerate(columns)]

    rows = 0
    # the next batch is read and converted in a worker thread while SQLite inserts this one (the connection
    # stays in this thread)
    for count, values in prefetched(converted(), depth=1):
        conn.executemany(statement, zip(*values))
        rows += count
    return rows


_DECLARED_UUID_TYPES = {str(t.compile(dialect=sqlite_dialect.dialect())): storage
                        for storage, t in SQLITE_UUID_TYPES.items()}


def uuid_storage_of(conn: sqlite3.Connection, service: str) -> UuidStorage:
    """How a service database stores its UUIDs, read from the declared type of a key column, so every
    reader follows the file whatever setting built it."""
    present = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table in CATALOG.service_tables(service):
        if table.name in present:
            key = table.primary_key[0]
            declared = {row[1]: row[2] for row in conn.execute(f"PRAGMA table_info({table.name})")}[key]
            if declared.upper() not in _DECLARED_UUID_TYPES:
                raise ValueError(f"{service}.{table.name}.{key} is declared {declared!r}, not one of crm_mock's "
                                 f"UUID types {sorted(_DECLARED_UUID_TYPES)}")
            return _DECLARED_UUID_TYPES[declared.upper()]
    return UuidStorage.TEXT


def table_digest(conn, service: str, name: str) -> str:
    """SHA-256 of a table's rows in primary-key order, spelled canonically (comparable across databases)."""
    model = CATALOG[f"{service}.{name}"]
    order = ", ".join(model.primary_key)
    cursor = conn.execute(f"SELECT {', '.join(model.column_names)} FROM {name} ORDER BY {order}")
    digest = hashlib.sha256()
    for row in cursor:
        digest.update("\t".join(canonical_text(c, v) for c, v in zip(model.columns, row)).encode())
        digest.update(b"\n")
    return digest.hexdigest()
