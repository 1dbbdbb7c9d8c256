"""Producing a sink's next batch while the database takes the previous one."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor


def prefetched(items: Iterable, depth: int = 2) -> Iterator:
    """``items``, produced by a worker thread up to ``depth`` ahead: reading Parquet and converting values
    (pyarrow, which releases the GIL) overlap with the database taking the previous batch. An error
    in the producer is raised here, in order."""
    iterator, end = iter(items), object()
    # one worker: next() runs in order; leaving early waits for at most ``depth`` more items
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-mock-encode") as worker:
        pending = deque(worker.submit(next, iterator, end) for _ in range(depth))
        while (item := pending.popleft().result()) is not end:
            pending.append(worker.submit(next, iterator, end))
            yield item
