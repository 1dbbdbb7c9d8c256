"""Per-process memo of plans shared by several tables (orders feed quotes, invoices, stock, …)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from crm_mock.scenario import TierPlan

T = TypeVar("T")
_MEMO: OrderedDict[tuple[str, str], object] = OrderedDict()
_MAX_ENTRIES = 16  # every plan one tier needs (accounts, orders, funnel, invoices, tickets, …)


def memoised(name: str, plan: TierPlan, build: Callable[[TierPlan], T]) -> T:
    key = (name, plan.cache_key)
    if key in _MEMO:
        _MEMO.move_to_end(key)
        return _MEMO[key]  # type: ignore[return-value]
    value = build(plan)
    _MEMO[key] = value
    while len(_MEMO) > _MAX_ENTRIES:
        _MEMO.popitem(last=False)
    return value
