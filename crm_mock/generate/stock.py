"""inventory.stock_movements: the movement journal whose sum per (product, warehouse) is the stock level.

An opening receipt at the start of the timeline brings in what the later shipments and shrinkage take
out plus today's quantity on hand, so the running balance never goes negative. Shipments reference the
order they ship; adjustments are cycle-count losses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from crm_mock.generate.frame import Block, assemble, build_table
from crm_mock.generate.ids import derive_uuids
from crm_mock.generate.inventory import cached_stock_plan, product_uuids, warehouse_uuids
from crm_mock.generate.memo import memoised
from crm_mock.generate.orders import cached_order_plan, order_uuids
from crm_mock.generate.random import Stream
from crm_mock.generate.timeline import SECONDS_PER_DAY, moment, moments_between
from crm_mock.model import vocabularies as v
from crm_mock.scenario import TierPlan

MOVEMENTS = "inventory.stock_movements"
SHRINKAGE_SHARE = 0.1
OPENING_HOUR = 6


@dataclass(frozen=True)
class Movements:
    stock_row: np.ndarray  # index into the stock plan: which (product, warehouse)
    movement_type: np.ndarray  # index into v.MOVEMENT_TYPE
    quantity: np.ndarray
    order: np.ndarray  # -1 when not a shipment
    occurred_at: np.ndarray


def movement_plan(plan: TierPlan) -> Movements:
    stock = cached_stock_plan(plan)
    orders = cached_order_plan(plan)
    rng = Stream(plan.seed, MOVEMENTS, "plan")

    # shipments: every shipped line of a stocked product leaves from one warehouse that stocks it
    first_row = np.searchsorted(stock.product, np.arange(plan.products), side="left")
    rows_per_product = np.searchsorted(stock.product, np.arange(plan.products), side="right") - first_row
    line_order = orders.line_order
    shipped = (orders.is_shipped()[line_order] & (rows_per_product[orders.line_product] > 0)
               & (orders.line_quantity > 0))  # a zero-quantity line moves nothing
    lines = np.flatnonzero(shipped)
    product = orders.line_product[lines]
    ship_row = first_row[product] + np.floor(rng.uniform(len(lines)) * rows_per_product[product]).astype(np.int64)
    ship_qty = -orders.line_quantity[lines]
    ship_at = orders.shipped_at[line_order[lines]]

    # shrinkage: small losses found at cycle counts, never on zero-stock products
    counted = np.flatnonzero(rng.bernoulli(SHRINKAGE_SHARE, len(stock.product)) & (stock.on_hand > 0))
    loss = -(1 + np.floor(rng.uniform(len(counted)) * 5)).astype(np.int64)
    start = moment(plan.history_start) + np.timedelta64(OPENING_HOUR * 3600, "s")
    reference = moment(plan.reference_moment)
    loss_at = moments_between(start + np.timedelta64(SECONDS_PER_DAY, "s"), reference, rng.uniform(len(counted)))

    taken = np.bincount(ship_row, weights=-ship_qty, minlength=len(stock.product)).astype(np.int64)
    taken += np.bincount(counted, weights=-loss, minlength=len(stock.product)).astype(np.int64)
    opening = stock.on_hand + taken
    received = np.flatnonzero(opening > 0)

    receipt, shipment, adjustment = (v.MOVEMENT_TYPE.index(t) for t in ("RECEIPT", "SHIPMENT", "ADJUSTMENT"))
    stock_row = np.concatenate([received, ship_row, counted])
    movement_type = np.concatenate([np.full(len(received), receipt), np.full(len(lines), shipment),
                                    np.full(len(counted), adjustment)])
    quantity = np.concatenate([opening[received], ship_qty, loss])
    order = np.concatenate([np.full(len(received), -1), line_order[lines], np.full(len(counted), -1)])
    occurred = np.concatenate([np.full(len(received), start), ship_at, loss_at])
    sequence = np.lexsort((stock_row, movement_type, occurred))  # a journal in time order
    return Movements(stock_row[sequence], movement_type[sequence], quantity[sequence], order[sequence],
                     occurred[sequence])


def _movement_block(plan: TierPlan, movements: Movements, block: Block) -> pa.Table:
    stock = cached_stock_plan(plan)
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


def generate_stock_movements(plan: TierPlan, blocks: Iterable[int] | None = None) -> pa.Table:
    movements = memoised("movements", plan, movement_plan)
    return assemble(lambda b: _movement_block(plan, movements, b), len(movements.quantity), plan.block_rows, blocks)
