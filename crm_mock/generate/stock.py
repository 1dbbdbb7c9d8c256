"""inventory.stock_movements: the movement journal whose sum per (product, warehouse) is the stock level.

Each stock row opens with a receipt early in the timeline and is replenished as it runs low: a receipt of
about `inventory.replenishment_cover_days` of the row's demand arrives just before the shipment that
would have emptied it, and a last delivery (or a smaller last batch) lands the running balance on today's
quantity on hand. The balance never goes negative. Shipments reference the order they ship; adjustments
are cycle-count losses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from crm_mock.generate.frame import Block, Blocks, blocked, build_table
from crm_mock.generate.ids import derive_uuids
from crm_mock.generate.inventory import StockPlan, cached_stock_plan, product_uuids, warehouse_uuids
from crm_mock.generate.memo import drop_spilled_pages, let_go, memoised, spill
from crm_mock.generate.orders import cached_order_plan, order_uuids
from crm_mock.generate.random import Stream
from crm_mock.generate.timeline import SECONDS_PER_DAY, moment, moments_between, within_working_hours
from crm_mock.model import vocabularies as v
from crm_mock.scenario import TierPlan

MOVEMENTS = "inventory.stock_movements"
SHRINKAGE_SHARE = 0.1
OPENING_HOUR = 6


@dataclass(frozen=True)
class Movements:
    stock_row: np.ndarray  # index into the stock plan: which (product, warehouse)
    movement_type: np.ndarray  # index into v.MOVEMENT_TYPE
    quantity: np.ndarray  # int32: signed, a batch or an order line's quantity
    order: np.ndarray  # -1 when not a shipment
    occurred_at: np.ndarray


@dataclass(frozen=True)
class _Events:
    """What draws stock down (shipments and cycle-count losses), sorted by (stock row, moment); narrow columns,
    since at the stress tier there are 7.7 M of them."""

    row: np.ndarray  # int32
    out: np.ndarray  # int32: units taken
    at: np.ndarray
    order: np.ndarray  # int32: the order shipped, -1 for a loss


def movement_plan(plan: TierPlan) -> Movements:
    stock = cached_stock_plan(plan)
    rng = Stream(plan.seed, MOVEMENTS, "plan")
    ship_row, ship_out, ship_at, ship_order = _shipments(plan, stock, cached_order_plan(plan), rng)
    let_go("orders", plan)  # the journal below needs only the shipments (the order plan is 221 MB at the stress tier)

    # shrinkage: small losses found at cycle counts, never on zero-stock products
    counted = np.flatnonzero(rng.bernoulli(SHRINKAGE_SHARE, len(stock.product)) & (stock.on_hand > 0))
    loss = (1 + np.floor(rng.uniform(len(counted)) * 5)).astype(np.int32)
    start = moment(plan.history_start) + np.timedelta64(OPENING_HOUR * 3600, "s")
    reference = moment(plan.reference_moment)
    loss_at = within_working_hours(moments_between(start + np.timedelta64(SECONDS_PER_DAY, "s"),
                                                   reference - np.timedelta64(SECONDS_PER_DAY, "s"),
                                                   rng.uniform(len(counted))))
    row = np.concatenate([ship_row, counted.astype(np.int32)])
    del ship_row
    at = np.concatenate([ship_at, loss_at])
    del ship_at
    by_row = np.lexsort((at, row))
    # the events wait on disk, each column sorted in turn: the receipts read them once, then the journal joins them
    row, at = spill(row[by_row]), spill(at[by_row])
    events = _Events(row, spill(np.concatenate([ship_out, loss])[by_row]), at,
                     spill(np.concatenate([ship_order, np.full(len(counted), -1, np.int32)])[by_row]))
    del row, at, by_row, ship_out, ship_order
    received_row, received_qty, received_at = _receipts(plan, stock.on_hand, events, start, reference, rng)

    # the journal: receipts, then the events (a stable sort keeps the order of rows alike in all three keys,
    # and the events' order among themselves is the order they were drawn in, per stock row and moment)
    receipt, shipment, adjustment = (v.MOVEMENT_TYPE.index(t) for t in ("RECEIPT", "SHIPMENT", "ADJUSTMENT"))
    events_row, events_out, events_at, events_order = events.row, events.out, events.at, events.order
    del events  # each of its columns goes once it is joined (7.7 M events, 150 MB, at the stress tier)
    movement_type = np.concatenate([np.full(len(received_row), receipt, np.int8),
                                    np.where(events_order >= 0, shipment, adjustment).astype(np.int8)])
    stock_row = np.concatenate([received_row, events_row])
    del received_row, events_row
    # (joined a part at a time, each part's pages read back from the spill file let go before the next)
    occurred = np.empty(len(received_at) + len(events_at), received_at.dtype)
    occurred[:len(received_at)] = received_at
    drop_spilled_pages()
    occurred[len(received_at):] = events_at
    del received_at, events_at
    drop_spilled_pages()
    columns = [stock_row, movement_type, occurred]
    del stock_row, movement_type, occurred  # (the sort takes them over, and lets each go as it can)
    sequence, stock_row, movement_type, occurred = _in_time_order(columns, len(stock.on_hand))
    quantity = spill(np.concatenate([received_qty, -events_out])[sequence])
    del received_qty, events_out
    order = np.concatenate([np.full(len(sequence) - len(events_order), -1, np.int32), events_order])[sequence]
    return Movements(stock_row, movement_type, quantity, order, occurred)


def _in_time_order(columns: list[np.ndarray], rows: int) -> tuple[np.ndarray, ...]:
    """``columns`` (stock row, movement type, moment; the list is emptied): the journal's order (by moment, then type, then stock row; ties in drawn order) as int32 positions (16 M
    movements at the stress tier), and the three columns in it, each spilled. The three keys are packed into one
    int64 (``occurred`` is overwritten with it) and sorted once, then unpacked: a lexsort of the three held them
    all beside its own work. Keys too wide to pack are lexsorted."""
    stock_row, movement_type, occurred = columns
    columns.clear()
    types = len(v.MOVEMENT_TYPE)
    key = occurred.view(np.int64)
    first, last = (int(key.min()), int(key.max())) if len(key) else (0, 0)
    if (last - first + 1) * types * rows >= 2**63:
        sequence = np.lexsort((stock_row, movement_type, occurred)).astype(np.int32)
        return (sequence, spill(stock_row[sequence]), spill(movement_type[sequence]), spill(occurred[sequence]))
    dtype = occurred.dtype
    del occurred  # (its bytes are the key's from here on)
    key -= first
    key *= types
    key += movement_type
    del movement_type
    key *= rows
    key += stock_row
    del stock_row
    sequence = np.argsort(key, kind="stable").astype(np.int32)
    key = key[sequence]
    # each column unpacked straight into its narrow type (no int64 temporary of the whole journal)
    stock_row = spill(np.remainder(key, rows, out=np.empty(len(key), np.int32), casting="unsafe"))
    key //= rows
    movement_type = spill(np.remainder(key, types, out=np.empty(len(key), np.int8), casting="unsafe"))
    key //= types
    key += first
    return sequence, stock_row, movement_type, spill(key.view(dtype))


def _shipments(plan: TierPlan, stock: StockPlan, orders, rng: Stream) -> tuple[np.ndarray, ...]:
    """(stock row, units, moment, order) of every shipped line of a stocked product: it leaves from one warehouse
    that stocks it."""
    first_row = np.searchsorted(stock.product, np.arange(plan.products), side="left")
    rows_per_product = np.searchsorted(stock.product, np.arange(plan.products), side="right") - first_row
    line_order = orders.line_order
    shipped = (orders.is_shipped()[line_order] & (rows_per_product[orders.line_product] > 0)
               & (orders.line_quantity > 0))  # a zero-quantity line moves nothing
    lines = np.flatnonzero(shipped)
    del shipped
    ship_order = line_order[lines].astype(np.int32)
    del line_order
    product = orders.line_product[lines]
    ship_row = first_row[product] + np.floor(rng.uniform(len(lines)) * rows_per_product[product]).astype(np.int64)
    return (ship_row.astype(np.int32), orders.line_quantity[lines].astype(np.int32), orders.shipped_at[ship_order],
            ship_order)


def _within(groups: np.ndarray) -> np.ndarray:
    """For items sorted by group: the position of each group's first item, per item (int32: the journal's
    16 M movements at the stress tier fit, and its event arrays are the receipts' largest temporaries)."""
    if len(groups) >= 2**31:
        raise ValueError(f"{MOVEMENTS}: {len(groups):,} events do not fit the plan's int32 positions")
    starts = np.r_[True, groups[1:] != groups[:-1]] if len(groups) else np.zeros(0, bool)
    return np.maximum.accumulate(np.where(starts, np.arange(len(groups), dtype=np.int32), np.int32(0)))


def _receipts(plan: TierPlan, on_hand: np.ndarray, events: _Events, start: np.datetime64, reference: np.datetime64,
              rng: Stream) -> tuple[np.ndarray, ...]:
    """(stock row, quantity, moment) of every receipt: an opening batch, a batch before each event that
    would take the balance below zero, and a last delivery so the balance ends at ``on_hand``. Rows and
    quantities int32."""
    rows = len(on_hand)
    e_row, e_at = events.row, events.at
    window_days = max((reference - start).astype("timedelta64[D]").astype(np.int64), 1)
    total_out = np.bincount(e_row, weights=events.out, minlength=rows).astype(np.int64)
    batch = np.maximum(5, np.ceil(total_out * plan.inventory.replenishment_cover_days / window_days)).astype(np.int64)

    # the temporaries let go as soon as they are used: at the stress tier an event array is 60 MB and a
    # row array 30 MB, and keeping them made this the largest build of the tier (1.6 GB)
    first = _within(e_row)
    cumulative = np.cumsum(events.out, dtype=np.int64)
    cumulative -= np.where(first > 0, cumulative[first - 1], 0)
    event_batch = batch[e_row]
    # (in place: each event-sized step of this formula is another 60 MB)
    short = np.subtract(cumulative, event_batch, out=cumulative)
    del cumulative
    np.maximum(short, 0, out=short)
    needed = np.divide(short, event_batch)
    del short, event_batch
    needed = np.ceil(needed, out=needed)
    if needed.max(initial=0) >= 2**31:
        raise ValueError(f"{MOVEMENTS}: a stock row needs {needed.max():,.0f} batches, beyond the plan's int32")
    needed = needed.astype(np.int32)  # batch counts: with ``before`` the receipts' largest event arrays
    is_first = first == np.arange(len(e_row), dtype=np.int32)
    del first
    before = np.empty_like(needed)  # the batches needed by the row's event before (none before its first)
    before[1:] = needed[:-1]
    before[is_first] = 0  # the first event of all is the first of its row
    last_of_row = np.r_[e_row[1:] != e_row[:-1], True] if len(e_row) else np.zeros(0, bool)
    batches = np.zeros(rows, np.int64)
    batches[e_row[last_of_row]] = needed[last_of_row]
    first_event = np.full(rows, reference)
    first_event[e_row[is_first]] = e_at[is_first]
    last_event = np.full(rows, start)
    last_event[e_row[last_of_row]] = e_at[last_of_row]
    del last_of_row

    # opening: early on, before the row's first movement; one batch, or all it will ever need
    opening = np.where(batches > 0, batch, total_out + on_hand)
    # the per-row arrays read again only at the end wait on disk meanwhile (six of 29 MB at the stress tier)
    opening, batches, last_event, total_out = (spill(a) for a in (opening, batches, last_event, total_out))
    # (a working day's time: the start is 06:00, plus whole days and up to ten hours)
    early = (np.floor(rng.uniform(rows) * 10) * SECONDS_PER_DAY + np.floor(rng.uniform(rows) * 10 * 3600)).astype(np.int64)
    opening_room = (first_event - start).astype(np.int64) - 3600  # an hour before its first movement at least
    del first_event
    opening_at = spill(start + np.minimum(early, np.maximum(opening_room, 0)).astype("timedelta64[s]"))
    del early, opening_room
    # replenishments: just before the event that needs them, after the one before it
    grew = np.flatnonzero(needed > before)
    grew_row = e_row[grew]
    refill_qty = (needed[grew] - before[grew]) * batch[grew_row]
    batch = spill(batch)
    del needed, before
    previous = np.where(is_first[grew], opening_at[grew_row], e_at[grew - 1])
    del is_first
    grew_at = e_at[grew]
    drop_spilled_pages()  # the events (spilled by the caller) are read no more here
    # (a day or two before it, or earlier the same day; never before the movement before)
    ahead = (np.floor(rng.uniform(len(grew)) * 3) * SECONDS_PER_DAY + 60 + np.floor(rng.uniform(len(grew)) * 3600)).astype(np.int64)
    room = np.maximum((grew_at - previous).astype(np.int64), 0)
    refill_at = grew_at - np.minimum(ahead, room).astype("timedelta64[s]")
    del previous, ahead, room, grew_at
    # the balance after the last movement is opening + batches − demand; land it on today's on hand
    gap = on_hand - (opening + batches * batch - total_out)
    del total_out, batch
    last_refill = np.full(rows, -1)
    last_refill[grew_row] = np.arange(len(grew))  # the later of a row's refills wins
    del grew
    shrink = np.flatnonzero((gap < 0) & (batches > 0))
    refill_qty[last_refill[shrink]] += gap[shrink]
    del last_refill, shrink
    top_up = np.flatnonzero((gap > 0) & (batches > 0))
    del batches
    top_up_at = last_event[top_up] + np.floor(rng.uniform(len(top_up)) * 0.5 * (
        reference - last_event[top_up]).astype(np.int64)).astype(np.int64).astype("timedelta64[s]")
    top_up_at = np.maximum(within_working_hours(top_up_at), last_event[top_up])
    del last_event
    opened = np.flatnonzero(opening > 0)
    # each part narrowed before it is joined, and each result sent ahead to the plan's file
    parts = [opening[opened], refill_qty, gap[top_up]]
    del opening, refill_qty, gap
    if any(len(part) and max(part.max(), -part.min()) >= 2**31 for part in parts):
        raise ValueError(f"{MOVEMENTS}: a receipt of {max(p.max(initial=0) for p in parts):,} units does not fit "
                         "the plan's int32")
    quantities = spill(np.concatenate([part.astype(np.int32) for part in parts]))
    del parts
    moments = spill(np.concatenate([opening_at[opened], refill_at, top_up_at]))
    del opening_at, refill_at, top_up_at
    drop_spilled_pages()  # what the end read back of the per-row arrays
    return np.concatenate([part.astype(np.int32) for part in (opened, grew_row, top_up)]), quantities, moments


def _movement_block(plan: TierPlan, movements: Movements, stock: StockPlan, block: Block) -> pa.Table:
    rows = slice(block.start, block.stop)
    order = movements.order[rows]
    order_ids = order_uuids(plan, np.maximum(order, 0)).to_numpy(zero_copy_only=False).astype(object)
    order_ids[order < 0] = None
    where = movements.stock_row[rows]
    return build_table(MOVEMENTS, {
        "stock_movement_uuid": derive_uuids(plan.ids, "stock_movement", block.start, block.stop),
        "product_uuid": product_uuids(plan, stock.product[where]),
        "warehouse_uuid": warehouse_uuids(plan, stock.warehouse[where]),
        "movement_type": np.array(v.MOVEMENT_TYPE, dtype=object)[movements.movement_type[rows]],
        "quantity": movements.quantity[rows],
        "order_uuid": order_ids,
        "occurred_at": movements.occurred_at[rows],
    })


def cached_movement_plan(plan: TierPlan) -> Movements:
    return memoised("movements", plan, movement_plan)


@blocked
def generate_stock_movements(plan: TierPlan) -> Blocks:
    movements, stock = cached_movement_plan(plan), cached_stock_plan(plan)
    return Blocks(lambda b: _movement_block(plan, movements, stock, b), len(movements.quantity), plan.block_rows)
