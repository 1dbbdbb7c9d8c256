"""PostgreSQL's binary COPY format for the model's Arrow batches.

The server reads binary fields with its types' receive functions, about 2.5 times faster than it parses
the same rows as CSV (order lines: 0.65 s against 1.6 s), so the sink sends binary where it can. pgpq
encodes Arrow in Rust; what we do is give each column the Arrow type whose binary form is the column's
PostgreSQL type: a UUID's 16 bytes (from its text), money as a 2-place decimal (from whole cents).
Strings, integers, dates and moments already match (varchar is text on the wire; timestamp and
timestamptz share one form, microseconds since 2000 in UTC).

A batch holding a value the binary form would not spell exactly as PostgreSQL parses the CSV (a UUID in
braces or without dashes, an amount that is not whole cents) is not converted: the caller sends that
batch as CSV, so PostgreSQL accepts, rounds or rejects it exactly as before.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from crm_mock.model import Kind, Table
from crm_mock.model.schema import MONEY_PRECISION, MONEY_SCALE

_UUID_TEXT = 36
_HEX_POSITIONS = np.array([i for i in range(_UUID_TEXT) if i not in (8, 13, 18, 23)])
_DASH_POSITIONS = np.array([8, 13, 18, 23])
_INVALID = 0xFFFF


def _hex_pair_table() -> np.ndarray:
    """Two ASCII hex digits, read as one little-endian uint16, to the byte they spell (or ``_INVALID``)."""
    nibble = np.full(256, 255, np.uint16)
    for value, char in enumerate(b"0123456789abcdef"):
        nibble[char] = value
    for value, char in enumerate(b"ABCDEF", start=10):
        nibble[char] = value
    pair = np.arange(65536)
    high, low = nibble[pair & 0xFF], nibble[pair >> 8]
    return np.where((high < 16) & (low < 16), (high << 4) | low, _INVALID).astype(np.uint16)


_HEX_PAIRS = _hex_pair_table()
_MAX_CENTS = 10 ** MONEY_PRECISION  # NUMERIC(12,2) holds below 10^10 units: 10^12 cents


def uuid_bytes(values: pa.Array) -> pa.Array | None:
    """Canonical UUID text (either case) as 16-byte values, nulls kept; None when any value is not canonical."""
    values = pa.concat_arrays([values]) if values.offset else values  # buffers from the start
    count = len(values)
    offsets = np.frombuffer(values.buffers()[1], np.int32, count + 1)
    valid = ~values.is_null().to_numpy(zero_copy_only=False)
    if not (np.diff(offsets)[valid] == _UUID_TEXT).all():
        return None
    data = np.frombuffer(values.buffers()[2], np.uint8) if values.buffers()[2] is not None else np.empty(0, np.uint8)
    if valid.all() and offsets[-1] - offsets[0] == _UUID_TEXT * count:
        text = data[offsets[0]:offsets[-1]].reshape(count, _UUID_TEXT)  # the usual case: a view
    else:
        text = np.zeros((count, _UUID_TEXT), np.uint8)
        text[valid] = data[offsets[:-1][valid, None] + np.arange(_UUID_TEXT)]
        text[~valid] = np.frombuffer(b"00000000-0000-0000-0000-000000000000", np.uint8)
    if not (text[:, _DASH_POSITIONS] == ord("-")).all():
        return None
    pairs = _HEX_PAIRS[np.ascontiguousarray(text[:, _HEX_POSITIONS]).view(np.uint16)]
    if (pairs == _INVALID).any():
        return None
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), count, [values.buffers()[0], pa.py_buffer(pairs.astype(np.uint8).tobytes())],
        values.null_count)


def money_decimal(values: pa.Array) -> pa.Array | None:
    """Whole-cent amounts as NUMERIC(12,2) decimals, nulls kept; None when any amount is not whole cents
    (or would not fit: PostgreSQL then says so for the CSV)."""
    values = pa.concat_arrays([values]) if values.offset else values
    amounts = values.to_numpy(zero_copy_only=False)
    valid = ~values.is_null().to_numpy(zero_copy_only=False)
    amounts = np.where(valid, amounts, 0.0)
    with np.errstate(invalid="ignore", over="ignore"):
        cents = np.rint(amounts * 100)
        exact = np.isfinite(cents) & (np.abs(cents) < _MAX_CENTS)
        if not exact.all():
            return None
        cents = cents.astype(np.int64)
        if not (cents / 100 == amounts).all():  # the CSV's shortest repr would carry more places
            return None
    unscaled = np.empty((len(cents), 2), np.int64)  # 128-bit little-endian two's complement
    unscaled[:, 0], unscaled[:, 1] = cents, cents >> 63
    return pa.Array.from_buffers(pa.decimal128(MONEY_PRECISION, MONEY_SCALE), len(cents),
                                 [values.buffers()[0], pa.py_buffer(unscaled.tobytes())], values.null_count)


def binary_batch(model: Table, batch: pa.RecordBatch) -> pa.RecordBatch | None:
    """``batch`` with every column in the Arrow type pgpq writes as the column's PostgreSQL binary form;
    None when some value must go as CSV."""
    columns = []
    for column, values in zip(model.columns, batch.columns):
        if column.kind is Kind.UUID:
            values = uuid_bytes(values)
        elif column.kind is Kind.MONEY:
            values = money_decimal(values)
        if values is None:
            return None
        columns.append(values)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)

