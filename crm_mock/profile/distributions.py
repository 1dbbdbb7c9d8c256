"""The distributions of a tier that tell whether its data looks like a business: pure aggregations.

Orders and invoices come a batch at a time (millions of rows at the stress tier, read from the store as they are
needed) and every aggregation is done by Arrow and numpy, never a Python object per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# a table, or its rows a batch at a time
Rows = pa.Table | Iterable[pa.RecordBatch]
SEGMENTS = ("SMALL_BUSINESS", "MID_MARKET", "ENTERPRISE")
OPEN_INVOICE_STATUSES = ("UNPAID", "PARTIALLY_PAID", "OVERDUE")
AGEING_BUCKETS = ("not yet due", "1–30 days", "31–60 days", "61–90 days", "over 90 days")
AGEING_LIMITS = (0, 30, 60, 90)  # the last day late of each bucket but the last


@dataclass(frozen=True)
class Profile:
    orders_per_month: dict[str, int]  # "YYYY-MM" -> orders, every month of the history
    order_values_by_segment: dict[str, np.ndarray]  # segment -> order totals (document currency)
    accounts_by_country: dict[str, int]  # most accounts first
    invoice_ageing: dict[str, int]  # bucket -> open invoices, by days past due at the reference date


def profile(orders: Rows, accounts: pa.Table, invoices: Rows, reference_date: dt.date) -> Profile:
    """``orders`` needs order_date, account_uuid and total_amount; ``accounts`` account_uuid, segment and
    country_code; ``invoices`` status and due_date."""
    months: dict[int, int] = {}  # months since 1970 -> orders
    values: dict[str, list[np.ndarray]] = {s: [] for s in SEGMENTS}
    account_ids, segments = accounts.column("account_uuid").combine_chunks(), accounts.column("segment")
    for batch in _batches(orders):
        found, counts = np.unique(_days(batch.column("order_date")).astype("datetime64[M]").astype(np.int64),
                                  return_counts=True)
        for month, count in zip(found.tolist(), counts.tolist()):
            months[month] = months.get(month, 0) + count
        # each order's segment through Arrow's lookup of its account: no Python string per order
        segment = pc.take(segments, pc.index_in(batch.column("account_uuid"), value_set=account_ids))
        totals = pc.cast(batch.column("total_amount"), pa.float64()).to_numpy(zero_copy_only=False)
        for s in SEGMENTS:
            values[s].append(totals[_true(pc.equal(segment, s))])
    return Profile(_every_month(months), {s: np.sort(np.concatenate([np.zeros(0), *parts]))
                                          for s, parts in values.items()},
                   accounts_by_country(accounts), invoice_ageing(invoices, reference_date))


def _every_month(months: dict[int, int]) -> dict[str, int]:
    """Every month from the first to the last with orders: a month without any shows as zero, not as a gap."""
    if not months:
        return {}
    every = np.arange(min(months), max(months) + 1)
    names = np.datetime_as_string(every.astype("datetime64[M]"), unit="M")
    return {name: months.get(month, 0) for name, month in zip(names.tolist(), every.tolist())}


def accounts_by_country(accounts: pa.Table) -> dict[str, int]:
    counts = pc.value_counts(accounts.column("country_code")).to_pylist()
    return dict(sorted(((c["values"], c["counts"]) for c in counts), key=lambda item: (-item[1], item[0])))


def invoice_ageing(invoices: Rows, reference_date: dt.date) -> dict[str, int]:
    """Open invoices (something left to pay) by how long past due they are on the reference date."""
    counts = np.zeros(len(AGEING_BUCKETS), np.int64)
    for batch in _batches(invoices):
        due = batch.column("due_date")
        open_ = _true(pc.and_(pc.is_in(batch.column("status"), value_set=pa.array(OPEN_INVOICE_STATUSES)),
                              pc.is_valid(due)))
        late = (np.datetime64(reference_date, "D") - _days(due)[open_]).astype(np.int64)
        counts += np.bincount(np.searchsorted(AGEING_LIMITS, late, side="left"), minlength=len(AGEING_BUCKETS))
    return dict(zip(AGEING_BUCKETS, counts.tolist()))


def _batches(rows: Rows) -> Iterable[pa.RecordBatch | pa.Table]:
    return [rows] if isinstance(rows, pa.Table) else rows


def _days(dates: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return pc.cast(dates, pa.date32()).to_numpy(zero_copy_only=False).astype("datetime64[D]")


def _true(mask: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A boolean Arrow mask as numpy, null as False."""
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False).astype(bool)
