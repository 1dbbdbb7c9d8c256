"""The small array helpers the generators share."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_mock.generate.frame import occurrence_rank


@settings(deadline=None)  # the first call loads Arrow's compute kernels
@given(st.lists(st.sampled_from(["a", "b", "Ä", "", "a ", "日本", "x" * 40]), max_size=60))
def test_occurrence_rank_counts_the_equal_values_before_each(values: list[str]):
    expected = [values[:i].count(v) for i, v in enumerate(values)]
    assert occurrence_rank(np.array(values, dtype=object)).tolist() == expected


def test_occurrence_rank_of_nothing():
    assert occurrence_rank(np.array([], dtype=object)).tolist() == []
