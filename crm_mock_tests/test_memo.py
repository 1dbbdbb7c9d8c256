"""The plan memo: most recently used plans kept within a byte budget, records without arrays always kept, and
a plan evicted then rebuilt gives the same bytes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pytest

from crm_mock.generate import GENERATORS, memo
from crm_mock.scenario import load_scenario, plan_tier


@dataclasses.dataclass(frozen=True)
class Holder:
    values: np.ndarray
    nested: tuple


@pytest.fixture
def empty_memo(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(memo, "_MEMO", type(memo._MEMO)())
    return memo._MEMO


def test_footprint_counts_the_arrays_a_plan_holds():
    holder = Holder(np.zeros(100, np.int64), (np.zeros(10, np.int8), {"a": np.zeros(5, np.float64)}, "text"))
    assert memo.footprint(holder) == 800 + 10 + 40
    assert memo.footprint(["records", 1, None]) == 0
    # Arrow's arrays count too: a plan of strings (the product names) is let go between steps like the rest
    names = pa.chunked_array([pa.array(["ab", "c"]), pa.array(["def"])])
    assert memo.footprint((names, pa.array([1, 2], pa.int64()))) == names.nbytes + 16 > 0


def test_least_recently_used_plans_leave_first_and_records_stay(empty_memo, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(memo, "BUDGET_BYTES", 2_500)
    plan = plan_tier(load_scenario(), "smoke")
    built: list[str] = []

    def build(name: str, size: int):
        def make(_plan):
            built.append(name)
            return np.zeros(size, np.int8) if size else [name]
        return make

    memo.memoised("records", plan, build("records", 0))
    memo.memoised("a", plan, build("a", 1_000))
    memo.memoised("b", plan, build("b", 1_000))
    memo.memoised("a", plan, build("a", 1_000))  # a used again: b is now the least recent
    memo.memoised("c", plan, build("c", 1_000))  # over budget: b leaves, not the records, not a
    assert [key[0] for key in empty_memo] == ["records", "a", "c"]
    memo.memoised("huge", plan, build("huge", 10_000))  # the budget is now twice the largest: all stay
    assert [key[0] for key in empty_memo] == ["records", "a", "c", "huge"]
    memo.memoised("huge2", plan, build("huge2", 10_000))  # 22,000 held, 20,000 allowed: the least recent go
    assert [key[0] for key in empty_memo] == ["records", "huge", "huge2"]
    assert built == ["records", "a", "b", "c", "huge", "huge2"]
    memo.forget_plans()
    assert not empty_memo


def test_a_plan_rebuilt_after_eviction_gives_the_same_table(empty_memo, monkeypatch: pytest.MonkeyPatch):
    plan = plan_tier(load_scenario(), "smoke")
    first = GENERATORS["finance.ledger_entries"](plan)
    monkeypatch.setattr(memo, "BUDGET_BYTES", 0)  # every plan leaves as soon as another is built
    memo.forget_plans()
    assert GENERATORS["finance.ledger_entries"](plan).equals(first)
    assert GENERATORS["orders.order_lines"](plan).num_rows > 0
    assert GENERATORS["finance.ledger_entries"](plan).equals(first)


def test_a_step_end_lets_plans_go_only_when_files_hold_them(empty_memo, monkeypatch: pytest.MonkeyPatch, tmp_path):
    """Between steps of one process (the in-process executor), plans leave the memo when the run shares them
    through files, and the next step reads them back instead of building them."""
    monkeypatch.setattr(memo, "BUDGET_BYTES", 1_500)
    plan = plan_tier(load_scenario(), "smoke")
    built: list[str] = []

    def build(name: str):
        def make(_plan):
            built.append(name)
            return np.full(1_000, len(built), np.int8)
        return make

    memo.memoised("a", plan, build("a"))
    memo.memoised("b", plan, build("b"))  # 2,000 held: within twice the largest
    memo.release_plans()  # no files to read them back from: both stay
    assert [key[0] for key in empty_memo] == ["a", "b"]

    memo.forget_plans()
    monkeypatch.setattr(memo, "_SHARED_DIR", None)
    memo.share_plans_through(tmp_path)
    first_a = memo.memoised("a", plan, build("a"))
    memo.memoised("b", plan, build("b"))
    memo.memoised("records", plan, lambda _plan: ["no arrays"])
    memo.release_plans()  # every plan leaves; what holds no arrays stays
    assert [key[0] for key in empty_memo] == ["records"]
    again = memo.memoised("a", plan, build("a"))
    assert np.array_equal(again, first_a) and built == ["a", "b", "a", "b"]  # read back, not built a third time
    memo.share_plans_through(None)


def test_a_plan_evicted_while_its_caller_holds_it_is_handed_back_not_loaded_twice(empty_memo,
                                                                                  monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(memo, "BUDGET_BYTES", 1_500)
    monkeypatch.setattr(memo, "_STILL_HELD", {})
    plan = plan_tier(load_scenario(), "smoke")
    built: list[str] = []

    def build(name: str):
        def make(_plan):
            built.append(name)
            return np.zeros(1_000, np.int8)
        return make

    held = memo.memoised("a", plan, build("a"))  # a generator keeps it for its blocks
    memo.memoised("b", plan, build("b"))
    memo.memoised("c", plan, build("c"))  # 3,000 held, 2,000 allowed: a leaves the memo, not the caller
    assert "a" not in [key[0] for key in empty_memo]
    assert memo.memoised("a", plan, build("a")) is held and built == ["a", "b", "c"]
    memo.memoised("d", plan, build("d"))  # b leaves; nobody holds it: asked again, it is built again
    memo.memoised("b", plan, build("b"))
    assert built == ["a", "b", "c", "d", "b"]


def test_a_build_lets_an_input_go_only_when_files_hold_it(empty_memo, monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setattr(memo, "_STILL_HELD", {})
    monkeypatch.setattr(memo, "_SHARED_DIR", None)
    plan = plan_tier(load_scenario(), "smoke")
    built: list[str] = []

    def build(_plan):
        built.append("orders")
        return np.arange(1_000)

    memo.memoised("orders", plan, build)
    memo.let_go("orders", plan)  # no file to read it back from: it stays
    assert [key[0] for key in empty_memo] == ["orders"]

    memo.forget_plans()
    memo.share_plans_through(tmp_path)
    held = memo.memoised("orders", plan, build)
    memo.let_go("orders", plan)
    assert not empty_memo
    assert memo.memoised("orders", plan, build) is held  # still held by the caller: handed back
    memo.let_go("orders", plan)
    del held
    assert np.array_equal(memo.memoised("orders", plan, build), np.arange(1_000))  # read back from its file
    assert built == ["orders", "orders"]
    memo.share_plans_through(None)
