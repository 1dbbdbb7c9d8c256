"""The small array helpers the generators share."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_mock.generate.frame import occurrence_rank
from crm_mock.generate.money import document_numbers


@settings(deadline=None)  # the first call loads Arrow's compute kernels
@given(st.lists(st.sampled_from(["a", "b", "Ä", "", "a ", "日本", "x" * 40]), max_size=60))
def test_occurrence_rank_counts_the_equal_values_before_each(values: list[str]):
    expected = [values[:i].count(v) for i, v in enumerate(values)]
    assert occurrence_rank(np.array(values, dtype=object)).tolist() == expected


def test_occurrence_rank_of_nothing():
    assert occurrence_rank(np.array([], dtype=object)).tolist() == []


def test_document_numbers_count_per_year_in_time_order_and_write_out_only_the_rows_asked_for():
    moments = np.array(["2025-12-31T10:00", "NaT", "2025-03-01T09:00", "2026-01-02T08:00", "2025-03-01T09:00"],
                       dtype="datetime64[s]")
    numbers = document_numbers("SO", moments)
    assert numbers[np.arange(5)].tolist() == ["SO-2025-0000003", None, "SO-2025-0000001", "SO-2026-0000001",
                                              "SO-2025-0000002"]
    assert numbers[3] == "SO-2026-0000001" and numbers[1] is None and len(numbers) == 5
    assert numbers[np.array([4, 0])].tolist() == ["SO-2025-0000002", "SO-2025-0000003"]
    assert numbers.sequence.nbytes + numbers.year.nbytes == 5 * 10  # no Python string per row
