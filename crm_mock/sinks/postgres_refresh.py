"""What a refresh of a service's PostgreSQL schema may touch, read from the live catalog before anything changes.

crm_mock owns exactly the model's tables in the service's schema, with the keys, unique constraints,
foreign keys and indexes the model derives for them. Everything else (other tables, views and
materialised views in any schema, functions, sequences, grants, default privileges, ownership, indexes
or columns a team added to our tables) belongs to the service and survives a refresh. A refresh keeps
each table (same object, so views, grants and ownership follow) and replaces its rows; it stops before
changing anything when it could not do so without breaking something it does not own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex

from crm_mock.sinks.refusal import RefreshRefused


@dataclass
class LiveColumn:
    name: str
    type: str  # format_type() spelling
    not_null: bool
    has_default: bool
    number: int


@dataclass
class LiveConstraint:
    name: str
    kind: str  # p, u, f, c, x
    columns: tuple[str, ...]
    oid: int


@dataclass
class LiveTable:
    name: str
    oid: int
    kind: str  # pg_class.relkind
    columns: dict[str, LiveColumn] = field(default_factory=dict)
    constraints: dict[str, LiveConstraint] = field(default_factory=dict)
    indexes: set[str] = field(default_factory=set)  # standalone indexes (not backing a constraint)


@dataclass
class Dependent:
    """An object the service owns that depends on one of our tables, columns or constraints."""

    description: str  # e.g. "view reporting.open_tickets"
    table: str
    column: str | None  # None: depends on the table or a constraint as a whole
    constraint: str | None = None


@dataclass
class RefreshPlan:
    """The statements that make the live schema hold the model's tables, split around the data load."""

    existing: list[str]  # model tables already there: truncated, never dropped
    missing: list[str]  # model tables to create
    before_load: list[sql.Composable]  # drop our own keys/indexes, truncate, adapt columns, create tables
    after_load: list[sql.Composable]  # our keys, unique constraints, foreign keys (NOT VALID), indexes, comments
    foreign_keys: list[tuple[str, str]]  # (table, constraint) to validate once the data is committed
    materialized_views: list[str]  # the service's materialised views that read our tables, to refresh
    kept: list[str]  # what of the service's own we noticed on our tables and left in place


def pg_type(column: sa.Column) -> str:
    """The model column's type as PostgreSQL's format_type() spells it."""
    compiled = column.type.compile(dialect=postgresql.dialect()).lower()
    compiled = re.sub(r"^varchar\(", "character varying(", compiled)
    return compiled.replace(", ", ",")


def read_live_tables(conn: psycopg.Connection, schema: str, names: list[str]) -> dict[str, LiveTable]:
    tables = {name: LiveTable(name, oid, kind) for name, oid, kind in conn.execute(
        "SELECT c.relname, c.oid, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = ANY(%s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
        (schema, names))}
    by_oid = {t.oid: t for t in tables.values()}
    if not by_oid:
        return tables
    oids = list(by_oid)
    for oid, name, type_, not_null, has_default, number in conn.execute(
            "SELECT attrelid, attname, format_type(atttypid, atttypmod), attnotnull, atthasdef, attnum "
            "FROM pg_attribute WHERE attrelid = ANY(%s) AND attnum > 0 AND NOT attisdropped", (oids,)):
        by_oid[oid].columns[name] = LiveColumn(name, type_, not_null, has_default, number)
    for oid, name, kind, keys, constraint_oid in conn.execute(
            "SELECT conrelid, conname, contype, conkey, oid FROM pg_constraint WHERE conrelid = ANY(%s)", (oids,)):
        table = by_oid[oid]
        numbers = {c.number: c.name for c in table.columns.values()}
        table.constraints[name] = LiveConstraint(name, kind, tuple(numbers[k] for k in keys or ()), constraint_oid)
    for oid, name in conn.execute(
            "SELECT i.indrelid, c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint k "
            "WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))", (oids,)):
        by_oid[oid].indexes.add(name)
    return tables


def read_dependents(conn: psycopg.Connection, tables: dict[str, LiveTable]) -> list[Dependent]:
    """Objects outside our tables that depend on them: views and rules, functions with SQL bodies,
    policies, triggers, other tables' foreign keys."""
    by_oid = {t.oid: t for t in tables.values() if t.kind == "r"}
    if not by_oid:
        return []
    oids = list(by_oid)
    constraint_owner = {c.oid: (t, c) for t in by_oid.values() for c in t.constraints.values()}
    dependents = []
    # normal dependencies on the tables or their columns, and on our constraints (a view's GROUP BY
    # may rely on a primary key); our own constraints and indexes are ours to rebuild
    rows = conn.execute(
        "SELECT d.classid::regclass::text, d.objid, d.refclassid::regclass::text, d.refobjid, d.refobjsubid, "
        "pg_describe_object(d.classid, d.objid, d.objsubid), "
        "CASE WHEN d.classid = 'pg_rewrite'::regclass THEN (SELECT r.ev_class FROM pg_rewrite r WHERE r.oid = d.objid) END, "
        "CASE WHEN d.classid = 'pg_constraint'::regclass THEN (SELECT k.conrelid FROM pg_constraint k WHERE k.oid = d.objid) END "
        "FROM pg_depend d WHERE d.deptype = 'n' AND ("
        "(d.refclassid = 'pg_class'::regclass AND d.refobjid = ANY(%s)) OR "
        "(d.refclassid = 'pg_constraint'::regclass AND d.refobjid = ANY(%s)))",
        (oids, list(constraint_owner))).fetchall()
    for classid, objid, refclass, refobjid, refsub, description, view_oid, constraint_table in rows:
        if classid == "pg_constraint" and constraint_table in by_oid:
            continue  # one of our tables' constraints
        if classid == "pg_rewrite" and view_oid in by_oid:
            continue  # a rule on one of our own tables
        if refclass == "pg_constraint":
            table, constraint = constraint_owner[refobjid]
            what = _describe(conn, classid, objid, view_oid, description)
            dependents.append(Dependent(what, table.name, None, constraint.name))
            continue
        table = by_oid[refobjid]
        column = next((c.name for c in table.columns.values() if c.number == refsub), None) if refsub else None
        dependents.append(Dependent(_describe(conn, classid, objid, view_oid, description), table.name, column))
    return dependents


def _describe(conn: psycopg.Connection, classid: str, objid: int, view_oid: int | None, fallback: str) -> str:
    if view_oid:
        name, kind = conn.execute("SELECT %s::regclass::text, relkind FROM pg_class WHERE oid = %s",
                                  (view_oid, view_oid)).fetchone()
        return {"v": "view", "m": "materialized view"}.get(kind, "rule on") + f" {name}"
    return fallback


def materialized_views_reading(conn: psycopg.Connection, tables: dict[str, LiveTable]) -> list[str]:
    """The materialised views that read our tables, directly or through views, in refresh order."""
    oids = [t.oid for t in tables.values() if t.kind == "r"]
    if not oids:
        return []
    rows = conn.execute(
        "WITH RECURSIVE readers(oid, depth) AS ("
        " SELECT DISTINCT r.ev_class, 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid"
        " WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass"
        " AND d.refobjid = ANY(%s) AND r.ev_class <> d.refobjid"
        " UNION"
        " SELECT DISTINCT r.ev_class, readers.depth + 1 FROM readers JOIN pg_depend d ON d.refobjid = readers.oid"
        " AND d.refclassid = 'pg_class'::regclass AND d.classid = 'pg_rewrite'::regclass"
        " JOIN pg_rewrite r ON r.oid = d.objid WHERE r.ev_class <> readers.oid AND readers.depth < 32)"
        " SELECT c.oid::regclass::text, MAX(readers.depth) FROM readers JOIN pg_class c ON c.oid = readers.oid"
        " WHERE c.relkind = 'm' GROUP BY c.oid ORDER BY MAX(readers.depth), 1", (oids,)).fetchall()
    return [name for name, _ in rows]


def plan_refresh(schema: str, metadata: sa.MetaData, live: dict[str, LiveTable], dependents: list[Dependent],
                 foreign_references: list[tuple[str, str, str]], materialized_views: list[str],
                 where: str) -> RefreshPlan:
    """Decide every statement of the refresh, or refuse with every problem found (nothing changed yet).

    ``metadata`` is the model's DDL for the tables being loaded, in ``schema``; ``foreign_references``
    are (constraint, referencing table, our table) for other tables' foreign keys to ours.
    """
    problems: list[str] = []
    kept: list[str] = []
    before: list[sql.Composable] = []
    after: list[sql.Composable] = []
    validate: list[tuple[str, str]] = []
    dialect = postgresql.dialect()
    by_table: dict[str, list[Dependent]] = {}
    for d in dependents:
        by_table.setdefault(d.table, []).append(d)
    for constraint, referencing, ours in foreign_references:
        problems.append(f"foreign key {constraint} on {referencing} references {schema}.{ours}: replacing "
                        f"{ours}'s rows would break it (crm_mock never cascades); drop or defer that constraint first")

    existing, missing = [], []
    drop_foreign_keys: list[sql.Composable] = []  # first: they point at the keys dropped next
    drop_keys: list[sql.Composable] = []
    drop_indexes: list[sql.Composable] = []
    adapt: list[sql.Composable] = []
    for table in metadata.sorted_tables:
        name = table.name
        ident = sql.Identifier(schema, name)
        current = live.get(name)
        model_indexes = {ix.name: ix for ix in table.indexes}
        if current is None:
            missing.append(name)
            before.append(sql.SQL(_create_bare(table, dialect)))
            after.extend(_keys(table, ident, table.constraints))
            after.extend(sql.SQL(str(CreateIndex(ix).compile(dialect=dialect))) for ix in model_indexes.values())
            after.extend(_comments(table, ident))  # a new table is described too, not only a refreshed one
            validate.extend((name, fk.name) for fk in table.foreign_key_constraints)
            continue
        if current.kind != "r":
            kind = {"v": "a view", "m": "a materialized view", "p": "a partitioned table", "f": "a foreign table"}
            problems.append(f"{schema}.{name} is {kind.get(current.kind, current.kind)}, where crm_mock loads a table")
            continue
        existing.append(name)
        on_table = by_table.get(name, [])
        # our constraints: rebuilt after the data (fast path), unless the service built on one of them
        rebuilt = []
        for constraint in table.constraints:
            live_constraint = current.constraints.get(constraint.name)
            wanted = tuple(c.name for c in constraint.columns)
            if isinstance(constraint, sa.PrimaryKeyConstraint):
                other_keys = [c for c in current.constraints.values() if c.kind == "p" and c.name != constraint.name]
                if other_keys and other_keys[0].columns != wanted:
                    problems.append(f"{schema}.{name} has primary key {other_keys[0].name} on "
                                    f"({', '.join(other_keys[0].columns)}); the model's is ({', '.join(wanted)})")
                    continue
                if other_keys:
                    kept.append(f"primary key {other_keys[0].name} of {name} (same columns as the model's)")
                    continue
            users = [d for d in on_table if d.constraint == constraint.name]
            if live_constraint is not None and users:
                kept.append(f"{constraint.name} on {name} left in place during the load: "
                            + ", ".join(d.description for d in users) + " depends on it")
                if isinstance(constraint, sa.ForeignKeyConstraint):
                    validate.append((name, constraint.name))
                continue
            if live_constraint is not None:
                drops = drop_foreign_keys if isinstance(constraint, sa.ForeignKeyConstraint) else drop_keys
                drops.append(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(ident, sql.Identifier(constraint.name)))
            rebuilt.append(constraint)
            if isinstance(constraint, sa.ForeignKeyConstraint):
                validate.append((name, constraint.name))
        after.extend(_keys(table, ident, rebuilt))
        for index_name, index in model_indexes.items():
            if index_name in current.indexes:
                drop_indexes.append(sql.SQL("DROP INDEX {}").format(sql.Identifier(schema, index_name)))
            after.append(sql.SQL(str(CreateIndex(index).compile(dialect=dialect))))
        kept.extend(f"index {i} on {name}" for i in sorted(current.indexes - set(model_indexes)))
        kept.extend(f"{c.name} on {name}" for c in current.constraints.values()
                    if c.name not in {k.name for k in table.constraints} and c.kind != "p")
        # columns: the model's are added or adapted (the table is empty by then); the service's stay
        for column in table.columns:
            live_column = current.columns.get(column.name)
            col = sql.Identifier(column.name)
            wanted_type = pg_type(column)
            if live_column is None:
                adapt.append(sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(ident, col, sql.SQL(wanted_type)))
            elif live_column.type != wanted_type:
                users = [d.description for d in on_table if d.column == column.name]
                if users:
                    problems.append(f"{schema}.{name}.{column.name} must change type from {live_column.type} to "
                                    f"{wanted_type}, but {', '.join(sorted(set(users)))} depends on it")
                    continue
                adapt.append(sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE {} USING NULL").format(
                    ident, col, sql.SQL(wanted_type)))
            if not column.nullable and (live_column is None or not live_column.not_null):
                adapt.append(sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET NOT NULL").format(ident, col))
            elif column.nullable and live_column is not None and live_column.not_null:
                adapt.append(sql.SQL("ALTER TABLE {} ALTER COLUMN {} DROP NOT NULL").format(ident, col))
        for extra in current.columns.values():
            if extra.name in table.c:
                continue
            if extra.not_null and not extra.has_default:
                problems.append(f"{schema}.{name}.{extra.name} is not part of the model and is NOT NULL without a "
                                f"default: crm_mock's rows cannot fill it; give it a default or make it nullable")
            else:
                kept.append(f"column {name}.{extra.name} (not in the model: loaded as its default)")
        after.extend(_comments(table, ident))

    if problems:
        raise RefreshRefused(where, problems)
    # one TRUNCATE of all our tables: the foreign keys among them need no cascading
    truncate = [sql.SQL("TRUNCATE TABLE {}").format(sql.SQL(", ").join(sql.Identifier(schema, n) for n in existing))
                ] if existing else []
    before = [*drop_foreign_keys, *drop_keys, *drop_indexes, *truncate, *adapt, *before]
    kept.extend(f"{d.description} (reads {d.table}{'.' + d.column if d.column else ''})"
                for d in dependents if d.constraint is None)
    return RefreshPlan(existing, missing, before, after, validate, materialized_views, kept)


def _create_bare(table: sa.Table, dialect) -> str:
    """CREATE TABLE with columns only: keys and indexes come after the data, COPY into bare tables is fastest."""
    columns = ",\n\t".join(
        f'"{c.name}" {c.type.compile(dialect=dialect)}' + ("" if c.nullable else " NOT NULL") for c in table.columns)
    return f'CREATE TABLE "{table.schema}"."{table.name}" (\n\t{columns}\n)'


def _keys(table: sa.Table, ident: sql.Composable, constraints) -> list[sql.Composable]:
    statements = []
    # primary and unique keys first: foreign keys of the same service point at them
    ordered = sorted(constraints, key=lambda c: isinstance(c, sa.ForeignKeyConstraint))
    for constraint in ordered:
        columns = sql.SQL(", ").join(sql.Identifier(c.name) for c in constraint.columns)
        name = sql.Identifier(constraint.name)
        if isinstance(constraint, sa.PrimaryKeyConstraint):
            statements.append(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY ({})").format(ident, name, columns))
        elif isinstance(constraint, sa.UniqueConstraint):
            statements.append(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} UNIQUE ({})").format(ident, name, columns))
        elif isinstance(constraint, sa.ForeignKeyConstraint):
            target = constraint.elements[0].column.table
            targets = sql.SQL(", ").join(sql.Identifier(e.column.name) for e in constraint.elements)
            # NOT VALID inside the load: enforced for every later write; the loaded rows are validated
            # after the commit, without blocking readers
            statements.append(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) NOT VALID")
                              .format(ident, name, columns, sql.Identifier(target.schema, target.name), targets))
    return statements


def _comments(table: sa.Table, ident: sql.Composable) -> list[sql.Composable]:
    statements = [sql.SQL("COMMENT ON TABLE {} IS {}").format(ident, sql.Literal(table.comment))]
    for column in table.columns:
        statements.append(sql.SQL("COMMENT ON COLUMN {}.{} IS {}").format(
            ident, sql.Identifier(column.name), sql.Literal(column.comment)))
    return statements
