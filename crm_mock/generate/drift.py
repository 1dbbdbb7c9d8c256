"""Drift planted on purpose while a tier is loaded (scenario `drift`), so users can test their own
reconciliation: the generated tables stay correct, the service databases disagree in known places."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crm_mock.generate.contact import STATUS, cached_account_plan
from crm_mock.generate.ids import uuids_at
from crm_mock.generate.planting import GOLDEN_HOLD_ACCOUNT
from crm_mock.generate.random import Stream
from crm_mock.scenario import ACME_ACCOUNT_INDEX, TierPlan

KINDS = {
    "missing_replica_row": ("orders.account_replica", None, "an account's replica row is missing in Orders"),
    "changed_replicated_value": ("sales.product_replica", "list_price", "a product's price differs in Sales"),
    "status_out_of_sync": ("contact.accounts", "status", "an account ON_HOLD in Contact but not in Finance"),
    "unresolvable_reference": ("support.employee_replica", None,
                               "an employee replica row is missing in Support, so references to it dangle"),
}


@dataclass(frozen=True)
class Drift:
    kind: str
    table: str
    uuid: str
    column: str | None
    tests: str


def drift_plan(plan: TierPlan) -> list[Drift]:
    if plan.drift_rows == 0:
        return []
    out = []
    for kind, (table, column, tests) in KINDS.items():
        entity, count = {"orders.account_replica": ("account", plan.accounts),
                         "sales.product_replica": ("product", plan.products),
                         "contact.accounts": ("account", plan.accounts),
                         "support.employee_replica": ("employee", plan.employees)}[table]
        reserved = {ACME_ACCOUNT_INDEX, GOLDEN_HOLD_ACCOUNT} if entity == "account" else {0}
        eligible = None
        if kind == "status_out_of_sync":  # an ACTIVE account, so putting it ON_HOLD is a real change
            eligible = cached_account_plan(plan).status == STATUS["ACTIVE"]
        rows = [int(r) for r in Stream(plan.seed, "drift", kind).permutation(count)
                if int(r) not in reserved and (eligible is None or eligible[r])]
        for row in rows[:plan.drift_rows]:
            out.append(Drift(kind, table, uuids_at(plan.ids, entity, np.array([row]))[0].as_py(), column, tests))
    return out


def drift_batches(plan: TierPlan, table: str, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The batches of ``table`` as loaded with the planted drift: rows dropped or a value changed."""
    entries = [d for d in drift_plan(plan) if d.table == table]
    for batch in batches:
        for entry in entries:
            key = pc.equal(batch.column(0), entry.uuid)
            if entry.column is None:
                batch = batch.filter(pc.invert(key))
                continue
            index = batch.schema.get_field_index(entry.column)
            column = batch.column(index)
            changed = pc.add(column, 1.0) if pa.types.is_floating(column.type) else pa.array(
                ["ON_HOLD"] * len(column), column.type)
            batch = batch.set_column(index, batch.schema.field(index), pc.if_else(key, changed, column))
        yield batch


def dropped_rows(plan: TierPlan, table: str) -> int:
    return sum(1 for d in drift_plan(plan) if d.table == table and d.column is None)
