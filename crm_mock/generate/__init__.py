"""Pure, vectorised, deterministic generators: a function of (scenario tier plan, block). No Dagster here."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from crm_mock.generate import account_layout, contact, finance, hr, inventory, ledger, manifest, orders, planting
from crm_mock.generate import sales, stock, support
from crm_mock.generate.frame import TableGenerator

from crm_mock.generate.contact import generate_accounts, generate_contacts
from crm_mock.generate.finance import (
    generate_customer_accounts, generate_invoice_lines, generate_invoices, generate_payments,
)
from crm_mock.generate.ledger import generate_ledger_entries
from crm_mock.generate.hr import generate_employees
from crm_mock.generate.ids import derive_uuids
from crm_mock.generate.inventory import generate_products, generate_stock_levels, generate_warehouses
from crm_mock.generate.orders import generate_order_lines, generate_sales_orders
from crm_mock.generate.replicas import project_replica
from crm_mock.generate.leads import generate_leads
from crm_mock.generate.sales import generate_opportunities, generate_quote_lines, generate_quotes
from crm_mock.generate.stock import generate_stock_movements
from crm_mock.generate.support import generate_tickets
from crm_mock.scenario import TierPlan

Generator = TableGenerator  # called: a whole table; .blocks(plan): its blocks, to stream

# master tables and the generator that builds each (the Dagster layer makes one asset per entry)
MASTER_GENERATORS: dict[str, Generator] = {
    "hr.employees": generate_employees,
    "contact.accounts": generate_accounts,
    "contact.contacts": generate_contacts,
    "inventory.products": generate_products,
    "inventory.warehouses": generate_warehouses,
    "inventory.stock_levels": generate_stock_levels,
}

# the business workflow along the timeline that ends at the reference date
TRANSACTION_GENERATORS: dict[str, Generator] = {
    "sales.leads": generate_leads,
    "sales.opportunities": generate_opportunities,
    "sales.quotes": generate_quotes,
    "sales.quote_lines": generate_quote_lines,
    "orders.sales_orders": generate_sales_orders,
    "orders.order_lines": generate_order_lines,
    "inventory.stock_movements": generate_stock_movements,
    "finance.invoices": generate_invoices,
    "finance.invoice_lines": generate_invoice_lines,
    "finance.payments": generate_payments,
    "finance.ledger_entries": generate_ledger_entries,
    "support.tickets": generate_tickets,
}

# replicas with columns their own service owns are generated, not projected
OWNED_REPLICA_GENERATORS: dict[str, Generator] = {
    "finance.customer_accounts": generate_customer_accounts,
}

GENERATORS: dict[str, Generator] = {**MASTER_GENERATORS, **TRANSACTION_GENERATORS, **OWNED_REPLICA_GENERATORS}

# every plan the generators memoise (and share between a run's processes), by its memo name: each call builds the
# plan, or reads it back, with whatever it is drawn from
PLANS: dict[str, Callable[[TierPlan], object]] = {
    "employees": hr.cached_employee_plan,
    "account_layout": account_layout.cached_account_layout,
    "accounts": contact.cached_account_plan,
    "contact_name_starts": contact._name_starts,
    "contact_creation_draws": contact._creation_draws,
    "products": inventory.cached_product_plan,
    "product_names": inventory.product_names,
    "stock": inventory.cached_stock_plan,
    "edge_cells": planting.planted_cells,
    "order_account_draw": lambda plan: orders._order_draw(plan, contact.cached_account_plan(plan)),
    "orders": orders.cached_order_plan,
    "funnel": sales.cached_funnel_plan,
    "invoices": finance.cached_invoice_plan,
    "ledger": ledger.cached_ledger,
    "movements": stock.cached_movement_plan,
    "tickets": support.cached_ticket_plan,
    "manifest": manifest.cached_manifest,
}

ENTITY_COUNTS: dict[str, Callable[[TierPlan], int]] = {
    "employee": lambda plan: plan.employees,
    "account": lambda plan: plan.accounts,
    "contact": lambda plan: plan.contacts,
    "product": lambda plan: plan.products,
    "warehouse": lambda plan: plan.warehouses,
}


def id_map(plan: TierPlan, entity: str) -> pa.Table:
    """Row index -> UUID for every row of an entity in this tier."""
    n = ENTITY_COUNTS[entity](plan)
    return pa.table({"row_index": pa.array(range(n), pa.int64()),
                     f"{entity}_uuid": derive_uuids(plan.ids, entity, 0, n)})


__all__ = ["ENTITY_COUNTS", "GENERATORS", "MASTER_GENERATORS", "OWNED_REPLICA_GENERATORS", "PLANS",
           "TRANSACTION_GENERATORS", "id_map", "project_replica"]
