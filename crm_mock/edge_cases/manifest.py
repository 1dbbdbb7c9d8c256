"""The manifest: every planted record of a tier (case, service, table, UUID, what it tests, and for
planted values the value itself), derived from the same plans the generators use."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import numpy as np

from crm_mock.edge_cases.catalog import load_catalog
from crm_mock.edge_cases.drift import drift_plan
from crm_mock.edge_cases.planting import GOLDEN_HOLD_ACCOUNT, GOLDEN_TICKET, SUSPENDED_TICKET, planted_cells
from crm_mock.generate.ids import uuids_at
from crm_mock.model import CATALOG
from crm_mock.model.lineage import entity_of
from crm_mock.scenario import ACME_ACCOUNT_INDEX, TierPlan

# what each planting kind touches, so the graph can show where the edge cases enter
KIND_TABLES = {
    "largest_amount_line": ("orders.sales_orders", "orders.order_lines"),
    "smallest_amount_line": ("orders.sales_orders", "orders.order_lines"),
    "zero_quantity_line": ("orders.sales_orders", "orders.order_lines"),
    "zero_price_line": ("orders.sales_orders", "orders.order_lines"),
    "negative_balance": ("finance.customer_accounts",),
    "leap_day_hire": ("hr.employees",),
    "end_of_month_hire": ("hr.employees",),
    "leap_day_account": ("contact.accounts",),
    "empty_nullable": ("contact.contacts",),
    "discontinued_product_on_open_order": ("orders.sales_orders", "orders.order_lines"),
    "suspended_account_open_ticket": ("support.tickets",),
    "account_without_orders": ("orders.sales_orders",),
    "partially_paid_several_payments": ("finance.invoices", "finance.payments"),
    "credit_note_over_remaining_balance": ("finance.invoices", "finance.payments"),
    "acme_corp": ("contact.accounts", "contact.contacts"),
    "credit_hold_account": ("contact.accounts", "orders.sales_orders", "finance.invoices", "support.tickets"),
}


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


def theme_tables(theme: str) -> list[str]:
    """The tables a theme plants into (text cases name theirs; the others through their kind)."""
    tables = set()
    for case in load_catalog():
        if case.theme == theme:
            tables.update([case.table] if case.table else KIND_TABLES[case.kind])
    return sorted(tables)


def _uuid(plan: TierPlan, table: str, index: int) -> str:
    entity = entity_of(CATALOG[table]) or entity_of(CATALOG[CATALOG[table].replica_of.master])
    return uuids_at(plan.ids, entity, np.array([index]))[0].as_py()


def manifest(plan: TierPlan) -> list[Planted]:
    from crm_mock.generate.contact import cached_account_plan
    from crm_mock.generate.finance import cached_invoice_plan
    from crm_mock.generate.orders import cached_order_plan
    from crm_mock.generate.support import forced_tickets

    cases = {c.id: c for c in load_catalog()}
    accounts, orders, invoices = cached_account_plan(plan), cached_order_plan(plan), cached_invoice_plan(plan)
    out: list[Planted] = []

    def add(case_id: str, table: str, index: int, column: str | None = None, value: object = None) -> None:
        case = cases[case_id]
        out.append(Planted(case_id, case.theme, case.description, CATALOG[table].service, table,
                           _uuid(plan, table, index), column, value))

    for table, columns in planted_cells(plan).items():
        for column, rows in columns.items():
            for row, (case_id, value) in sorted(rows.items()):
                add(case_id, table, row, column, value)
    for name, line in orders.edges.items():
        order_line = int(line)
        column = {"largest_amount_line": "unit_price", "smallest_amount_line": "unit_price",
                  "zero_quantity_line": "quantity", "zero_price_line": "unit_price",
                  "discontinued_product_on_open_order": "product_uuid"}[name]
        value = {"largest_amount_line": 9_999_999.99, "smallest_amount_line": 0.01, "zero_quantity_line": 0,
                 "zero_price_line": 0.0}.get(name)
        add(name, "orders.order_lines", order_line, column, value)
    for name, account in accounts.edges.items():
        add(name, "contact.accounts", account, "created_at" if name == "leap_day_account" else None)
    for name, invoice in invoices.edges.items():
        add(name, "finance.invoices", invoice, "status",
            "PARTIALLY_PAID" if name == "partially_paid_several_payments" else "PAID")
    for account, credit in invoices.customer_credit_cents.items():
        add("negative_balance", "finance.customer_accounts", account, "balance", -credit / 100)
    for row, _, _ in forced_tickets(plan, accounts):
        if row == SUSPENDED_TICKET:
            add("suspended_account_open_ticket", "support.tickets", row, "status", "OPEN")

    add("acme_corp", "contact.accounts", ACME_ACCOUNT_INDEX, "name", "Acme Corp")
    for contact in range(plan.acme_contacts):
        add("acme_corp", "contact.contacts", int(accounts.contact_offsets[ACME_ACCOUNT_INDEX]) + contact)
    add("credit_hold_account", "contact.accounts", GOLDEN_HOLD_ACCOUNT, "status", "ON_HOLD")
    add("credit_hold_account", "finance.customer_accounts", GOLDEN_HOLD_ACCOUNT, "credit_status", "ON_HOLD")
    for order in orders.golden_orders:
        add("credit_hold_account", "finance.invoices", int(order), "status", "OVERDUE")
    add("credit_hold_account", "support.tickets", GOLDEN_TICKET, "priority", "URGENT")
    for drift in drift_plan(plan):
        out.append(Planted(drift.kind, "drift", drift.tests, CATALOG[drift.table].service, drift.table, drift.uuid,
                           drift.column))
    return out
