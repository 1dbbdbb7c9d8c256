"""Freed memory goes back to the system: large allocations get pages of their own, and a step's end trims the
heap and Arrow's pool, so a step's peak does not carry into the next one's in the same process."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from crm_mock.generate import allocator, memo

GLIBC = allocator._glibc() is not None

# a child process: 40 arrays of 4 MiB are freed after a 16 MiB one raised glibc's threshold for pages of their own to
# its size; the resident set after freeing tells whether their pages went back, and after a step's trim
CHILD = """
import sys
import numpy as np
from crm_mock.generate import allocator
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
if sys.argv[1] == "mapped":
    assert allocator.map_large_allocations()
big = np.ones(2**21)
del big
base = rss()
arrays, kept = [], []
for _ in range(40):  # each followed by a 256 KiB array that stays: the heap cannot shrink from its top
    arrays.append(np.ones(2**19))
    kept.append(np.ones(2**15))
del arrays
freed = rss() - base
allocator.return_freed_memory()
print(round(freed), round(rss() - base))
"""


@pytest.mark.skipif(not GLIBC, reason="the allocator settings are glibc's")
def test_freed_memory_goes_back_to_the_system():
    def held(mode: str) -> list[int]:
        """MiB still held after the arrays are freed, and after the trim a step's end does."""
        return [int(n) for n in subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True,
                                               check=True).stdout.split()]

    freed, trimmed = held("heap")
    assert freed > 100 and trimmed < 20  # glibc's default keeps the freed 160 MiB until the heap is trimmed
    freed, trimmed = held("mapped")
    assert freed < 20 and trimmed < 20  # mapped on their own: handed back as they are freed


def test_a_step_end_returns_freed_memory(monkeypatch: pytest.MonkeyPatch):
    calls = []
    monkeypatch.setattr(memo, "return_freed_memory", lambda: calls.append("trim"))
    memo.release_plans()
    assert calls == ["trim"]
    allocator.return_freed_memory()  # the real one runs wherever crm_mock does (a no-op off glibc)
    assert np.ones(3).sum() == 3


@pytest.mark.parametrize("chosen, expected", [(None, "system"), ("mimalloc", "mimalloc")])
def test_arrow_allocates_through_the_system_allocator_unless_told_otherwise(chosen: str | None, expected: str):
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if chosen:
        env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
    code = ("import crm_mock.definitions, pyarrow.parquet, pyarrow as pa; "
            "print(pa.default_memory_pool().backend_name)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          check=True).stdout.split()[-1] == expected
