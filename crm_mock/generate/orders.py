"""orders.sales_orders and orders.order_lines, and the order plan every later workflow step reads.

Orders are numbered in time order (generated sequentially). Their statuses come from the Part A
quotas first (SHIPPED with an UNPAID invoice, BACKORDERED on a zero-stock product) and the scenario's
mix for the rest; each status draws its timing so the workflow is consistent with the reference date.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from crm_mock.generate.contact import AccountPlan, account_uuids, cached_account_plan
from crm_mock.generate.frame import Block, Blocks, blocked, blocks_of, build_table, cents_to_money
from crm_mock.generate.ids import derive_uuids, uuids_at
from crm_mock.generate.inventory import ProductPlan, cached_product_plan
from crm_mock.generate.line_draws import LINE_COLUMNS, draw_lines, joined, product_choice
from crm_mock.generate.lines import product_lines_block
from crm_mock.generate.memo import memoised, spill
from crm_mock.generate.money import (
    DocumentNumbers, cents_per_unit, document_numbers, document_totals, rates, round_to,
)
from crm_mock.generate.planting import (
    GOLDEN_HOLD_ACCOUNT, GOLDEN_OVERDUE_INVOICES, LARGEST_PRICE_CENTS, Plant, rows_per_case,
)
from crm_mock.generate.random import Stream
from crm_mock.generate.timeline import SECONDS_PER_DAY, moment, seasonal_moments, within_working_hours
from crm_mock.model import vocabularies as v
from crm_mock.scenario import TierPlan
from crm_mock.scenario.plan import apportion

ORDERS = "orders.sales_orders"
ORDER_LINES = "orders.order_lines"
ORDER_ENTITY = "order"
ORDER_LINE_ENTITY = "order_line"
QUOTE_ENTITY = "quote"

# the kinds of order the plan makes; SHIPPED_UNPAID and BACKORDERED are Part A quotas
KINDS = ("PENDING", "CONFIRMED", "SHIPPED", "DELIVERED", "CANCELLED", "SHIPPED_UNPAID", "BACKORDERED")
KIND = {k: i for i, k in enumerate(KINDS)}
KIND_STATUS = np.array([v.ORDER_STATUS.index(k.removesuffix("_UNPAID")) for k in KINDS])
# how old (days before the reference moment) an order of each kind may be; None: the whole window
KIND_AGE_DAYS = {"PENDING": (0, 3), "CONFIRMED": (0.5, 10), "SHIPPED": (2, 12), "SHIPPED_UNPAID": (2, 12),
                 "BACKORDERED": (1, 45), "DELIVERED": (14, None), "CANCELLED": (0, None)}
SEGMENT_ORDER_WEIGHT = {"SMALL_BUSINESS": 1.0, "MID_MARKET": 3.0, "ENTERPRISE": 8.0}
# an account the draws fall back on when every account drawn for a moment had stopped buying
FALLBACK_ACCOUNT = 0
REDRAWS = 8


@dataclass(frozen=True)
class OrderPlan:
    kind: np.ndarray  # index into KINDS, in order-number order
    placed_at: np.ndarray  # datetime64[s]
    shipped_at: np.ndarray  # datetime64[s], NaT when not shipped
    account: np.ndarray
    quote_backed: np.ndarray  # bool: placed from an accepted quote
    line_offsets: np.ndarray  # n + 1 offsets into the line arrays
    line_product: np.ndarray
    line_quantity: np.ndarray
    line_price_cents: np.ndarray  # in the order's currency
    line_discount: np.ndarray  # whole percent
    currency: np.ndarray  # object: the account's ISO 4217 code, per order
    number: DocumentNumbers  # SO-YYYY-NNNNNNN
    golden_orders: np.ndarray  # the golden credit-hold account's orders (their invoices go unpaid)
    plants: tuple[Plant, ...]  # the edge-case order lines

    @property
    def edges(self) -> dict[str, int]:
        """Edge-case name -> the order line planted for it."""
        return {p.case_id: p.row for p in self.plants}

    @property
    def status(self) -> np.ndarray:
        return KIND_STATUS[self.kind]

    @property
    def line_order(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.kind)), np.diff(self.line_offsets))

    @property
    def total_cents(self) -> np.ndarray:
        return document_totals(self.line_offsets, self.line_quantity, self.line_price_cents, self.line_discount,
                               cents_per_unit(self.currency))

    def is_shipped(self) -> np.ndarray:
        return ~np.isnat(self.shipped_at)


def order_uuids(plan: TierPlan, indices) -> pa.StringArray:
    return uuids_at(plan.ids, ORDER_ENTITY, indices)


def accepted_quote_index(orders: OrderPlan) -> np.ndarray:
    """Accepted quotes are numbered by the quote-backed orders they became (-1: no quote)."""
    index = np.full(len(orders.kind), -1, dtype=np.int64)
    index[orders.quote_backed] = np.arange(int(orders.quote_backed.sum()))
    return index


def _kinds(plan: TierPlan, rng: Stream) -> np.ndarray:
    rest = plan.sales_orders - plan.shipped_unpaid_orders - plan.backordered_orders
    counts = apportion(rest, plan.order_status_mix)
    counts.update(SHIPPED_UNPAID=plan.shipped_unpaid_orders, BACKORDERED=plan.backordered_orders)
    kinds = np.repeat(np.arange(len(KINDS)), [counts.get(k, 0) for k in KINDS])
    return kinds[rng.permutation(len(kinds))]


def _placed_at(plan: TierPlan, kinds: np.ndarray, rng: Stream) -> np.ndarray:
    reference = moment(plan.reference_moment)
    window_days = (plan.reference_date - plan.history_start).days
    youngest = np.array([KIND_AGE_DAYS[k][0] for k in KINDS])[kinds]
    oldest = np.array([KIND_AGE_DAYS[k][1] or window_days for k in KINDS])[kinds]
    latest = reference - (youngest * SECONDS_PER_DAY).astype("timedelta64[s]")
    earliest = reference - (oldest * SECONDS_PER_DAY).astype("timedelta64[s]")
    return seasonal_moments(plan.history_start, plan.reference_date, earliest, latest,
                            rng.uniform(len(kinds)), rng.uniform(len(kinds)))


@dataclass(frozen=True)
class AccountDraw:
    """Accounts in creation order with their cumulative weights: drawn from block after block, built once."""

    by_creation: np.ndarray
    created: np.ndarray  # the accounts' creation moments, in that order
    cumulative: np.ndarray


def account_draw(accounts: AccountPlan, weight: np.ndarray) -> AccountDraw:
    by_creation = np.argsort(accounts.created_at, kind="stable")
    return AccountDraw(by_creation, accounts.created_at[by_creation], np.cumsum(weight[by_creation]))


def weighted_accounts(draw: AccountDraw, at: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Accounts drawn with the draw's weights, each from those that already existed at its moment ``at``."""
    eligible = np.maximum(np.searchsorted(draw.created, at, side="right"), 1)
    pick = np.searchsorted(draw.cumulative, u * draw.cumulative[eligible - 1], side="right")
    return draw.by_creation[np.minimum(pick, eligible - 1)]


def buying_accounts(accounts: AccountPlan, draw: AccountDraw, at: np.ndarray, rng: Stream) -> np.ndarray:
    """Accounts drawn with the draw's weights among those that existed and still bought at each moment
    ``at``: a draw that lands on a closed, suspended or held account is drawn again (Acme Corp in the end)."""
    account = weighted_accounts(draw, at, rng.uniform(len(at)))
    for _ in range(REDRAWS):
        stopped = np.flatnonzero(~accounts.buying(account, at))
        if not len(stopped):
            return account
        account[stopped] = weighted_accounts(draw, at[stopped], rng.uniform(len(stopped)))
    stopped = ~accounts.buying(account, at)
    account[stopped] = FALLBACK_ACCOUNT
    return account


def _order_draw(plan: TierPlan, accounts: AccountPlan) -> AccountDraw:
    """Skewed toward large accounts and a few big customers (drawn once per plan, not per block)."""
    def build(p: TierPlan) -> AccountDraw:
        weight_rng = Stream(p.seed, ORDERS, "account_weights")
        segment_weight = np.array([SEGMENT_ORDER_WEIGHT[s] for s in v.ACCOUNT_SEGMENT])[accounts.segment]
        weight = segment_weight * weight_rng.lognormal(1.0, 1.0, len(accounts.segment))
        # the golden credit-hold account gets exactly its planted orders; the edge case without orders none
        weight[[GOLDEN_HOLD_ACCOUNT, *([accounts.edges["account_without_orders"]]
                                        if "account_without_orders" in accounts.edges else [])]] = 0.0
        return account_draw(accounts, weight)
    return memoised("order_account_draw", plan, build)


def accounts_for(plan: TierPlan, accounts: AccountPlan, placed_at: np.ndarray, rng: Stream) -> np.ndarray:
    """Skewed toward large accounts and a few big customers; never an account created after the order or
    one that had stopped buying by then."""
    return buying_accounts(accounts, _order_draw(plan, accounts), placed_at, rng)


def product_popularity(plan: TierPlan) -> Stream:
    """How popular each product is on the lines of every kind of document (orders and quotes alike)."""
    return Stream(plan.seed, ORDER_LINES, "popularity")


def order_plan(plan: TierPlan) -> OrderPlan:
    accounts = cached_account_plan(plan)
    products = cached_product_plan(plan)
    assign = Stream(plan.seed, ORDERS, "assign")
    kinds = _kinds(plan, assign)
    placed = _placed_at(plan, kinds, Stream(plan.seed, ORDERS, "timing"))
    sequence = np.argsort(placed, kind="stable")  # order numbers follow time
    kinds, placed = kinds[sequence], placed[sequence]
    n = len(kinds)

    account = np.empty(n, dtype=np.int64)
    golden = _golden_orders(plan, kinds, placed)
    shipped = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    quote_backed = np.empty(n, dtype=bool)
    reference = moment(plan.reference_moment)
    ships = np.isin(kinds, [KIND[k] for k in ("SHIPPED", "SHIPPED_UNPAID", "DELIVERED")])
    for block in blocks_of(n, plan.block_rows):
        rng = Stream(plan.seed, ORDERS, "rows", block=block.index)
        rows = slice(block.start, block.stop)
        account[rows] = accounts_for(plan, accounts, placed[rows], rng)
        # shipped half a day to five days after the order, and never after the reference moment
        room = (reference - placed[rows]).astype(np.int64)
        lag = np.minimum(SECONDS_PER_DAY * (0.5 + 4.5 * rng.uniform(block.size)), room * 0.9).astype(np.int64)
        candidate = within_working_hours(placed[rows] + lag.astype("timedelta64[s]"))
        shipped[rows] = np.where(ships[rows], candidate, np.datetime64("NaT"))
        quote_backed[rows] = rng.bernoulli(plan.conversion.orders_from_quotes, block.size)

    account[golden] = GOLDEN_HOLD_ACCOUNT
    segment = accounts.segment[account]
    currency = accounts.currency[account]
    choice = product_choice(products, product_popularity(plan))
    line_blocks = [draw_lines(plan, segment[b.start:b.stop], currency[b.start:b.stop],
                              kinds[b.start:b.stop] == KIND["BACKORDERED"], products, choice,
                              Stream(plan.seed, ORDER_LINES, "rows", block=b.index))
                   for b in blocks_of(n, plan.block_rows)]
    lines_per_block = np.array([block_offsets[-1] for block_offsets, _ in line_blocks], dtype=np.int64)
    first_line = np.cumsum(lines_per_block) - lines_per_block
    offsets = np.concatenate([[0], *(start + block_offsets[1:]
                                     for start, (block_offsets, _) in zip(first_line, line_blocks))]).astype(np.int64)
    parts = [part for _, block_parts in line_blocks for part in block_parts]
    del line_blocks
    product, quantity, price, discount = (joined(parts, column) for column in LINE_COLUMNS)
    plants = _plant_lines(plan, kinds, golden, offsets, product, quantity, price, discount, products, currency)
    # the finished fields go ahead to the plan's file (the numbers are drawn next)
    offsets, product, quantity, price, discount, shipped, account, quote_backed = (
        spill(a) for a in (offsets, product, quantity, price, discount, shipped, account, quote_backed))
    return OrderPlan(kind=kinds, placed_at=placed, shipped_at=shipped, account=account, quote_backed=quote_backed,
                     line_offsets=offsets, line_product=product, line_quantity=quantity, line_price_cents=price,
                     line_discount=discount, currency=currency, number=document_numbers("SO", placed),
                     golden_orders=golden, plants=plants)


def _golden_orders(plan: TierPlan, kinds: np.ndarray, placed: np.ndarray) -> np.ndarray:
    """Delivered orders 100-300 days old (the oldest delivered ones if there are too few) for the golden
    credit-hold account: old enough for their invoices to be overdue."""
    delivered = np.flatnonzero(kinds == KIND["DELIVERED"])
    age = (moment(plan.reference_moment) - placed[delivered]).astype(np.int64) / SECONDS_PER_DAY
    suitable = delivered[(age >= 100) & (age <= 300)]
    pool = suitable if len(suitable) >= GOLDEN_OVERDUE_INVOICES else delivered[np.argsort(-age, kind="stable")]
    return np.sort(pool[:GOLDEN_OVERDUE_INVOICES])


def _plant_lines(plan: TierPlan, kinds: np.ndarray, golden: np.ndarray, offsets: np.ndarray, product: np.ndarray,
                 quantity: np.ndarray, price: np.ndarray, discount: np.ndarray, products: ProductPlan,
                 currency: np.ndarray) -> tuple[Plant, ...]:
    """Edge-case order lines (extreme amounts, zero quantity or price, a discontinued product on an open
    order), each the first line of its own order (one priced in cents: 0.01 is no amount in yen, and
    undiscounted); totals, invoices and stock follow from the plan."""
    if rows_per_case(plan) == 0:
        return ()
    rng = Stream(plan.seed, "edge_cases", ORDER_LINES)
    in_cents = cents_per_unit(currency) == 1
    delivered = np.setdiff1d(np.flatnonzero((kinds == KIND["DELIVERED"]) & in_cents), golden)
    delivered = delivered[rng.permutation(len(delivered))]
    plants: list[Plant] = []
    for order, (name, new_quantity, new_price) in zip(delivered, [
        ("largest_amount_line", 1, LARGEST_PRICE_CENTS), ("smallest_amount_line", 1, 1),
        ("zero_quantity_line", 0, None), ("zero_price_line", None, 0),
    ]):
        line = int(offsets[order])
        quantity[line] = quantity[line] if new_quantity is None else new_quantity
        price[line] = price[line] if new_price is None else new_price
        discount[line] = 0
        plants.append(Plant(name, ORDER_LINES, line, "quantity", new_quantity) if new_price is None
                      else Plant(name, ORDER_LINES, line, "unit_price", new_price / 100))
    open_orders = np.flatnonzero(np.isin(kinds, [KIND["PENDING"], KIND["CONFIRMED"]]))
    discontinued = np.flatnonzero(products.discontinued)
    open_orders = open_orders[in_cents[open_orders]]
    if len(open_orders) and len(discontinued):
        order = open_orders[rng.integers(0, len(open_orders), 1)[0]]
        line = int(offsets[order])
        product[line] = discontinued[0]
        price[line] = round_to(products.list_price_cents[[discontinued[0]]] * rates(plan, currency[[order]]), 1)[0]
        discount[line] = 0
        plants.append(Plant("discontinued_product_on_open_order", ORDER_LINES, line, "product_uuid"))
    return tuple(plants)


def cached_order_plan(plan: TierPlan) -> OrderPlan:
    return memoised("orders", plan, order_plan)


def _order_block(plan: TierPlan, orders: OrderPlan, quote_index: np.ndarray, totals: np.ndarray,
                 block: Block) -> pa.Table:
    rows = slice(block.start, block.stop)
    quote = quote_index[rows]
    quote_ids = uuids_at(plan.ids, QUOTE_ENTITY, np.maximum(quote, 0)).to_numpy(zero_copy_only=False).astype(object)
    quote_ids[quote < 0] = None
    return build_table(ORDERS, {
        "order_uuid": derive_uuids(plan.ids, ORDER_ENTITY, block.start, block.stop),
        "order_number": orders.number[rows],
        "account_uuid": account_uuids(plan, orders.account[rows]),
        "quote_uuid": quote_ids,
        "status": np.array(v.ORDER_STATUS, dtype=object)[orders.status[rows]],
        "currency_code": orders.currency[rows],
        "order_date": orders.placed_at[rows].astype("datetime64[D]"),
        "shipped_at": orders.shipped_at[rows],
        "total_amount": cents_to_money(totals[rows]),
    })


@blocked
def generate_sales_orders(plan: TierPlan) -> Blocks:
    orders = cached_order_plan(plan)
    quote_index, totals = accepted_quote_index(orders), orders.total_cents  # once, not per block
    return Blocks(lambda b: _order_block(plan, orders, quote_index, totals, b), plan.sales_orders, plan.block_rows)


@blocked
def generate_order_lines(plan: TierPlan) -> Blocks:
    """Blocks here are blocks of orders; each yields the lines of its orders."""
    orders = cached_order_plan(plan)
    unit = cents_per_unit(orders.currency)
    return Blocks(lambda b: product_lines_block(plan, ORDER_LINES, ORDER_ENTITY, orders.line_offsets, orders.line_product,
                                                orders.line_quantity, orders.line_price_cents, orders.line_discount,
                                                unit, b),
                    plan.sales_orders, plan.block_rows, unit="orders")
