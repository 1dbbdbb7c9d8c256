"""Column values in the form each database stores them, derived from the model's column kinds."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc

from crm_mock.model import Column, Kind
from crm_mock.model.ddl import UuidStorage

DATE_FORMAT = "%Y-%m-%d"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
_HEX_UUID_LENGTH = 32


def sqlite_values(column: Column, values: pa.Array | pa.ChunkedArray,
                  uuid_storage: UuidStorage = UuidStorage.TEXT) -> list:
    """Python values for SQLite: dates and moments as ISO-8601 text (UTC), one format per column; UUIDs
    spelled as ``uuid_storage`` says."""
    if column.kind is Kind.DATE:
        values = pc.strftime(values, format=DATE_FORMAT)
    elif column.kind is Kind.TIMESTAMP:
        # whole seconds: strftime's %S would print fractions for finer units
        values = pc.strftime(values.cast(pa.timestamp("s")), format=TIMESTAMP_FORMAT)
    elif column.kind is Kind.UUID and uuid_storage is not UuidStorage.TEXT:
        values = pc.replace_substring(values, "-", "")
        if uuid_storage is UuidStorage.BLOB:
            return [None if h is None else bytes.fromhex(h) for h in values.to_pylist()]
    return values.to_pylist()


def canonical_uuid(value: object) -> str:
    """A UUID as any database returns it (canonical or 32-hex text, 16 bytes, ``uuid.UUID``) in canonical
    lower-case text; anything else as its plain text, so a malformed value is still reported, not lost."""
    if isinstance(value, str):
        if len(value) == _HEX_UUID_LENGTH:
            h = value.lower()
            return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        return value
    if isinstance(value, (bytes, bytearray, memoryview)) and len(value) == 16:
        return canonical_uuid(bytes(value).hex())
    return str(value)


def stored_uuid(canonical: str, uuid_storage: UuidStorage) -> str | bytes:
    """A canonical UUID spelled the way a SQLite database stores it, to bind as a query parameter."""
    match uuid_storage:
        case UuidStorage.TEXT:
            return canonical
        case UuidStorage.HEX:
            return canonical.replace("-", "")
        case UuidStorage.BLOB:
            return bytes.fromhex(canonical.replace("-", ""))
    raise AssertionError(uuid_storage)


def canonical_text(column: Column, value: object) -> str:
    """One spelling of a stored value whatever the database, so contents can be hashed and compared."""
    if value is None:
        return "\\N"
    match column.kind:
        case Kind.UUID:
            return canonical_uuid(value)
        case Kind.MONEY:
            return f"{float(value):.2f}"
        case Kind.INTEGER:
            return str(int(value))
        case Kind.DATE:
            return str(value)[:10]
        case Kind.TIMESTAMP:
            if isinstance(value, dt.datetime) and value.tzinfo is not None:  # timestamptz, in the session's zone
                value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
            return str(value)[:19].replace("T", " ")
    return str(value)
