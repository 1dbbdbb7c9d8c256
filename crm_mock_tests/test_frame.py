"""The small array helpers the generators share."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_mock.generate.contact import cached_account_plan
from crm_mock.generate.frame import concat_ranges, occurrence_rank
from crm_mock.generate import money
from crm_mock.generate.money import discounted_total, document_numbers, document_totals
from crm_mock.generate.sales import cached_funnel_plan
from crm_mock.scenario import DEFAULT_SCENARIO, parse_scenario, plan_tier


@settings(deadline=None)  # the first call loads Arrow's compute kernels
@given(st.lists(st.sampled_from(["a", "b", "Ä", "", "a ", "日本", "x" * 40]), max_size=60))
def test_occurrence_rank_counts_the_equal_values_before_each(values: list[str]):
    expected = [values[:i].count(v) for i, v in enumerate(values)]
    assert occurrence_rank(np.array(values, dtype=object)).tolist() == expected
    # the same from Arrow's strings, whole or a chunk at a time (the product names)
    assert occurrence_rank(pa.array(values, pa.string())).tolist() == expected
    chunks = [pa.array(values[i:i + 7], pa.string()) for i in range(0, len(values), 7)]
    assert occurrence_rank(pa.chunked_array(chunks, pa.string())).tolist() == expected


def test_occurrence_rank_of_nothing():
    assert occurrence_rank(np.array([], dtype=object)).tolist() == []


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 6)), max_size=30))
def test_concat_ranges_is_the_concatenation_of_the_ranges(ranges: list[tuple[int, int]]):
    starts = np.array([a for a, _ in ranges], dtype=np.int64)
    stops = starts + np.array([n for _, n in ranges], dtype=np.int64)
    expected = [i for a, b in zip(starts, stops) for i in range(a, b)]
    result = concat_ranges(starts, stops)
    assert result.dtype == np.int64 and result.tolist() == expected


def test_document_numbers_count_per_year_in_time_order_and_write_out_only_the_rows_asked_for():
    moments = np.array(["2025-12-31T10:00", "NaT", "2025-03-01T09:00", "2026-01-02T08:00", "2025-03-01T09:00"],
                       dtype="datetime64[s]")
    numbers = document_numbers("SO", moments)
    assert numbers[np.arange(5)].tolist() == ["SO-2025-0000003", None, "SO-2025-0000001", "SO-2026-0000001",
                                              "SO-2025-0000002"]
    assert numbers[3] == "SO-2026-0000001" and numbers[1] is None and len(numbers) == 5
    assert numbers[np.array([4, 0])].tolist() == ["SO-2025-0000002", "SO-2025-0000003"]
    assert numbers.sequence.nbytes + numbers.year.nbytes == 5 * 10  # no Python string per row
    # a block of rows none of which is dated (the newest documents, not issued yet), and no rows at all
    assert numbers[slice(1, 2)].tolist() == [None] and numbers[np.array([], dtype=np.int64)].tolist() == []
    undated = document_numbers("INV", np.full(3, np.datetime64("NaT"), dtype="datetime64[s]"))
    assert undated[slice(0, 3)].tolist() == [None, None, None]


@pytest.mark.parametrize("density", [1, 3])
def test_opportunity_names_are_numbered_exactly_where_the_written_names_repeat(density: int):
    """The plan numbers alike names from codes; written out, the names before numbering must repeat exactly
    there (a planted company name on several accounts included)."""
    data = yaml.safe_load(DEFAULT_SCENARIO.read_text(encoding="utf-8"))
    data["edge_cases"] = {"density": density}
    plan = plan_tier(parse_scenario(data, today=dt.date(2026, 6, 30)), "smoke")
    names = cached_funnel_plan(plan).opportunity_name
    written = names.at(np.arange(len(names)), cached_account_plan(plan))
    base = np.array([n.rsplit(" (", 1)[0] if r else n for n, r in zip(written, names.repeat)], dtype=object)
    assert occurrence_rank(base).tolist() == names.repeat.tolist()
    assert len(set(written)) == len(written)


@given(st.lists(st.text(alphabet="abc +-0123456789", max_size=12), max_size=40))
def test_fixed_width_strings_cut_each_row_to_its_length(values: list[str]):
    from crm_mock.generate.frame import fixed_width_strings

    width = max((len(v) for v in values), default=0) + 3
    text = np.full((len(values), width), ord("#"), dtype=np.uint8)  # bytes past a row's length are ignored
    for i, value in enumerate(values):
        text[i, :len(value)] = np.frombuffer(value.encode(), dtype=np.uint8)
    assert fixed_width_strings(text, np.array([len(v) for v in values])).to_pylist() == values


def test_join_strings_is_element_wise_concatenation():
    import pyarrow as pa

    from crm_mock.generate.frame import join_strings

    first, last = pa.array(["ana", "łukasz"]), pa.array(["diaz", "nowak"])
    assert join_strings(first, ".", last, "@", pa.array(["a.example", "b.example"])).to_pylist() == [
        "ana.diaz@a.example", "łukasz.nowak@b.example"]
    prefixed = join_strings("https://www.", pa.chunked_array([pa.array(["ä.example", ""]), pa.array(["b.example"])]))
    assert prefixed.type == pa.string()
    assert prefixed.to_pylist() == ["https://www.ä.example", "https://www.", "https://www.b.example"]


@settings(deadline=None)
@given(st.lists(st.integers(0, 6), max_size=80), st.integers(0, 90))
def test_the_smallest_draws_come_in_the_order_of_a_stable_argsort(draws: list[int], m: int):
    from crm_mock.generate.planting import _smallest

    values = np.array(draws, dtype=np.float64) / 7  # few distinct values: ties everywhere
    assert _smallest(values, m).tolist() == np.argsort(values, kind="stable")[:m].tolist()


@settings(deadline=None)
@given(st.integers(1, 300), st.integers(0, 40), st.sets(st.integers(0, 299), max_size=10), st.booleans(),
       st.integers(0, 2**32))
def test_row_order_first_is_the_prefix_of_the_whole_order(n: int, count: int, reserved: set[int], masked: bool,
                                                          seed: int):
    from crm_mock.generate.planting import RowOrder

    draws = np.random.default_rng(seed).integers(0, 50, n) / 50  # ties included
    allowed = np.random.default_rng(seed + 1).random(n) < 0.3 if masked else None
    whole = np.argsort(draws, kind="stable")
    whole = whole[~np.isin(whole, list(reserved))]
    if allowed is not None:
        whole = whole[allowed[whole]]
    assert RowOrder(draws, {r for r in reserved if r < n}).first(count, allowed).tolist() == whole[:count].tolist()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(1, 10_000), st.integers(0, 10**9), st.integers(0, 100)), max_size=6),
                max_size=30),
       st.lists(st.sampled_from([1, 100]), min_size=30, max_size=30), st.integers(1, 7))
def test_document_totals_sum_each_documents_lines_a_slice_at_a_time(documents, units, slice_lines):
    """The same totals as summing every line's discounted total at once, whatever the slice (a document with no
    lines totals 0): a slice of a few lines makes most documents straddle slice ends."""
    offsets = np.cumsum([0] + [len(lines) for lines in documents])
    lines = [line for document in documents for line in document]
    quantity, price, discount = (np.array([line[i] for line in lines], dtype=np.int64) for i in range(3))
    unit = np.array(units[:len(documents)], dtype=np.int64)
    line_unit = np.repeat(unit, np.diff(offsets))
    every_line = discounted_total(quantity, price, discount, line_unit) if lines else np.zeros(0, np.int64)
    expected = [int(every_line[a:b].sum()) for a, b in zip(offsets[:-1], offsets[1:])]
    original = money.TOTAL_SLICE
    money.TOTAL_SLICE = slice_lines
    try:
        assert document_totals(offsets, quantity, price, discount, unit).tolist() == expected
    finally:
        money.TOTAL_SLICE = original
