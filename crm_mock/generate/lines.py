"""Header → product lines tables (order, quote and invoice lines) share one layout and one builder."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from crm_mock.generate.frame import Block, build_table, cents_to_money
from crm_mock.generate.ids import derive_uuids, uuids_at
from crm_mock.generate.inventory import product_uuids
from crm_mock.generate.money import discounted_total
from crm_mock.scenario import TierPlan


def product_lines_block(plan: TierPlan, table: str, header_entity: str, offsets: np.ndarray, product: np.ndarray,
                        quantity: np.ndarray, price_cents: np.ndarray, discount: np.ndarray, header_unit: np.ndarray,
                        block: Block) -> pa.Table:
    """The lines of headers block.start..block.stop-1: lines of header h are offsets[h]..offsets[h+1]-1.
    ``header_unit`` is each header's currency's minor unit in cents; line totals are worked out per block (for
    the whole table at once, their intermediates took 300 MB at the stress tier)."""
    start, stop = int(offsets[block.start]), int(offsets[block.stop])
    header = np.repeat(np.arange(block.start, block.stop), np.diff(offsets[block.start:block.stop + 1]))
    lines = slice(start, stop)
    total_cents = discounted_total(quantity[lines], price_cents[lines], discount[lines], header_unit[header])
    return build_table(table, {
        f"{header_entity}_line_uuid": derive_uuids(plan.ids, f"{header_entity}_line", start, stop),
        f"{header_entity}_uuid": uuids_at(plan.ids, header_entity, header),
        "product_uuid": product_uuids(plan, product[lines]),
        "quantity": quantity[lines],
        "unit_price": cents_to_money(price_cents[lines]),
        "discount_percent": discount[lines],
        "line_total": cents_to_money(total_cents),
    })
