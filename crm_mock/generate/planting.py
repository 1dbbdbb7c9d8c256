"""Where each edge case lands in a tier: rows chosen deterministically from the seed, never on the
golden rows, and with a density set in the scenario (0: only the golden scenarios)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from itertools import islice

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crm_mock.edge_cases.catalog import EdgeCase, load_catalog
from crm_mock.generate.account_layout import row_countries
from crm_mock.generate.memo import memoised
from crm_mock.generate.random import Stream
from crm_mock.model import CATALOG
from crm_mock.scenario import TierPlan

GOLDEN_HOLD_ACCOUNT = 1  # Acme Corp is account 0
GOLDEN_TICKET = 0  # the golden account's URGENT ticket
SUSPENDED_TICKET = 1  # the suspended account's open ticket
FORCED_TICKETS = (GOLDEN_TICKET, SUSPENDED_TICKET)
GOLDEN_OVERDUE_INVOICES = 3
LARGEST_PRICE_CENTS = 999_999_999  # 9,999,999.99


@dataclass(frozen=True)
class Plant:
    """What a generator planted for an edge case or a golden scenario: the row of ``table`` it chose, and
    the column and value where it set one. The manifest is made of these records, never restated."""

    case_id: str
    table: str
    row: int
    column: str | None = None
    value: object = None


# rows no random plant may touch: the golden accounts, Acme's contacts, the forced tickets
# and the chief executive (the org chart is built from the top: the first hire stays the first)
RESERVED_ROWS = {"contact.accounts": (0, GOLDEN_HOLD_ACCOUNT), "support.tickets": FORCED_TICKETS, "hr.employees": (0,)}


def rows_per_case(plan: TierPlan) -> int:
    return 0 if plan.edge_density == 0 else max(1, int(np.floor(plan.edge_density + 0.5)))


def table_rows(plan: TierPlan, table: str) -> int:
    counts = {"hr.employees": plan.employees, "contact.accounts": plan.accounts, "contact.contacts": plan.contacts,
              "inventory.products": plan.products, "support.tickets": plan.tickets}
    return counts[table]


def _cases(kind_or_table: str) -> list[EdgeCase]:
    return [c for c in load_catalog() if c.table == kind_or_table]


class RowOrder:
    """A deterministic order of the rows of a table that plants may use (reserved rows left out): the rows
    sorted by one uniform draw each. Plants take a handful of its first rows, so only the smallest draws are
    sorted, not the whole table (at the stress tier, sorting every row for every planted column took seconds)."""

    def __init__(self, draws: np.ndarray, reserved: set[int]) -> None:
        self._draws = draws
        self.reserved = np.array(sorted(reserved), dtype=np.int64)

    def first(self, count: int, allowed: np.ndarray | None = None) -> np.ndarray:
        """The first ``count`` rows of the order (fewer when the table has fewer), only ``allowed`` ones when
        a mask is given."""
        n = len(self._draws)
        wanted = count + len(self.reserved) + 16
        while True:
            rows = _smallest(self._draws, min(wanted, n))
            rows = rows[~np.isin(rows, self.reserved)]
            if allowed is not None:
                rows = rows[allowed[rows]]
            if len(rows) >= count or wanted >= n:
                return rows[:count]
            wanted *= 4


def _smallest(values: np.ndarray, m: int) -> np.ndarray:
    """The first ``m`` indices of ``np.argsort(values, kind="stable")``, without sorting them all."""
    if m >= len(values):
        return np.argsort(values, kind="stable")
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    cut = np.partition(values, m - 1)[m - 1]
    candidates = np.flatnonzero(values <= cut)  # ties with the cut included, in index order
    return candidates[np.argsort(values[candidates], kind="stable")][:m]


def _row_order(plan: TierPlan, stream: str, table: str) -> RowOrder:
    n = table_rows(plan, table)
    reserved = set(RESERVED_ROWS.get(table, ()))
    if table == "contact.contacts":
        reserved |= set(range(plan.acme_contacts))  # Acme's contacts come first
    # the order Stream.permutation(n) gives, drawn the same way
    return RowOrder(Stream(plan.seed, "edge_cases", stream).uniform(n), reserved)


def _choose(plan: TierPlan, table: str, order: RowOrder, countries: tuple[str, ...] | None, used: set[int],
            k: int) -> list[int]:
    """The first ``k`` unused rows of ``order``, among the rows of ``countries`` when the tier has enough."""
    # a case that fits some countries lands on their rows (a French city in a French address)
    index = row_countries(plan, table) if countries else None
    allowed = None
    if index is not None:
        codes = tuple(plan.country_shares)
        fits = np.isin(index, [codes.index(c) for c in countries if c in codes])
        fits[order.reserved] = False
        allowed = fits if int(fits.sum()) >= k + len(used) else None
    rows = order.first(k + len(used), allowed)
    return list(islice((int(r) for r in rows if int(r) not in used), k))


def _cells(plan: TierPlan) -> dict[str, dict[str, dict[int, tuple[str, object]]]]:
    cells: dict[str, dict[str, dict[int, tuple[str, object]]]] = defaultdict(lambda: defaultdict(dict))
    k = rows_per_case(plan)
    if k == 0:
        return {}
    extra = {  # date and null plants on master tables
        "hr.employees": [("leap_day_hire", "hire_date", _leap_day(plan, years_back=12)),
                         ("end_of_month_hire", "hire_date", dt.date(plan.reference_date.year - 2, 12, 31))],
        "contact.contacts": [("empty_nullable", "job_title", None)],
    }
    for table in sorted({c.table for c in load_catalog() if c.table} | set(extra)):
        plants = [(c.id, c.column, c.text(plan.contact_details), c.countries) for c in _cases(table)]
        plants += [(*plant, None) for plant in extra.get(table, [])]
        # rows are shared between columns but never between two cases of one column
        for column in sorted({p[1] for p in plants}):
            order = _row_order(plan, f"{table}.{column}", table)
            used: set[int] = set()
            for case_id, _, value, countries in (p for p in plants if p[1] == column):
                for row in _choose(plan, table, order, countries, used, k):
                    used.add(row)
                    cells[table][column][row] = (case_id, value)
    return {t: dict(c) for t, c in cells.items()}


def planted_cells(plan: TierPlan) -> dict[str, dict[str, dict[int, tuple[str, object]]]]:
    """table -> column -> row index -> (case id, value) for the plants on master tables."""
    return memoised("edge_cells", plan, _cells)


def plant_cells(plan: TierPlan, table: str, start: int, data: pa.Table) -> pa.Table:
    """Overwrite the planted cells of rows start..start+len(data)-1 of ``table`` (a replica takes its
    master's plants on the columns it copies)."""
    model = CATALOG[table]
    sources = [(table, None)]
    if model.replica_of:
        sources = [(model.replica_of.master, set(model.replica_of.columns))]
    for source, columns in sources:
        for column, rows in planted_cells(plan).get(source, {}).items():
            if columns is not None and column not in columns:
                continue
            hits = {r - start: value for r, (_, value) in rows.items() if start <= r < start + data.num_rows}
            if not hits:
                continue
            index = data.schema.get_field_index(column)
            field = data.schema.field(index)
            mask = np.zeros(data.num_rows, dtype=bool)
            positions = sorted(hits)
            mask[positions] = True
            # in place of the block's values, in Arrow: the column never becomes Python objects
            planted = pc.replace_with_mask(data.column(index).combine_chunks(), pa.array(mask),
                                           pa.array([hits[p] for p in positions], field.type))
            data = data.set_column(index, field, planted)
    return data


def _leap_day(plan: TierPlan, years_back: int) -> dt.date:
    """The latest 29 February at least a month before the reference date."""
    year = plan.reference_date.year
    for y in range(year, year - years_back - 1, -1):
        if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0):
            day = dt.date(y, 2, 29)
            if day <= plan.reference_date - dt.timedelta(days=30):
                return day
    raise ValueError("no leap day in range")


def leap_day_moment(plan: TierPlan) -> np.datetime64:
    return np.datetime64(dt.datetime.combine(_leap_day(plan, plan.realism.account_history_years), dt.time(10, 0)), "s")
