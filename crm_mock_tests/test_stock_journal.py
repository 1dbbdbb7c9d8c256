"""The stock movement journal's order: the three keys packed into one int64 and sorted once give exactly the
lexsort of the three (moment, then type, then stock row, ties in drawn order), and keys too wide to pack are
lexsorted."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_mock.generate.stock import _in_time_order
from crm_mock.model import vocabularies as v


def _journal(seed: int, n: int, rows: int, span_seconds: int):
    rng = np.random.default_rng(seed)
    stock_row = rng.integers(0, rows, n).astype(np.int32)
    movement_type = rng.integers(0, len(v.MOVEMENT_TYPE), n).astype(np.int8)
    occurred = (np.datetime64("2025-06-01T06:00:00") + rng.integers(0, span_seconds, n).astype("timedelta64[s]"))
    return stock_row, movement_type, occurred


def _lexsorted(stock_row, movement_type, occurred):
    sequence = np.lexsort((stock_row, movement_type, occurred))
    return sequence, stock_row[sequence], movement_type[sequence], occurred[sequence]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 400), rows=st.integers(1, 50),
       span=st.sampled_from([1, 3, 86_400, 47_000_000]))
def test_the_packed_sort_is_the_lexsort(seed, n, rows, span):
    # few distinct values: ties in every key, so the drawn order of equal movements is checked too
    columns = _journal(seed, n, rows, span)
    expected = _lexsorted(*columns)
    got = _in_time_order(list(c.copy() for c in columns), rows)
    assert got[0].dtype == np.int32 and got[1].dtype == np.int32 and got[2].dtype == np.int8
    assert got[3].dtype == columns[2].dtype
    for want, have in zip(expected, got):
        np.testing.assert_array_equal(have, want)


def test_keys_too_wide_to_pack_are_lexsorted():
    columns = _journal(7, 1000, 5, 86_400)
    too_many_rows = 2**62  # (span × types × rows) beyond int64: the fallback, same result
    expected = _lexsorted(*columns)
    got = _in_time_order(list(c.copy() for c in columns), too_many_rows)
    for want, have in zip(expected, got):
        np.testing.assert_array_equal(have, want)


def test_the_sort_takes_the_columns_over():
    columns = list(_journal(1, 10, 3, 100))
    _in_time_order(columns, 3)
    assert columns == []
