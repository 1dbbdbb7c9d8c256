"""The manifest: every planted record of a tier (case, service, table, UUID, what it tests, and for
planted values the value itself), made of the records the generators keep of what they planted."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import numpy as np

from crm_mock.edge_cases.catalog import load_catalog
from crm_mock.generate.contact import cached_account_plan
from crm_mock.generate.drift import drift_plan
from crm_mock.generate.finance import cached_invoice_plan
from crm_mock.generate.ids import uuids_at
from crm_mock.generate.memo import memoised
from crm_mock.generate.orders import cached_order_plan
from crm_mock.generate.planting import Plant, planted_cells
from crm_mock.generate.support import ticket_plants
from crm_mock.model import CATALOG
from crm_mock.model.lineage import entity_of
from crm_mock.scenario import TierPlan


@dataclass(frozen=True)
class Planted:
    case_id: str
    theme: str
    tests: str
    service: str
    table: str
    uuid: str
    column: str | None = None
    value: object = None  # the planted value, where the case plants one

    def as_dict(self) -> dict:
        record = asdict(self)
        if isinstance(record["value"], dt.date):
            record["value"] = record["value"].isoformat()
        return record


def _uuid(plan: TierPlan, table: str, index: int) -> str:
    entity = entity_of(CATALOG[table]) or entity_of(CATALOG[CATALOG[table].replica_of.master])
    return uuids_at(plan.ids, entity, np.array([index]))[0].as_py()


def planted_records(plan: TierPlan) -> list[Plant]:
    """Every plant the generators recorded: the cells of the master tables, the edge cases of the
    workflow's plans, then the golden scenarios."""
    accounts, invoices = cached_account_plan(plan), cached_invoice_plan(plan)
    tickets, golden_ticket = ticket_plants(plan, accounts)
    cells = [Plant(case_id, table, row, column, value)
             for table, columns in planted_cells(plan).items()
             for column, rows in columns.items()
             for row, (case_id, value) in sorted(rows.items())]
    return [*cells, *cached_order_plan(plan).plants, *accounts.plants, *invoices.plants, *tickets,
            *accounts.golden, *invoices.golden, *golden_ticket]


def manifest(plan: TierPlan) -> list[Planted]:
    cases = {c.id: c for c in load_catalog()}
    out = [Planted(p.case_id, cases[p.case_id].theme, cases[p.case_id].description, CATALOG[p.table].service,
                   p.table, _uuid(plan, p.table, p.row), p.column, p.value)
           for p in planted_records(plan)]
    for drift in drift_plan(plan):
        out.append(Planted(drift.kind, "drift", drift.tests, CATALOG[drift.table].service, drift.table, drift.uuid,
                           drift.column))
    return out


def cached_manifest(plan: TierPlan) -> list[Planted]:
    """``manifest``, kept for the process: the theme steps and the manifest step each ask for it, and it is
    made from every plan of the tier while it is itself a few hundred records."""
    return memoised("manifest", plan, manifest)
