"""Model rows in the service's spelling, a whole Arrow batch at a time: renamed columns, UUID forms, money in
cents, codes through value maps, the service's own columns filled. Nothing here loops over rows in Python
except SQLite's 16-byte UUIDs, which the driver needs as ``bytes`` anyway."""

from __future__ import annotations

import string

import pyarrow as pa
import pyarrow.compute as pc

from crm_mock.mapping.resolve import FilledColumn, Form, MappedTable
from crm_mock.mapping.spec import Constant, Copy, FromValues, Scalar, Template
from crm_mock.model import Kind
from crm_mock.sinks.values import DATE_FORMAT, TIMESTAMP_FORMAT


def _scalar_type(values: list[Scalar]) -> pa.DataType:
    present = [v for v in values if v is not None]
    if not present:
        return pa.null()
    if all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.int64()
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pa.float64()
    return pa.string()


def mapped_values(values: pa.Array, spelled: dict[str, Scalar]) -> pa.Array:
    """Each code replaced by the service's spelling of it (null stays null)."""
    words = list(spelled)
    targets = list(spelled.values())
    kind = _scalar_type(targets)
    if kind == pa.string():
        targets = [None if v is None else str(v) for v in targets]
    indices = pc.index_in(values, value_set=pa.array(words, pa.string()))
    return pc.take(pa.array(targets, kind), indices)


def _uuid(values: pa.Array, form: str, dialect: str) -> pa.Array:
    if form in ("native", "text"):
        return values
    digits = pc.replace_substring(values, "-", "")
    if form == "hex":
        return digits
    if dialect == "postgresql":  # bytea's text input: \x and the hex digits
        return pc.binary_join_element_wise("\\x", digits, "")
    return pa.array([None if h is None else bytes.fromhex(h) for h in digits.to_pylist()], pa.binary())


def written(values: pa.Array, form: Form, dialect: str) -> pa.Array:
    """A model column's values as its service column takes them."""
    if form.kind is Kind.UUID:
        return _uuid(values, form.uuid or "text", dialect)
    if form.kind is Kind.MONEY and form.money == "cents":
        return pc.round(pc.multiply(values, 100.0)).cast(pa.int64())
    if form.values is not None:
        return mapped_values(values, form.value_map)
    return values


def _template(template: str, batch: pa.RecordBatch) -> pa.Array:
    pieces: list = []
    for literal, field, _, _ in string.Formatter().parse(template):
        if literal:
            pieces.append(literal)
        if field:
            column = batch.column(field)
            if pa.types.is_timestamp(column.type):
                column = pc.strftime(column, format=TIMESTAMP_FORMAT)
            pieces.append(pc.cast(column, pa.string()))
    if not pieces:
        return pa.repeat(pa.scalar(""), batch.num_rows)
    arrays = [p if isinstance(p, (pa.Array, pa.ChunkedArray)) else pa.repeat(pa.scalar(p), batch.num_rows) for p in pieces]
    return pc.binary_join_element_wise(*arrays, "", null_handling="replace", null_replacement="")


def filled(fill: FilledColumn, batch: pa.RecordBatch, dialect: str) -> pa.Array:
    spec = fill.fill
    if isinstance(spec, Constant):
        if spec.value is None:
            return pa.nulls(batch.num_rows)
        return pa.repeat(pa.scalar(spec.value, _scalar_type([spec.value])), batch.num_rows)
    if isinstance(spec, FromValues):
        return mapped_values(batch.column(spec.from_), spec.values)
    if isinstance(spec, Copy):
        return written(batch.column(spec.copy_), fill.form, dialect)
    assert isinstance(spec, Template)
    return _template(spec.template, batch)


def target_batch(table: MappedTable, batch: pa.RecordBatch, dialect: str) -> pa.RecordBatch:
    """``batch`` (the model's columns and types) as the service's table takes it, in ``table.target_columns``
    order; moments, dates and money keep their Arrow types (the sinks spell them)."""
    arrays = [written(batch.column(c.model.name), c.form, dialect) for c in table.columns]
    arrays += [filled(f, batch, dialect) for f in table.fills]
    return pa.RecordBatch.from_arrays(arrays, names=table.target_columns)


def sqlite_rows(batch: pa.RecordBatch) -> list[tuple]:
    """A target batch as Python rows for sqlite3: dates and moments as ISO text (UTC), as the model stores them."""
    columns = []
    for column in batch.columns:
        if pa.types.is_timestamp(column.type):
            column = pc.strftime(column.cast(pa.timestamp("s")), format=TIMESTAMP_FORMAT)
        elif pa.types.is_date(column.type):
            column = pc.strftime(column, format=DATE_FORMAT)
        columns.append(column.to_pylist())
    return list(zip(*columns))
