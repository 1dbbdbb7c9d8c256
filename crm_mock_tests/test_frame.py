"""The small array helpers the generators share."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_mock.generate.frame import concat_ranges, occurrence_rank
from crm_mock.generate.money import document_numbers
from crm_mock.generate.sales import cached_funnel_plan
from crm_mock.scenario import DEFAULT_SCENARIO, parse_scenario, plan_tier


@settings(deadline=None)  # the first call loads Arrow's compute kernels
@given(st.lists(st.sampled_from(["a", "b", "Ä", "", "a ", "日本", "x" * 40]), max_size=60))
def test_occurrence_rank_counts_the_equal_values_before_each(values: list[str]):
    expected = [values[:i].count(v) for i, v in enumerate(values)]
    assert occurrence_rank(np.array(values, dtype=object)).tolist() == expected


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
    written = names[np.arange(len(names))]
    base = np.array([n.rsplit(" (", 1)[0] if r else n for n, r in zip(written, names.repeat)], dtype=object)
    assert occurrence_rank(base).tolist() == names.repeat.tolist()
    assert len(set(written)) == len(written)
