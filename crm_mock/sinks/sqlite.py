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
from crm_mock.model.ddl import service_metadata
from crm_mock.sinks.values import canonical_text, sqlite_values

BatchSource = Callable[[], Iterable[pa.RecordBatch]]


def sqlite_path(data_dir: str | Path, tier: str, service: str) -> Path:
    return Path(data_dir) / tier / f"{service}.sqlite"


def fk_indexes(metadata: sa.MetaData) -> list[sa.Index]:
    """An index on every foreign-key column, so joins across the service stay fast at volume."""
    indexes = []
    for table in metadata.sorted_tables:
        for fk in table.foreign_key_constraints:
            columns = [table.c[c.name] for c in fk.columns]
            if list(table.primary_key.columns)[: len(columns)] != columns:
                indexes.append(sa.Index(f"ix_{table.name}_{'_'.join(c.name for c in columns)}", *columns))
    return indexes


def load_service(path: Path, service: str, sources: Mapping[str, BatchSource]) -> dict[str, int]:
    """Replace the service database at ``path`` with exactly the given tables.

    The new database is built in a side file and renamed over the old one only once complete, so a
    failure at any point leaves the previous database intact; a re-run rebuilds the same rows.
    """
    metadata = service_metadata(service, list(sources))
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
                counts[table.name] = _insert(conn, service, table.name, sources[table.name]())
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


def _insert(conn: sqlite3.Connection, service: str, name: str, batches: Iterable[pa.RecordBatch]) -> int:
    model = CATALOG[f"{service}.{name}"]
    columns = model.columns
    statement = f"INSERT INTO {name} ({', '.join(c.name for c in columns)}) VALUES ({', '.join('?' * len(columns))})"
    rows = 0
    for batch in batches:
        if batch.schema.names != list(model.column_names):
            raise ValueError(f"{model.qualified_name}: batch columns {batch.schema.names} differ from the model")
        values = [sqlite_values(c, batch.column(i)) for i, c in enumerate(columns)]
        conn.executemany(statement, zip(*values))
        rows += batch.num_rows
    return rows


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
