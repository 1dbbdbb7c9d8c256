"""The wire form of a record, from the model's column kinds: part of the replay contract.

RFC 3339 moments with an explicit UTC offset, dates as ``YYYY-MM-DD``, money as a decimal string with two
places, integers as JSON numbers, ``null`` for a missing value. Generated moments are naive UTC.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pyarrow as pa

from crm_mock.model import CATALOG, Kind

Encoder = Callable[[object], object]


def _moment(value: dt.datetime) -> str:
    return value.replace(tzinfo=dt.timezone.utc, microsecond=0).isoformat()


def _money(value: float) -> str:
    return f"{value:.2f}"


def _date(value: dt.date) -> str:
    return value.isoformat()


_BY_KIND: dict[Kind, Encoder] = {
    Kind.MONEY: _money, Kind.TIMESTAMP: _moment, Kind.DATE: _date, Kind.INTEGER: int,
    Kind.UUID: str, Kind.TEXT: str, Kind.CODE: str,
}


def _by_arrow_type(data_type: pa.DataType) -> Encoder:
    """For tables outside the model (derived assets such as finance/credit_holds)."""
    if pa.types.is_timestamp(data_type):
        return _moment
    if pa.types.is_date(data_type):
        return _date
    if pa.types.is_integer(data_type):
        return int
    if pa.types.is_floating(data_type):
        return float
    return str


def encoders(table_name: str, schema: pa.Schema) -> dict[str, Encoder]:
    """One encoder per column present in ``schema``: by model kind where the table is in the model."""
    try:
        model = CATALOG[table_name]
    except KeyError:
        model = None
    out: dict[str, Encoder] = {}
    for field in schema:
        if model is not None and field.name in model.column_names:
            out[field.name] = _BY_KIND[model.column(field.name).kind]
        else:
            out[field.name] = _by_arrow_type(field.type)
    return out


def records(table_name: str, data: pa.Table) -> list[dict[str, object]]:
    """Every row of ``data`` in wire form, columns in the table's order."""
    columns = {}
    for name, encode in encoders(table_name, data.schema).items():
        columns[name] = [None if v is None else encode(v) for v in data.column(name).to_pylist()]
    names = list(columns)
    return [dict(zip(names, row)) for row in zip(*columns.values())] if names else []


def dumps(value: object) -> str:
    """Canonical JSON: the plan hash is computed over it, so key order and spacing are fixed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def as_moment(value: object) -> dt.datetime:
    """A time column's value as an aware UTC moment (a date is its midnight)."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    raise TypeError(f"not a date or moment: {value!r}")
