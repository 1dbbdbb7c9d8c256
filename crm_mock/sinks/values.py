"""Column values in the form each database stores them, derived from the model's column kinds."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from crm_mock.model import Column, Kind

DATE_FORMAT = "%Y-%m-%d"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def sqlite_values(column: Column, values: pa.Array | pa.ChunkedArray) -> list:
    """Python values for SQLite: dates and moments as ISO-8601 text, one format per column."""
    if column.kind is Kind.DATE:
        values = pc.strftime(values, format=DATE_FORMAT)
    elif column.kind is Kind.TIMESTAMP:
        # whole seconds: strftime's %S would print fractions for finer units
        values = pc.strftime(values.cast(pa.timestamp("s")), format=TIMESTAMP_FORMAT)
    return values.to_pylist()


def canonical_text(column: Column, value: object) -> str:
    """One spelling of a stored value whatever the database, so contents can be hashed and compared."""
    if value is None:
        return "\\N"
    match column.kind:
        case Kind.MONEY:
            return f"{float(value):.2f}"
        case Kind.INTEGER:
            return str(int(value))
        case Kind.DATE:
            return str(value)[:10]
        case Kind.TIMESTAMP:
            return str(value)[:19].replace("T", " ")
    return str(value)
