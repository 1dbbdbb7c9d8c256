"""The embedded default: one SQLite file per service, rebuilt aside and swapped in atomically."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from contextlib import closing
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.schema import CreateIndex, CreateTable

from crm_mock.model import CATALOG
from crm_mock.model.ddl import SQLITE_UUID_TYPES, UuidStorage, service_metadata
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
                 uuid_storage: UuidStorage = UuidStorage.TEXT) -> dict[str, int]:
    """Replace the service database at ``path`` with exactly the given tables, UUIDs stored as ``uuid_storage``.

    The new database is built in a side file and renamed over the old one only once complete, so a
    failure at any point leaves the previous database intact; a re-run rebuilds the same rows.
    """
    metadata = service_metadata(service, list(sources), uuid_storage=uuid_storage)
    path.parent.mkdir(parents=True, exist_ok=True)
    building = path.with_name(f".{path.name}.{os.getpid()}.building")
    building.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    try:
        with closing(sqlite3.connect(building)) as conn:
            # the side file is discarded on failure, so the journal buys nothing here
            conn.execute("PRAGMA journal_mode = OFF")
            conn.execute("PRAGMA synchronous = OFF")
            # keys are random UUIDs: keep the key indexes' pages in memory while they fill
            conn.execute("PRAGMA cache_size = -262144")
            dialect = sqlite_dialect.dialect()
            for table in metadata.sorted_tables:
                conn.execute(str(CreateTable(table).compile(dialect=dialect)))
                counts[table.name] = _insert(conn, service, table.name, sources[table.name](), uuid_storage)
            for index in fk_indexes(metadata):
                conn.execute(str(CreateIndex(index).compile(dialect=dialect)))
            conn.commit()
        with open(building, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(building, path)
    except BaseException:
        building.unlink(missing_ok=True)
        raise
    return counts


def _insert(conn: sqlite3.Connection, service: str, name: str, batches: Iterable[pa.RecordBatch],
            uuid_storage: UuidStorage) -> int:
    model = CATALOG[f"{service}.{name}"]
    columns = model.columns
    statement = f"INSERT INTO {name} ({', '.join(c.name for c in columns)}) VALUES ({', '.join('?' * len(columns))})"
    rows = 0
    for batch in batches:
        if batch.schema.names != list(model.column_names):
            raise ValueError(f"{model.qualified_name}: batch columns {batch.schema.names} differ from the model")
        values = [sqlite_values(c, batch.column(i), uuid_storage) for i, c in enumerate(columns)]
        conn.executemany(statement, zip(*values))
        rows += batch.num_rows
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
