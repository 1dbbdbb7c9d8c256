"""PostgreSQL service databases, loaded with COPY into a side schema and swapped in one transaction.

The target is a SQLAlchemy URL template with ``{tier}`` and ``{service}`` placeholders: with
``{service}`` every service gets its own database (tables in ``public``); without it, one database holds
a schema per service. Missing databases and schemas are created. Keys, indexes and foreign keys are
added after the data is in. Until the final transaction commits, readers see the previous tables.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.schema import AddConstraint, CreateIndex, CreateTable

from crm_mock.model import CATALOG
from crm_mock.model.ddl import service_metadata
from crm_mock.sinks.sqlite import BatchSource, fk_indexes

LOADING_PREFIX = "crm_mock_loading_"
RETIRED_PREFIX = "crm_mock_retired_"


class DatabaseTargetError(RuntimeError):
    """The target cannot be used as configured; the message says what to fix (never the password)."""


@dataclass(frozen=True)
class PostgresTarget:
    """Where one service of one tier lives: a database and a schema."""

    conninfo: str  # libpq connection string, credentials included: never log it
    display: str  # the same without the password
    database: str
    schema: str

    @classmethod
    def resolve(cls, template: str, tier: str, service: str) -> "PostgresTarget":
        try:
            url = make_url(template.replace("{tier}", tier).replace("{service}", service))
        except Exception:  # noqa: BLE001 - the URL may hold a password: never echo it
            raise DatabaseTargetError("CRM_MOCK_DATABASE_URL is not a valid SQLAlchemy URL") from None
        if url.get_backend_name() != "postgresql":
            raise DatabaseTargetError(f"CRM_MOCK_DATABASE_URL must be a postgresql:// URL, not {url.drivername}://")
        if "{service}" in template:
            schema = "public"  # a database per service
        else:  # one database: a schema per service (and per tier, unless the database name has the tier)
            schema = service if "{tier}" in template else f"{tier}_{service}"
        conninfo = psycopg.conninfo.make_conninfo(
            host=url.host or "", port=str(url.port or ""), user=url.username or "", password=url.password or "",
            dbname=url.database or "")
        return cls(conninfo, url.render_as_string(hide_password=True), url.database or "", schema)

    def maintenance(self) -> str:
        """The same server's maintenance database, to create the target database from."""
        return psycopg.conninfo.make_conninfo(self.conninfo, dbname="postgres")


def ensure_database(target: PostgresTarget) -> None:
    try:
        with psycopg.connect(target.conninfo, connect_timeout=10):
            return
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise DatabaseTargetError(f"cannot connect to {target.display}: {_first_line(exc)}") from None
    try:
        with psycopg.connect(target.maintenance(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.database)))
    except psycopg.errors.DuplicateDatabase:
        pass  # created meanwhile by a concurrent load
    except psycopg.errors.InsufficientPrivilege:
        raise DatabaseTargetError(f"database {target.database!r} does not exist and the user may not create "
                                  f"it: create it, or run ALTER ROLE <user> CREATEDB") from None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _csv(batch: pa.RecordBatch) -> bytes:
    buffer = io.BytesIO()
    pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return buffer.getvalue()


def load_service_postgres(template: str, tier: str, service: str, sources: Mapping[str, BatchSource]) -> dict[str, int]:
    """Replace one service's tables with exactly ``sources``; atomic for readers, idempotent on re-run."""
    target = PostgresTarget.resolve(template, tier, service)
    ensure_database(target)
    loading = f"{LOADING_PREFIX}{target.schema}_{os.getpid()}"
    metadata = service_metadata(service, list(sources), schema=loading)
    dialect = postgresql.dialect()
    counts: dict[str, int] = {}
    try:
        with psycopg.connect(target.conninfo, connect_timeout=10) as conn:
            _drop_stale(conn, target.schema)
            # key and index builds sort whole tables: give them memory
            conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(loading)))
            for table in metadata.sorted_tables:
                # constraints after the data: COPY into bare tables is the fast path
                create = CreateTable(table, include_foreign_key_constraints=[])
                ddl = str(create.compile(dialect=dialect))
                conn.execute(_without_primary_key(ddl))
                counts[table.name] = _copy(conn, loading, service, table.name, sources[table.name]())
            for table in metadata.sorted_tables:
                conn.execute(sql.SQL("ALTER TABLE {}.{} ADD PRIMARY KEY ({})").format(
                    sql.Identifier(loading), sql.Identifier(table.name),
                    sql.SQL(", ").join(sql.Identifier(c.name) for c in table.primary_key.columns)))
            for table in metadata.sorted_tables:
                for fk in table.foreign_key_constraints:
                    # NOT VALID: enforced on every later write; the rows loaded now were proven by the
                    # foreign_keys_resolve checks, so PostgreSQL need not re-scan them inside the swap
                    conn.execute(str(AddConstraint(fk).compile(dialect=dialect)) + " NOT VALID")
            for index in fk_indexes(metadata):
                conn.execute(str(CreateIndex(index).compile(dialect=dialect)))
            _swap(conn, loading, target.schema)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise DatabaseTargetError(f"{target.display}: {_first_line(exc)}; grant the user CREATE on database "
                                  f"{target.database!r} (GRANT CREATE ON DATABASE {target.database} TO <user>)") from None
    return counts


def _without_primary_key(ddl: str) -> str:
    return re.sub(r",\s*PRIMARY KEY \([^)]*\)", "", ddl)


def _copy(conn: psycopg.Connection, schema: str, service: str, name: str, batches: Iterable[pa.RecordBatch]) -> int:
    model = CATALOG[f"{service}.{name}"]
    # FREEZE: the table was created in this transaction, so rows can be written already frozen
    statement = sql.SQL("COPY {}.{} ({}) FROM STDIN WITH (FORMAT csv, FREEZE)").format(
        sql.Identifier(schema), sql.Identifier(name), sql.SQL(", ").join(sql.Identifier(c) for c in model.column_names))
    rows = 0
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for batch in batches:
            if batch.schema.names != list(model.column_names):
                raise ValueError(f"{model.qualified_name}: batch columns {batch.schema.names} differ from the model")
            copy.write(_csv(batch))
            rows += batch.num_rows
    return rows


def _swap(conn: psycopg.Connection, loading: str, schema: str) -> None:
    """Retire the old schema and rename the loaded one in its place, in the transaction that commits."""
    retired = f"{RETIRED_PREFIX}{schema}_{os.getpid()}"
    exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    if exists:
        conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(schema), sql.Identifier(retired)))
    conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(loading), sql.Identifier(schema)))
    if exists:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(retired)))


def _drop_stale(conn: psycopg.Connection, schema: str) -> None:
    """Side schemas left by a load that was killed midway (never the live one)."""
    for prefix in (LOADING_PREFIX, RETIRED_PREFIX):
        stale = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
                             (f"{prefix}{schema}\\_%",)).fetchall()
        for (name,) in stale:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
    conn.commit()


def connect(template: str, tier: str, service: str) -> tuple[psycopg.Connection, str]:
    """A connection to a service's database and the schema its tables are in (for checks and tests)."""
    target = PostgresTarget.resolve(template, tier, service)
    return psycopg.connect(target.conninfo, connect_timeout=10), target.schema
