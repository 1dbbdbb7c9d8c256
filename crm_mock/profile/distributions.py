"""The distributions of a tier that tell whether its data looks like a business: pure aggregations."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SEGMENTS = ("SMALL_BUSINESS", "MID_MARKET", "ENTERPRISE")
OPEN_INVOICE_STATUSES = ("UNPAID", "PARTIALLY_PAID", "OVERDUE")
AGEING_BUCKETS = ("not yet due", "1–30 days", "31–60 days", "61–90 days", "over 90 days")


@dataclass(frozen=True)
class Profile:
    orders_per_month: dict[str, int]  # "YYYY-MM" -> orders, every month of the history
    order_values_by_segment: dict[str, np.ndarray]  # segment -> order totals (document currency)
    accounts_by_country: dict[str, int]  # most accounts first
    invoice_ageing: dict[str, int]  # bucket -> open invoices, by days past due at the reference date


def orders_per_month(orders: pa.Table) -> dict[str, int]:
    dates = orders.column("order_date").to_pylist()
    if not dates:
        return {}
    counts: dict[str, int] = {}
    for day in dates:
        month = f"{day.year:04d}-{day.month:02d}"
        counts[month] = counts.get(month, 0) + 1
    first, last = min(dates), max(dates)
    months, year, month = {}, first.year, first.month
    while (year, month) <= (last.year, last.month):  # months without orders show as zero, not as a gap
        key = f"{year:04d}-{month:02d}"
        months[key] = counts.get(key, 0)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def order_values_by_segment(orders: pa.Table, accounts: pa.Table) -> dict[str, np.ndarray]:
    segment_of = dict(zip(accounts.column("account_uuid").to_pylist(), accounts.column("segment").to_pylist()))
    segments = np.array([segment_of.get(a) for a in orders.column("account_uuid").to_pylist()], dtype=object)
    totals = pc.cast(orders.column("total_amount"), pa.float64()).to_numpy(zero_copy_only=False)
    return {s: np.sort(totals[segments == s]) for s in SEGMENTS}


def accounts_by_country(accounts: pa.Table) -> dict[str, int]:
    counts = pc.value_counts(accounts.column("country_code")).to_pylist()
    return dict(sorted(((c["values"], c["counts"]) for c in counts), key=lambda item: (-item[1], item[0])))


def invoice_ageing(invoices: pa.Table, reference_date: dt.date) -> dict[str, int]:
    """Open invoices (something left to pay) by how long past due they are on the reference date."""
    buckets = dict.fromkeys(AGEING_BUCKETS, 0)
    rows = zip(invoices.column("status").to_pylist(), invoices.column("due_date").to_pylist())
    for status, due in rows:
        if status not in OPEN_INVOICE_STATUSES or due is None:
            continue
        late = (reference_date - due).days
        bucket = (AGEING_BUCKETS[0] if late <= 0 else AGEING_BUCKETS[1] if late <= 30 else
                  AGEING_BUCKETS[2] if late <= 60 else AGEING_BUCKETS[3] if late <= 90 else AGEING_BUCKETS[4])
        buckets[bucket] += 1
    return buckets


def profile(orders: pa.Table, accounts: pa.Table, invoices: pa.Table, reference_date: dt.date) -> Profile:
    return Profile(orders_per_month(orders), order_values_by_segment(orders, accounts), accounts_by_country(accounts),
                   invoice_ageing(invoices, reference_date))
