"""Per-process memo of plans shared by several tables (orders feed quotes, invoices, stock, …).

Plans are numpy arrays sized by the tier. The memo keeps the most recently used ones within a byte budget
(192 MiB, or twice the largest plan held when that is more), so a process that builds every table of a tier
holds a few plans, not all of them; a plan evicted is rebuilt when asked for again (each takes about a second
at the load tier) with the same bytes, or read back from its shared file (below).

With a directory to share them through (`share_plans_through`, set by the steps' storage resource), a plan
missing here is read from the file another process of the run wrote, or built and written for the others
(`shared_plans`): a step of the multiprocess executor or a Celery worker no longer rebuilds every plan its
table is drawn from, and the shards of a table build their plans once between them.

Between steps (`release_plans`, when a step ends), a process that shares plans through files lets every plan go:
the in-process executor runs every step in one process, and without this its peak was its largest step plus every
plan the steps before had left in the memo (2.2 GB at the stress tier). The next step reads what it needs back
from the files (about a second per plan at the stress tier).
"""

from __future__ import annotations

import dataclasses
import weakref
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pyarrow as pa

from crm_mock.generate import shared_plans
from crm_mock.generate.allocator import return_freed_memory
from crm_mock.scenario import TierPlan

T = TypeVar("T")
_MEMO: OrderedDict[tuple[str, str], object] = OrderedDict()
# plans evicted while a caller still held them (a table's generator keeps its plans for all its blocks): asked for
# again, the same object is handed back instead of a second copy being read or built beside it
_STILL_HELD: dict[tuple[str, str], weakref.ref] = {}
BUDGET_BYTES = 192 * 2**20
_SHARED_DIR: Path | None = None


def share_plans_through(directory: Path | str | None) -> None:
    """Share plans with the run's other processes through files in ``directory`` (None: this process only)."""
    global _SHARED_DIR
    _SHARED_DIR = Path(directory) if directory is not None else None


def footprint(value: object) -> int:
    """The bytes of the arrays a plan holds, numpy's or Arrow's (strings in object arrays count as their
    pointers)."""
    if isinstance(value, np.ndarray | pa.Array | pa.ChunkedArray):
        return value.nbytes
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(footprint(getattr(value, field.name)) for field in dataclasses.fields(value))
    if isinstance(value, tuple | list):
        return sum(footprint(item) for item in value)
    if isinstance(value, dict):
        return sum(footprint(item) for item in value.values())
    return 0


def memoised(name: str, plan: TierPlan, build: Callable[[TierPlan], T]) -> T:
    key = (name, plan.cache_key)
    if key in _MEMO:
        _MEMO.move_to_end(key)
        return _MEMO[key]  # type: ignore[return-value]
    held = _STILL_HELD.pop(key, None)
    value = held() if held is not None else None
    if value is None:
        value = build(plan) if _SHARED_DIR is None else shared_plans.shared(
            _SHARED_DIR, plan.tier, name, plan.cache_key, lambda: build(plan))
    _MEMO[key] = value
    sizes = {k: footprint(v) for k, v in _MEMO.items()}
    # without files, room for the largest plan and what it is drawn from: below that, tables drawn from two large
    # plans (invoices and orders, at the stress tier) would rebuild one of them again and again. With files, a
    # plan missed is read back in about a second (and one its generator still holds is handed back), so the
    # largest plan is room enough
    room = max(sizes.values()) * (1 if _SHARED_DIR is not None else 2)
    _evict(sizes, max(BUDGET_BYTES, room), list(_MEMO)[:-1])  # never the one just built
    return value


def _evict(sizes: dict[tuple[str, str], int], budget: int, candidates: list[tuple[str, str]]) -> None:
    """Drop ``candidates`` (least recently used first) until what the memo holds fits ``budget``."""
    held = sum(sizes.values())
    for old in candidates:
        if held <= budget:
            break
        if sizes[old]:  # what holds no arrays (a manifest, a few records) costs nothing to keep
            try:
                _STILL_HELD[old] = weakref.ref(_MEMO[old])
            except TypeError:  # a tuple or a dict of arrays: no weak reference to it
                pass
            del _MEMO[old]
            held -= sizes[old]


def let_go(name: str, plan: TierPlan) -> None:
    """A build is done with one of its inputs: when plans are shared through files, it leaves the memo (whoever
    asks again gets it back from whoever still holds it, or from its file), so a large input is not held through
    the rest of a build that no longer reads it; without files it stays (a rebuild costs more)."""
    key = (name, plan.cache_key)
    if _SHARED_DIR is not None and key in _MEMO:
        _evict({key: footprint(_MEMO[key])}, 0, [key])


def drop_pages(name: str, plan: TierPlan) -> None:
    """A build is done with most of an input it still reads a little of: the pages of its file leave the process
    (a no-op for a plan built here and not shared through files)."""
    if _SHARED_DIR is not None:
        shared_plans.drop_pages(plan.tier, name)


def spill(array: T) -> T:
    """A build is done with ``array`` (or a dataclass of arrays), a field of the plan it returns: when plans are
    shared through files, it goes ahead to disk and the build holds a read-only view of it instead
    (``shared_plans.spill``); else it stays."""
    return shared_plans.spill(array)


def drop_spilled_pages() -> None:
    """A build is done reading what it spilled (see ``spill``): those pages leave the process again."""
    shared_plans.drop_spilled_pages()


def release_plans() -> None:
    """A step has ended: when plans are shared through files, every plan leaves the memo (what holds no arrays
    stays), since the next step reads back what it needs; without files, they stay (a rebuild costs more). At the
    load tier, keeping the base budget's worth instead cost 200 MiB of peak and saved no time. Then the freed
    memory goes back to the system (``allocator``), so the next step starts from the process's base."""
    if _SHARED_DIR is not None:
        _evict({k: footprint(v) for k, v in _MEMO.items()}, 0, list(_MEMO))
    return_freed_memory()


def forget_plans() -> None:
    """Drop every memoised plan (a step that loads databases needs none, and they are rebuilt on demand)."""
    _MEMO.clear()
    _STILL_HELD.clear()
