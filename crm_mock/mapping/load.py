"""Loads through a mapping: the model's rows written into the service's own tables.

Those tables are the service's, so a mapped load changes rows only, never structure: no DROP, ALTER,
TRUNCATE, no constraint or index dropped, no trigger disabled, nothing cascaded. What a load replaces is
the table's crm_mock rows: every row, or every row but those ``keep_rows`` marks as the service's own.
One transaction per service: the old rows are deleted, the new ones copied in (COPY on PostgreSQL), and
everything is checked before the commit: the mapping against the live schema first, then each batch as it
is converted (lengths, ranges, nulls, the service's unique constraints), then the service's own
foreign keys (at the commit on PostgreSQL, where Django's are deferred; with foreign_key_check on SQLite).
Any problem rolls everything back and is reported with the others (`RefreshRefused`): readers never see a
partial load, and re-running gives the same rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from pathlib import Path

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.pool import NullPool

from crm_mock.mapping.convert import sqlite_rows, target_batch
from crm_mock.mapping.datacheck import DataChecker
from crm_mock.mapping.live import LiveForeignKey, read_live
from crm_mock.mapping.resolve import MappedService, MappedTable, resolve
from crm_mock.mapping.spec import TargetMapping
from crm_mock.sinks.postgres import _csv
from crm_mock.sinks.prefetch import prefetched
from crm_mock.sinks.refusal import RefreshRefused
from crm_mock.sinks.sqlite import BatchSource

Notify = Callable[[str], None]
_CHANGES_ROWS = {"CASCADE", "SET NULL", "SET DEFAULT"}


def load_order(service: MappedService) -> list[MappedTable]:
    """Mapped tables with the ones others reference first (by the service's own foreign keys)."""
    by_live = {(t.schema, t.name): t for t in service.tables.values()}
    ordered: list[MappedTable] = []

    def visit(table: MappedTable, path: tuple) -> None:
        if table in ordered or table.qualified in path:
            return
        for fk in table.live.foreign_keys:
            parent = by_live.get(fk.referred)
            if parent is not None and parent is not table:
                visit(parent, path + (table.qualified,))
        ordered.append(table)

    for table in sorted(service.tables.values(), key=lambda t: t.model.name):
        visit(table, ())
    return ordered


def _not_kept(table: MappedTable) -> str:
    return f" WHERE ({table.keep_rows}) IS NOT TRUE" if table.keep_rows else ""


def _kept_count(execute, table: MappedTable, name: str) -> int | None:
    if not table.keep_rows:
        return None
    return execute(f"SELECT COUNT(*) FROM {name} WHERE ({table.keep_rows}) IS TRUE")


def _referencing(service: MappedService) -> list[tuple[MappedTable, LiveForeignKey]]:
    """The service's other tables' foreign keys into mapped tables."""
    mapped = {(t.schema, t.name) for t in service.tables.values()}
    return [(t, fk) for t in service.tables.values() for fk in service.live.referencing.get((t.schema, t.name), [])
            if fk.table not in mapped]


def _quoted(schema: str, name: str, dialect: str) -> str:
    q = lambda s: '"' + s.replace('"', '""') + '"'
    return q(name) if dialect == "sqlite" else f"{q(schema)}.{q(name)}"


def _summary(exc: BaseException) -> str:
    diag = getattr(exc, "diag", None)
    if diag is not None and diag.message_primary:
        return diag.message_primary + (f" ({diag.message_detail})" if diag.message_detail else "")
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load_postgres(engine: sa.Engine, mapping: TargetMapping, service: str, where: str,
                  sources: Mapping[str, BatchSource], notify: Notify | None = None) -> dict[str, int]:
    """Replace the crm_mock rows of ``service``'s mapped tables in PostgreSQL, in one transaction."""
    notify = notify or (lambda message: None)
    spec = mapping.services[service]
    with engine.connect() as conn:
        raw: psycopg.Connection = conn.connection.driver_connection
        raw.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"crm_mock:mapped:{service}",))
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
        targets = sorted({(t.schema_ or spec.schema_ or schema, t.table) for t in spec.tables.values()})
        present = [t for t in targets if raw.execute("SELECT to_regclass(%s)", (f'"{t[0]}"."{t[1]}"',)).fetchone()[0]]
        if present:  # readers go on; writers wait until the commit; then the catalog is read
            raw.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(
                sql.SQL(", ").join(sql.Identifier(*t) for t in present)))
        live = read_live(conn, {t[0] for t in targets})
        resolved, problems = resolve(mapping, service, live)
        if problems:
            raise RefreshRefused(where, problems)
        problems = _postgres_referencing(raw, resolved)
        if problems:
            raise RefreshRefused(where, problems)
        checked_here = _skip_row_triggers(raw, resolved)
        if not checked_here:
            raw.execute("SET CONSTRAINTS ALL DEFERRED")
        order = load_order(resolved)
        kept = {}
        for table in reversed(order):
            name = _quoted(table.schema, table.name, "postgresql")
            kept[table.qualified] = _kept_count(lambda q: raw.execute(q).fetchone()[0], table, name)
            raw.execute(f"DELETE FROM {name}{_not_kept(table)}")
        counts, checker, failures = {}, DataChecker(), []
        for table in order:
            counts[table.model.name] = _copy(raw, table, sources[table.model.name], checker, failures)
        problems = checker.problems() + failures
        if not failures:
            problems += _kept_problems(lambda q: raw.execute(q).fetchone()[0], order, kept, "postgresql")
        if not failures and checked_here:
            problems += _verify_foreign_keys(raw, resolved)
        if problems:
            raise RefreshRefused(where, problems)
        try:
            conn.commit()  # deferred foreign keys are checked here, unless verified above
        except sa.exc.DBAPIError as exc:
            raise RefreshRefused(where, [f"the service's constraints refused the rows: {_summary(exc.orig)}"]) from None
        _vacuum(raw, order, notify)
    _report(resolved, order, notify)
    return counts


def _vacuum(raw: psycopg.Connection, order: list[MappedTable], notify: Notify) -> None:
    """The replaced rows' space freed and the statistics renewed, as autovacuum would later: the next refresh
    does not write into tables twice their size. Readers and writers go on meanwhile; a role that may not
    vacuum a table gets a warning from the server and the load is unaffected."""
    raw.autocommit = True
    try:
        raw.execute(sql.SQL("VACUUM (ANALYZE) {}").format(
            sql.SQL(", ").join(sql.Identifier(t.schema, t.name) for t in order)))
    except psycopg.Error as exc:
        notify(f"the mapped tables were not vacuumed: {_summary(exc)}")
    finally:
        raw.autocommit = False


def _skip_row_triggers(raw: psycopg.Connection, service: MappedService) -> bool:
    """Whether this load verifies foreign keys itself, set-wise before the commit, instead of the database
    checking them row by row (the per-row checks cost more than the COPY). Only where the service has no
    trigger or rule of its own on the mapped tables (they would not run) and the role may set
    session_replication_role (a superuser, or GRANT SET ON PARAMETER session_replication_role)."""
    tables = list(service.tables.values())
    if any(t.live.triggers for t in tables):
        return False
    names = [f'"{t.schema}"."{t.name}"' for t in tables]
    rules = raw.execute("SELECT COUNT(*) FROM pg_rewrite WHERE ev_class = ANY(%s::regclass[]) AND rulename <> '_RETURN'",
                        (names,)).fetchone()[0]
    if rules:
        return False
    try:
        with raw.transaction():  # a savepoint: refused, the load goes on with the database's checks
            raw.execute("SET LOCAL session_replication_role = replica")
    except psycopg.errors.InsufficientPrivilege:
        return False
    mapped = {(t.schema, t.name) for t in tables}
    parents = sorted({fk.referred for t in tables for fk in t.live.foreign_keys} - mapped)
    if parents:  # nobody deletes a row the new rows reference until they are verified and committed
        raw.execute(sql.SQL("LOCK TABLE {} IN SHARE MODE").format(
            sql.SQL(", ").join(sql.Identifier(*p) for p in parents)))
    return True


def _verify_foreign_keys(raw: psycopg.Connection, service: MappedService) -> list[str]:
    """Every foreign key of the mapped tables, and of the service's tables into them, over the whole tables."""
    mapped = {(t.schema, t.name) for t in service.tables.values()}
    keys = [fk for t in service.tables.values() for fk in t.live.foreign_keys]
    keys += [fk for t in service.tables.values() for fk in service.live.referencing.get((t.schema, t.name), [])
             if fk.table not in mapped]
    problems = []
    for fk in keys:
        child, parent = _quoted(*fk.table, "postgresql"), _quoted(*fk.referred, "postgresql")
        present = " AND ".join(f'c."{c}" IS NOT NULL' for c in fk.columns)
        joined = " AND ".join(f'p."{p}" = c."{c}"' for c, p in zip(fk.columns, fk.referred_columns))
        count, example = raw.execute(
            f"SELECT COUNT(*), MIN(CONCAT_WS(', ', {', '.join(f'c.{chr(34)}{c}{chr(34)}' for c in fk.columns)})) "
            f"FROM {child} c WHERE {present} AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {joined})").fetchone()
        if count:
            own = "" if fk.table in mapped else "the service's "
            problems.append(f"{count} row(s) of {own}{fk.table[0]}.{fk.table[1]} reference no row of "
                            f"{fk.referred[0]}.{fk.referred[1]} through {fk.name} (e.g. {example})")
    return problems


def _copy(raw: psycopg.Connection, table: MappedTable, source: BatchSource, checker: DataChecker,
          failures: list[str]) -> int:
    """COPY the table's rows, checking each batch first; after a problem the rest is only checked."""
    checker.start(table)
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
        sql.Identifier(table.schema, table.name), sql.SQL(", ").join(sql.Identifier(c) for c in table.target_columns))

    def encoded() -> Iterator[tuple[int, bytes | None]]:
        for batch in source():
            converted = target_batch(table, batch, "postgresql")
            fits = checker.observe(table, converted)
            yield batch.num_rows, _csv(converted) if fits else None

    rows = 0
    if failures:  # the transaction is already lost: only check
        for count, _ in encoded():
            rows += count
        checker.finish(table)
        return rows
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for count, data in prefetched(encoded()):
                rows += count
                if data is not None:
                    copy.write(data)
    except psycopg.Error as exc:
        failures.append(f"{table.qualified}: {_summary(exc)}")
    checker.finish(table)
    return rows


def _postgres_referencing(raw: psycopg.Connection, service: MappedService) -> list[str]:
    problems = []
    for table, fk in _referencing(service):
        columns = " AND ".join(f'r."{c}" IS NOT NULL' for c in fk.columns)
        join = ""
        if table.keep_rows:  # rows pointing at the service's own rows are not affected
            on = " AND ".join(f'r."{c}" = t."{p}"' for c, p in zip(fk.columns, fk.referred_columns))
            join = f" JOIN {_quoted(table.schema, table.name, 'postgresql')} t ON {on} AND ({table.keep_rows}) IS NOT TRUE"
        count = raw.execute(f"SELECT COUNT(*) FROM {_quoted(*fk.table, 'postgresql')} r{join} WHERE {columns}").fetchone()[0]
        if not count:
            continue
        referencing = f"{fk.table[0]}.{fk.table[1]}"
        if (fk.ondelete or "").upper() in _CHANGES_ROWS:
            problems.append(f"{count} row(s) of the service's {referencing} reference {table.qualified} through "
                            f"{fk.name} ON DELETE {fk.ondelete}: replacing the rows would change theirs "
                            "(crm_mock never cascades)")
        elif not fk.deferrable or (fk.ondelete or "").upper() == "RESTRICT":
            problems.append(f"{count} row(s) of the service's {referencing} reference {table.qualified} through "
                            f"{fk.name}, checked at once: the rows cannot be replaced (make it DEFERRABLE, or mark "
                            "the rows to keep with keep_rows)")
    return problems


def _kept_problems(count, order: list[MappedTable], kept: dict, dialect: str) -> list[str]:
    problems = []
    for table in order:
        before = kept.get(table.qualified)
        if before is None:
            continue
        after = _kept_count(count, table, _quoted(table.schema, table.name, dialect))
        if after != before:
            problems.append(f"{table.qualified}: keep_rows ({table.keep_rows}) is true for {after - before} of "
                            "crm_mock's rows: they would be taken for the service's own; make it false for them "
                            "(a fill can mark crm_mock's rows)")
    return problems


def _report(service: MappedService, order: list[MappedTable], notify: Notify) -> None:
    for table in order:
        unwritten = sorted(set(table.live.columns) - set(table.target_columns))
        if unwritten:
            notify(f"kept {table.qualified}'s own columns {', '.join(unwritten)} at their defaults")
        for trigger in table.live.triggers:
            notify(f"the service's trigger {trigger} on {table.qualified} ran for the loaded rows")
        if table.keep_rows:
            notify(f"kept the service's own rows of {table.qualified} ({table.keep_rows})")
    for table, fk in _referencing(service):
        notify(f"kept {fk.table[0]}.{fk.table[1]} (its {fk.name} references {table.qualified}; still satisfied)")


def load_sqlite(path: Path, mapping: TargetMapping, service: str, sources: Mapping[str, BatchSource],
                notify: Notify | None = None) -> dict[str, int]:
    """Replace the crm_mock rows of ``service``'s mapped tables in the service's SQLite file, in one
    transaction (foreign keys are verified before the commit, never enforced by cascading deletes)."""
    notify = notify or (lambda message: None)
    where = str(path)
    if not path.is_file():
        raise RefreshRefused(where, [f"{path} does not exist: a mapped load writes into the service's own database"])
    engine = sa.create_engine(f"sqlite+pysqlite:///file:{path}?mode=ro&uri=true", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
            live = read_live(conn)
    finally:
        engine.dispose()
    resolved, problems = resolve(mapping, service, live)
    if problems:
        raise RefreshRefused(where, problems)
    order = load_order(resolved)
    # isolation_level=None: the transaction is ours; foreign keys stay off so no delete can cascade
    with closing(sqlite3.connect(path, isolation_level=None, timeout=60)) as conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("BEGIN IMMEDIATE")
        try:
            counts = _sqlite_write(conn, resolved, order, sources, version, where)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    _report(resolved, order, notify)
    return counts


def _sqlite_write(conn: sqlite3.Connection, service: MappedService, order: list[MappedTable],
                  sources: Mapping[str, BatchSource], version: int, where: str) -> dict[str, int]:
    if conn.execute("PRAGMA schema_version").fetchone()[0] != version:
        raise RefreshRefused(where, ["the service's schema changed while the load was being checked; run it again"])
    count = lambda q: conn.execute(q).fetchone()[0]
    kept = {}
    for table in reversed(order):
        name = _quoted(table.schema, table.name, "sqlite")
        kept[table.qualified] = _kept_count(count, table, name)
        conn.execute(f"DELETE FROM {name}{_not_kept(table)}")
    counts, checker, failures = {}, DataChecker(), []
    for table in order:
        checker.start(table)
        columns = ", ".join(f'"{c}"' for c in table.target_columns)
        statement = (f"INSERT INTO {_quoted(table.schema, table.name, 'sqlite')} ({columns}) "
                     f"VALUES ({', '.join('?' * len(table.target_columns))})")
        rows = 0
        for batch in sources[table.model.name]():
            converted = target_batch(table, batch, "sqlite")
            rows += batch.num_rows
            if checker.observe(table, converted) and not failures:
                try:
                    conn.executemany(statement, sqlite_rows(converted))
                except sqlite3.Error as exc:
                    failures.append(f"{table.qualified}: {exc}")
        checker.finish(table)
        counts[table.model.name] = rows
    problems = checker.problems() + failures
    if not failures:
        problems += _kept_problems(count, order, kept, "sqlite") + _sqlite_foreign_keys(conn, service)
    if problems:
        raise RefreshRefused(where, problems)
    return counts


def _sqlite_foreign_keys(conn: sqlite3.Connection, service: MappedService) -> list[str]:
    """Every foreign key of the mapped tables and of the service's tables that reference them."""
    tables = {t.name for t in service.tables.values()} | {fk.table[1] for _, fk in _referencing(service)}
    problems = []
    for name in sorted(tables):
        violations: dict[str, list[int]] = {}
        for _, rowid, parent, _ in conn.execute(f'PRAGMA foreign_key_check("{name}")'):
            violations.setdefault(parent, []).append(rowid)
        for parent, rowids in sorted(violations.items()):
            own = "" if name in {t.name for t in service.tables.values()} else "the service's "
            problems.append(f"{len(rowids)} row(s) of {own}{name} would reference missing rows of {parent} "
                            f"(rowid {', '.join(map(str, rowids[:3]))}{', …' if len(rowids) > 3 else ''})")
    return problems

