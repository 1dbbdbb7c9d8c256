"""A service's live schema, read with SQLAlchemy's inspector: the tables a mapping names, their columns,
keys, unique constraints, foreign keys (theirs and other tables' into them) and triggers."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


@dataclass(frozen=True)
class LiveType:
    """What a column's declared type can hold, whatever the dialect calls it."""

    family: str  # uuid, string, integer, numeric, float, boolean, date, datetime, binary, other
    text: str  # as the database declares it, for messages
    length: int | None = None  # strings and binaries
    precision: int | None = None  # numeric
    scale: int | None = None
    timezone: bool = False  # datetime
    labels: tuple[str, ...] | None = None  # enum types: the only strings the column takes
    bits: int | None = None  # integers: 16, 32 or 64

    def integer_range(self) -> tuple[int, int]:
        bits = self.bits or 64
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def classify(type_: sa.types.TypeEngine, dialect: sa.Dialect) -> LiveType:
    try:
        text = type_.compile(dialect=dialect)
    except Exception:  # noqa: BLE001 - a type the dialect cannot spell back: describe it by class
        text = type(type_).__name__
    if isinstance(type_, (sa.Uuid, postgresql.UUID)) and not isinstance(type_, sa.String):
        return LiveType("uuid", text)
    if isinstance(type_, sa.Enum):
        return LiveType("string", text, labels=tuple(type_.enums), length=type_.length)
    if isinstance(type_, sa.Boolean):
        return LiveType("boolean", text)
    if isinstance(type_, sa.String):  # CHAR, VARCHAR, TEXT
        return LiveType("string", text, length=type_.length)
    if isinstance(type_, sa.Integer):
        bits = 16 if isinstance(type_, sa.SmallInteger) else 64 if isinstance(type_, sa.BigInteger) else 32
        if dialect.name == "sqlite":
            bits = 64  # every SQLite integer is 64-bit, whatever the declaration says
        return LiveType("integer", text, bits=bits)
    if isinstance(type_, (sa.Float, postgresql.DOUBLE_PRECISION, postgresql.REAL)):
        return LiveType("float", text)
    if isinstance(type_, sa.Numeric):
        return LiveType("numeric", text, precision=type_.precision, scale=type_.scale)
    if isinstance(type_, sa.DateTime):
        return LiveType("datetime", text, timezone=bool(type_.timezone))
    if isinstance(type_, sa.Date):
        return LiveType("date", text)
    if isinstance(type_, (sa.LargeBinary, postgresql.BYTEA)):
        return LiveType("binary", text, length=getattr(type_, "length", None))
    return LiveType("other", text)


@dataclass(frozen=True)
class LiveColumn:
    name: str
    type: LiveType
    nullable: bool
    has_default: bool  # a server default, identity or serial: the database fills it when crm_mock does not


@dataclass(frozen=True)
class LiveForeignKey:
    name: str | None
    table: tuple[str, str]  # (schema, table) holding the constraint
    columns: tuple[str, ...]
    referred: tuple[str, str]
    referred_columns: tuple[str, ...]
    ondelete: str | None
    deferrable: bool


@dataclass
class LiveTable:
    schema: str
    name: str
    columns: dict[str, LiveColumn]
    primary_key: tuple[str, ...]
    uniques: list[tuple[str, tuple[str, ...]]]  # (constraint or index name, columns)
    foreign_keys: list[LiveForeignKey]
    triggers: list[str] = field(default_factory=list)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class LiveSchema:
    dialect: str
    default_schema: str
    tables: dict[tuple[str, str], LiveTable]
    names: dict[str, list[str]]  # schema -> every table and view name in it (for suggestions and drafts)
    referencing: dict[tuple[str, str], list[LiveForeignKey]]  # table -> other tables' foreign keys into it

    def table(self, schema: str | None, name: str) -> LiveTable | None:
        return self.tables.get((schema or self.default_schema, name))


def default_schema(connection: sa.Connection) -> str:
    return "main" if connection.dialect.name == "sqlite" else connection.execute(sa.text("SELECT current_schema()")).scalar_one()


def read_live(connection: sa.Connection, schemas: set[str | None] | None = None) -> LiveSchema:
    """Every table of the given schemas (None: the connection's default schema), with what mappings need."""
    dialect = connection.dialect
    default = default_schema(connection)
    inspector = sa.inspect(connection)
    # SQLite has one schema: a mapping written for PostgreSQL names its schema, which SQLite ignores
    wanted = [default] if dialect.name == "sqlite" else sorted({s or default for s in (schemas or {None})})
    tables: dict[tuple[str, str], LiveTable] = {}
    names: dict[str, list[str]] = {}
    referencing: dict[tuple[str, str], list[LiveForeignKey]] = {}
    for schema in wanted:
        arg = None if schema == default else schema
        table_names = inspector.get_table_names(schema=arg)
        names[schema] = sorted([*table_names, *inspector.get_view_names(schema=arg)])
        if not table_names:
            continue
        columns = inspector.get_multi_columns(schema=arg)
        keys = inspector.get_multi_pk_constraint(schema=arg)
        uniques = inspector.get_multi_unique_constraints(schema=arg)
        indexes = inspector.get_multi_indexes(schema=arg)
        foreign = inspector.get_multi_foreign_keys(schema=arg)
        for (_, name), described in columns.items():
            live_columns = {c["name"]: LiveColumn(
                c["name"], classify(c["type"], dialect), bool(c["nullable"]),
                c.get("default") is not None or bool(c.get("identity")) or c.get("autoincrement") is True)
                for c in described}
            primary = tuple((keys.get((arg, name)) or {}).get("constrained_columns") or ())
            if dialect.name == "sqlite" and len(primary) == 1 and \
                    live_columns[primary[0]].type.text.upper() == "INTEGER":  # the rowid: SQLite numbers it
                live_columns[primary[0]] = LiveColumn(primary[0], live_columns[primary[0]].type, False, True)
            unique_sets: dict[tuple[str, ...], str] = {}
            for u in uniques.get((arg, name), []):
                unique_sets.setdefault(tuple(u["column_names"]), u["name"] or "unique")
            for ix in indexes.get((arg, name), []):
                if ix.get("unique") and all(ix["column_names"]) and not ix.get("dialect_options", {}).get(
                        "postgresql_where"):
                    unique_sets.setdefault(tuple(ix["column_names"]), ix["name"])
            if dialect.name == "sqlite":  # the inspector misses UNIQUE written on a column itself
                for ix_name, columns_ in _sqlite_unique_indexes(connection, name):
                    unique_sets.setdefault(columns_, ix_name)
            fks = [LiveForeignKey(
                fk["name"], (schema, name), tuple(fk["constrained_columns"]),
                (fk["referred_schema"] or schema, fk["referred_table"]), tuple(fk["referred_columns"]),
                (fk.get("options") or {}).get("ondelete"), bool((fk.get("options") or {}).get("deferrable")))
                for fk in foreign.get((arg, name), [])]
            tables[(schema, name)] = LiveTable(schema, name, live_columns, primary,
                                               [(n, cols) for cols, n in unique_sets.items()], fks)
            for fk in fks:
                referencing.setdefault(fk.referred, []).append(fk)
    _read_triggers(connection, tables)
    return LiveSchema(dialect.name, default, tables, names, referencing)


def _sqlite_unique_indexes(connection: sa.Connection, table: str) -> list[tuple[str, tuple[str, ...]]]:
    quoted = table.replace('"', '""')
    out = []
    for row in connection.exec_driver_sql(f'PRAGMA index_list("{quoted}")').fetchall():
        name, unique, origin, partial = row[1], row[2], row[3], row[4]
        if unique and origin != "pk" and not partial:
            info = connection.exec_driver_sql(f'PRAGMA index_info("{name.replace(chr(34), chr(34) * 2)}")').fetchall()
            if all(r[2] for r in info):
                out.append((name, tuple(r[2] for r in info)))
    return out


def _read_triggers(connection: sa.Connection, tables: dict[tuple[str, str], LiveTable]) -> None:
    if connection.dialect.name == "sqlite":
        rows = connection.execute(sa.text("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'"))
        for name, table in rows:
            if ("main", table) in tables:
                tables[("main", table)].triggers.append(name)
        return
    rows = connection.execute(sa.text(
        "SELECT t.tgname, n.nspname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal ORDER BY 1"))
    for name, schema, table in rows:
        if (schema, table) in tables:
            tables[(schema, table)].triggers.append(name)
