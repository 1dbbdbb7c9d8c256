"""Physical schemas derived from the data model: SQLAlchemy DDL per service and Arrow schemas per table."""

from __future__ import annotations

import enum

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from crm_mock.model.catalog import CATALOG
from crm_mock.model.schema import MONEY_PRECISION, MONEY_SCALE, Column, Kind, Table


class UuidStorage(enum.StrEnum):
    """How SQLite stores UUID columns (PostgreSQL always uses its native ``uuid``).

    The three spellings sort alike (hex digits are in ASCII order, and bytes compare as their hex), so
    key-ordered reads agree across databases stored differently.
    """

    TEXT = "text"  # canonical 36-character text: readable
    HEX = "hex"  # 32 hex digits, no dashes: what Django's UUIDField and SQLAlchemy's Uuid read on SQLite
    BLOB = "blob"  # the 16 bytes


# the declared SQLite types; readers recognise a file's storage by them
SQLITE_UUID_TYPES: dict[UuidStorage, sa.types.TypeEngine] = {
    UuidStorage.TEXT: sa.String(36),
    UuidStorage.HEX: sa.CHAR(32),
    UuidStorage.BLOB: sa.LargeBinary(16),
}


def sql_type(column: Column, uuid_storage: UuidStorage = UuidStorage.TEXT) -> sa.types.TypeEngine:
    match column.kind:
        case Kind.UUID:
            return SQLITE_UUID_TYPES[uuid_storage].with_variant(postgresql.UUID(as_uuid=False), "postgresql")
        case Kind.TEXT | Kind.CODE:
            return sa.String(column.max_length)
        case Kind.INTEGER:
            return sa.BigInteger()
        case Kind.MONEY:
            return sa.Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=False)
        case Kind.DATE:
            return sa.Date()
        case Kind.TIMESTAMP:
            # PostgreSQL: timestamptz (moments in UTC); SQLite: ISO text in UTC (see sinks/values.py)
            return sa.DateTime(timezone=True)
    raise AssertionError(column.kind)


def arrow_type(column: Column) -> pa.DataType:
    match column.kind:
        case Kind.UUID | Kind.TEXT | Kind.CODE:
            return pa.string()
        case Kind.INTEGER:
            return pa.int64()
        case Kind.MONEY:
            return pa.float64()
        case Kind.DATE:
            return pa.date32()
        case Kind.TIMESTAMP:
            return pa.timestamp("s")
    raise AssertionError(column.kind)


def arrow_schema(table: Table) -> pa.Schema:
    return pa.schema([pa.field(c.name, arrow_type(c), nullable=c.nullable) for c in table.columns])


# PostgreSQL's own default names, so a database loaded before the names were explicit keeps them
CONSTRAINT_NAMES = {
    "pk": "%(table_name)s_pkey",
    "fk": "%(table_name)s_%(column_0_N_name)s_fkey",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
}


def service_metadata(service: str, table_names: list[str] | None = None, schema: str | None = None,
                     uuid_storage: UuidStorage = UuidStorage.TEXT) -> sa.MetaData:
    """DDL for one service database: primary keys, and foreign keys that resolve inside the service.

    Cross-service references stay plain columns: they resolve in the owning service's database.
    ``table_names`` limits the DDL to the tables being loaded; ``uuid_storage`` matters to SQLite only.
    """
    tables = [t for t in CATALOG.service_tables(service) if table_names is None or t.name in table_names]
    present = {t.qualified_name for t in tables}
    metadata = sa.MetaData(schema=schema, naming_convention=CONSTRAINT_NAMES)
    prefix = f"{schema}." if schema else ""
    for table in tables:
        local_targets = {
            ref.column.name: ref.resolving_table
            for ref in CATALOG.references(table)
            if not ref.is_cross_service and ref.resolving_table.qualified_name in present
        }
        columns = []
        for c in table.columns:
            args: list = [c.name, sql_type(c, uuid_storage)]
            if c.name in local_targets:
                target = local_targets[c.name]
                args.append(sa.ForeignKey(f"{prefix}{target.name}.{target.primary_key[0]}"))
            columns.append(sa.Column(*args, nullable=c.nullable, comment=c.description or None))
        uniques = [sa.UniqueConstraint(c.name) for c in table.columns if c.unique]
        sa.Table(table.name, metadata, *columns, sa.PrimaryKeyConstraint(*table.primary_key), *uniques,
                 comment=table.description)
    return metadata
