"""PostgreSQL service databases: the model's tables refreshed in place with COPY, in one transaction.

The target is a SQLAlchemy URL template with ``{tier}`` and ``{service}`` placeholders: with
``{service}`` every service gets its own database (tables in ``public``); without it, one database holds
a schema per service. Missing databases and schemas are created. A refresh touches only the model's
tables, their keys and indexes (see postgres_refresh); everything else in the database is the service's.
Sessions run in UTC, so the model's moments (timestamptz) are read and written as UTC.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter

import pgpq
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql
from sqlalchemy.engine import make_url

from crm_mock.model import CATALOG, Table
from crm_mock.model.ddl import service_metadata
from crm_mock.sinks.pg_binary import binary_batch
from crm_mock.sinks.postgres_refresh import (
    RefreshPlan, materialized_views_reading, plan_refresh, read_dependents, read_live_tables,
)
from crm_mock.sinks.prefetch import prefetched
from crm_mock.sinks.sqlite import BatchSource, fk_indexes

SESSION_OPTIONS = "-c TimeZone=UTC"
VALIDATION_WORKERS = 2  # connections validating foreign keys side by side after the commit


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
            dbname=url.database or "", options=SESSION_OPTIONS)
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


def load_service_postgres(template: str, tier: str, service: str, sources: Mapping[str, BatchSource],
                          notify: Callable[[str], None] | None = None) -> dict[str, int]:
    """Replace the rows of one service's model tables with exactly ``sources``, keeping everything else.

    One transaction: our own keys and indexes are dropped, the tables truncated (never dropped, so the
    service's views, grants and ownership stay attached), the rows copied in, keys and indexes rebuilt.
    Readers wait for the commit and then see the new rows; a failure or a kill rolls everything back.
    Foreign keys are validated after the commit. ``notify`` hears what was kept or could not be done.
    """
    target = PostgresTarget.resolve(template, tier, service)
    ensure_database(target)
    metadata = service_metadata(service, list(sources), schema=target.schema)
    fk_indexes(metadata)  # attaches the model's foreign-key indexes to their tables
    notify = notify or (lambda message: None)
    counts: dict[str, int] = {}
    try:
        with psycopg.connect(target.conninfo, connect_timeout=10) as conn:
            conn.execute("SET LOCAL maintenance_work_mem = '512MB'")  # key and index builds sort whole tables
            # one refresh of a schema at a time: a second one waits rather than interleaving
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"crm_mock:{target.schema}",))
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(target.schema)))
            plan = _plan(conn, target, metadata, f"{service} database of tier {tier!r}")
            for statement in plan.before_load:
                conn.execute(statement)
            for table in metadata.sorted_tables:
                counts[table.name] = _copy(conn, target.schema, service, table.name, sources[table.name]())
            for statement in plan.after_load:
                conn.execute(statement)
            for view in plan.materialized_views:
                _refresh_materialized_view(conn, view, notify)
        for note in plan.kept:
            notify(f"kept {note}")
        _validate_foreign_keys(target, plan.foreign_keys, notify)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise DatabaseTargetError(f"{target.display}: {_first_line(exc)}; crm_mock needs CREATE on database "
                                  f"{target.database!r} and ownership of the model's tables in schema "
                                  f"{target.schema!r} (or membership in their owning role)") from None
    return counts


def _plan(conn: psycopg.Connection, target: PostgresTarget, metadata, where: str) -> RefreshPlan:
    names = [t.name for t in metadata.sorted_tables]
    tables = read_live_tables(conn, target.schema, names)
    present = [t.name for t in tables.values() if t.kind == "r"]
    if present:
        # lock first, then read: nothing of the service's can change between the check and the load
        conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
            sql.SQL(", ").join(sql.Identifier(target.schema, name) for name in present)))
        tables = read_live_tables(conn, target.schema, names)
    ours = [t.oid for t in tables.values() if t.kind == "r"]
    references = conn.execute(
        "SELECT k.conname, k.conrelid::regclass::text, c.relname FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.confrelid WHERE k.contype = 'f' AND k.confrelid = ANY(%s) "
        "AND NOT k.conrelid = ANY(%s) ORDER BY 1", (ours, ours)).fetchall() if ours else []
    return plan_refresh(target.schema, metadata, tables, read_dependents(conn, tables), references,
                        materialized_views_reading(conn, tables), where)


def _refresh_materialized_view(conn: psycopg.Connection, view: str, notify: Callable[[str], None]) -> None:
    """The service's materialised views show the new rows from the commit on; one we may not refresh
    stays as it was (a savepoint keeps the load going) and is reported."""
    try:
        with conn.transaction():
            conn.execute(sql.SQL("REFRESH MATERIALIZED VIEW {}").format(sql.SQL(view)))  # regclass text, quoted
        notify(f"refreshed materialized view {view}")
    except psycopg.Error as exc:
        notify(f"materialized view {view} was not refreshed: {_first_line(exc)}")


def _validate_foreign_keys(target: PostgresTarget, constraints: list[tuple[str, str]],
                           notify: Callable[[str], None], workers: int = VALIDATION_WORKERS) -> None:
    """VALIDATE takes a lock that lets readers and writers go on, so it runs after the commit; each table's
    constraints on a connection of their own, tables side by side (two validations of one table would
    only wait for each other)."""
    by_table: dict[str, list[str]] = {}
    for table, constraint in constraints:
        by_table.setdefault(table, []).append(constraint)
    if not by_table:
        return

    def validate(table: str) -> list[str]:
        notes = []
        with psycopg.connect(target.conninfo, connect_timeout=10, autocommit=True) as conn:
            for constraint in by_table[table]:
                try:
                    conn.execute(sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(
                        sql.Identifier(target.schema, table), sql.Identifier(constraint)))
                except psycopg.errors.ForeignKeyViolation as exc:
                    # only planted drift dangles; the constraint still guards every later write
                    notes.append(f"foreign key {constraint} on {table} left NOT VALID: {_first_line(exc)}")
        return notes

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(by_table))),
                            thread_name_prefix="crm-mock-validate") as pool:
        for notes in pool.map(validate, by_table):  # in the constraints' order, whatever finishes first
            for note in notes:
                notify(note)


def _copy(conn: psycopg.Connection, schema: str, service: str, name: str, batches: Iterable[pa.RecordBatch]) -> int:
    model = CATALOG[f"{service}.{name}"]
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in model.column_names)
    # FREEZE: the table was created or truncated in this transaction, so rows can be written already frozen
    statements = {form: sql.SQL("COPY {}.{} ({}) FROM STDIN WITH (FORMAT {}, FREEZE)").format(
        sql.Identifier(schema), sql.Identifier(name), columns, sql.SQL(form)) for form in ("binary", "csv")}
    rows = 0
    for form, run in groupby(prefetched(encoded_for_copy(model, batches)), key=itemgetter(0)):
        # each run of batches in one format is a COPY of its own
        with conn.cursor() as cursor, cursor.copy(statements[form]) as copy:
            for _, count, data in run:
                if data:
                    copy.write(data)
                rows += count
    return rows


def encoded_for_copy(model: Table, batches: Iterable[pa.RecordBatch]) -> Iterator[tuple[str, int, bytes]]:
    """(format, rows, bytes) for COPY: batches in PostgreSQL's binary form where every value has one, CSV
    where one does not; a change of format closes the run before it (the binary trailer included)."""
    stream: pgpq.ArrowToPostgresBinaryEncoder | None = None
    for batch in batches:
        if batch.schema.names != list(model.column_names):
            raise ValueError(f"{model.qualified_name}: batch columns {batch.schema.names} differ from the model")
        converted = binary_batch(model, batch)
        if converted is None:
            if stream is not None:
                yield "binary", 0, stream.finish()
                stream = None
            yield "csv", batch.num_rows, _csv(batch)
            continue
        if stream is None:
            stream = pgpq.ArrowToPostgresBinaryEncoder(converted.schema)
            yield "binary", 0, stream.write_header()
        yield "binary", batch.num_rows, stream.write_batch(converted)
    if stream is not None:
        yield "binary", 0, stream.finish()


def connect(template: str, tier: str, service: str) -> tuple[psycopg.Connection, str]:
    """A connection to a service's database and the schema its tables are in (for checks and tests)."""
    target = PostgresTarget.resolve(template, tier, service)
    return psycopg.connect(target.conninfo, connect_timeout=10), target.schema
