"""The product lines of new documents (orders, quotes): how many each has, which products, quantities, unit prices
and discounts.

Drawn a range of documents at a time (``draw_lines``): at the stress tier the quotes draw 3.5 M lines in one call,
and their float temporaries drawn all at once set the funnel plan's peak. Every draw is laid out on the caller's
stream (``random.Draws``), so the parts hold the bytes one draw over all the documents gives, whatever their size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crm_mock.generate.inventory import TYPE, ProductPlan
from crm_mock.generate.money import cents_per_unit, discounted_total, rates, round_to
from crm_mock.generate.random import Draws, Stream
from crm_mock.model import vocabularies as v
from crm_mock.scenario import TierPlan

LINES_PER_ORDER = {"SMALL_BUSINESS": (1, 3), "MID_MARKET": (1, 5), "ENTERPRISE": (2, 8)}
QUANTITY_SCALE = {"SMALL_BUSINESS": 1.0, "MID_MARKET": 1.8, "ENTERPRISE": 4.0}
# line discounts in whole percent: (share of lines discounted, lowest, highest)
DISCOUNT = {"SMALL_BUSINESS": (0.1, 2, 5), "MID_MARKET": (0.4, 3, 10), "ENTERPRISE": (0.8, 5, 15)}
MAX_LINE_CENTS = 100_000_000  # large quantities of expensive items are capped at 1 M (base currency) per line
# documents per part of ``draw_lines``: their temporaries are a few MB, not hundreds
PART_DOCUMENTS = 100_000
# a part's columns, in order, and their types (``compact_lines``)
LINE_COLUMNS = ("product", "quantity", "price", "discount")


@dataclass(frozen=True)
class ProductChoice:
    """The products lines are drawn from, weighted by popularity, and the zero-stock ones a backordered document
    waits on: built once per plan, not per block of documents."""

    orderable: np.ndarray
    cumulative: np.ndarray
    zero_stock: np.ndarray


def product_choice(products: ProductPlan, popularity: Stream) -> ProductChoice:
    """``popularity``: the stream each product's popularity is drawn from (the same for every kind of document)."""
    orderable = np.flatnonzero(~products.discontinued & ~products.zero_stock)
    weight = popularity.lognormal(1.0, 1.0, len(products.product_type))
    return ProductChoice(orderable, np.cumsum(weight[orderable]), np.flatnonzero(products.zero_stock))


def draw_lines(plan: TierPlan, segment: np.ndarray, currency: np.ndarray, backordered: np.ndarray,
               products: ProductPlan, choice: ProductChoice, rng: Stream,
               part_documents: int = PART_DOCUMENTS) -> tuple[np.ndarray, list[list[np.ndarray]]]:
    """The lines of new documents (one per row of ``segment``, ``currency`` and ``backordered``): their offsets
    (document d's lines are ``offsets[d]:offsets[d + 1]``) and the parts, each the columns of LINE_COLUMNS for a
    range of documents in order (``joined`` puts a column's parts together). Draws on ``rng`` from where it is."""
    n = len(segment)
    names = np.array(v.ACCOUNT_SEGMENT)
    low = np.array([LINES_PER_ORDER[s][0] for s in names])[segment]
    high = np.array([LINES_PER_ORDER[s][1] for s in names])[segment]
    offsets = np.concatenate([[0], np.cumsum(rng.integers(low, high + 1, n))])
    del low, high
    m = int(offsets[-1])
    backordered_before = np.concatenate([[0], np.cumsum(backordered)])
    # the draws keep the order they had when made over every line at once: products, the backordered documents'
    # zero-stock products, finished goods', raw materials' and the rest's base quantities, discounts
    draws = Draws(rng, [("product", m, "uniform"), ("zero_stock", int(backordered_before[-1]), "uniform"),
                        ("finished", m, "normal"), ("raw", m, "normal"), ("base", m, "normal"),
                        ("discounted", m, "uniform"), ("discount", m, "uniform")])
    parts = [_part(plan, segment[a:b], currency[a:b], backordered[a:b], offsets[a:b + 1],
                   int(backordered_before[a]), products, choice, draws)
             for a, b in ((a, min(a + part_documents, n)) for a in range(0, max(n, 1), part_documents))]
    return offsets, parts


def _part(plan: TierPlan, segment: np.ndarray, currency: np.ndarray, backordered: np.ndarray, offsets: np.ndarray,
          zero_start: int, products: ProductPlan, choice: ProductChoice, draws: Draws) -> list[np.ndarray]:
    """The lines of a range of documents: ``offsets`` are theirs among all the documents' lines, ``zero_start`` the
    backordered documents before them."""
    first, last = int(offsets[0]), int(offsets[-1])
    local = offsets - first
    names = np.array(v.ACCOUNT_SEGMENT)
    order = np.repeat(np.arange(len(segment)), np.diff(local))

    u = draws.uniform("product", first, last)
    product = choice.orderable[np.minimum(np.searchsorted(choice.cumulative, u * choice.cumulative[-1], side="right"),
                                          len(choice.orderable) - 1)]
    del u
    # a backordered order waits on one zero-stock product (its first line); no other order has one
    first_lines = local[:-1][backordered]
    product[first_lines] = choice.zero_stock[draws.integers("zero_stock", 0, len(choice.zero_stock), zero_start,
                                                            zero_start + len(first_lines))]

    kind = products.product_type[product]
    finished, raw = kind == TYPE["FINISHED_GOOD"], kind == TYPE["RAW_MATERIAL"]
    del kind
    base = draws.lognormal("base", 6.0, 0.7, first, last)
    base[raw] = 10 * draws.lognormal("raw", 8.0, 0.8, first, last)[raw]
    base[finished] = draws.lognormal("finished", 3.0, 0.9, first, last)[finished]
    del finished, raw
    line_segment = segment[order]
    base *= np.array([QUANTITY_SCALE[s] for s in names])[line_segment]  # the quantity before its floor
    rate, unit = rates(plan, currency)[order], cents_per_unit(currency)[order]
    unit_price = np.maximum(unit, round_to(products.list_price_cents[product] * rate, unit))
    share = np.array([DISCOUNT[s][0] for s in names])[line_segment]
    discounted = draws.uniform("discounted", first, last) < share
    low_pct, high_pct = (np.array([DISCOUNT[s][i] for s in names])[line_segment] for i in (1, 2))
    discount = np.where(discounted, low_pct + np.floor(draws.uniform("discount", first, last)
                                                       * (high_pct - low_pct + 1)), 0).astype(np.int64)
    quantity = np.maximum(1, np.floor(base)).astype(np.int64)
    quantity = np.maximum(1, np.minimum(quantity, (MAX_LINE_CENTS * rate / unit_price).astype(np.int64)))
    quantity = _up_to_minimum(plan, local, quantity, unit_price, discount, unit, rate)
    product, quantity, discount = compact_lines(product, quantity, discount)
    return [product, quantity, unit_price, discount]


def _up_to_minimum(plan: TierPlan, offsets: np.ndarray, quantity: np.ndarray, price: np.ndarray,
                   discount: np.ndarray, unit: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Raise the first line's quantity of documents below the scenario's minimum order value."""
    if not len(quantity) or plan.commercial.min_order_value <= 0:
        return quantity
    totals = np.add.reduceat(discounted_total(quantity, price, discount, unit), offsets[:-1])
    minimum = plan.commercial.min_order_value * 100 * rate[offsets[:-1]]
    short = np.flatnonzero(totals < minimum)
    first = offsets[:-1][short]
    per_item = np.maximum(price[first] * (100 - discount[first]) / 100, 1)
    missing = minimum[short] - (totals[short] - discounted_total(quantity[first], price[first], discount[first],
                                                                  unit[first]))
    quantity = quantity.copy()
    quantity[first] = np.maximum(quantity[first], np.ceil(missing / per_item).astype(np.int64))
    return quantity


def compact_lines(product: np.ndarray, quantity: np.ndarray, discount: np.ndarray) -> tuple[np.ndarray, ...]:
    """Line columns in the narrowest types that hold them (product index and quantity in int32, whole-percent
    discount in int8): the plans of lines (orders, quotes, invoices) are the tier's largest, 7-9 M lines each
    at the stress tier. Money stays int64, and ``discounted_total`` widens before it multiplies."""
    narrowed = (np.asarray(product).astype(np.int32), np.asarray(quantity).astype(np.int32),
                np.asarray(discount).astype(np.int8))
    for wide, narrow in zip((product, quantity, discount), narrowed):
        if len(wide) and not np.array_equal(wide, narrow):  # a scenario beyond these ranges keeps its values
            raise OverflowError("a line column does not fit its compact type")
    return narrowed


def joined(parts: list[list[np.ndarray]], column: str, copied: np.ndarray | None = None,
           copied_lines: np.ndarray | None = None) -> np.ndarray:
    """One column of ``draw_lines``' parts, each part's copy let go once joined: the parts and the whole never all
    live at once. With ``copied``, the column starts with the lines of it where ``copied_lines`` holds (lines
    copied from other documents: the accepted quotes' are their orders' lines), gathered straight into place."""
    index = LINE_COLUMNS.index(column)
    head = 0 if copied is None else int(np.count_nonzero(copied_lines))
    dtypes = [part[index].dtype for part in parts] + ([copied.dtype] if copied is not None else [])
    whole = np.empty(head + sum(len(part[index]) for part in parts), dtype=np.result_type(*dtypes))
    if copied is not None:
        np.compress(copied_lines, copied, out=whole[:head])
    start = head
    for part in parts:
        whole[start:start + len(part[index])] = part[index]
        start += len(part[index])
        part[index] = None
    return whole
