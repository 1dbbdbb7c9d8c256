"""The registry's Part A quotas and master-data rules against corrupted copies of the smoke tier, on the Parquet
store, SQLite and PostgreSQL: exact counts that are off by one are reported with the count, rows that break a
mix or a tree are named by UUID."""

from __future__ import annotations

import pytest

from crm_mock.consistency.engine import RuleContext
from crm_mock.consistency.rules import quotas as quota_rules
from crm_mock_tests.conftest import require_postgres
from crm_mock_tests.rule_sources import RULES, On, SmokeTier, drop, edit, set_cells, zero_stock_products

EMPLOYEES, ACCOUNTS, CONTACTS = "hr.employees", "contact.accounts", "contact.contacts"
PRODUCTS, WAREHOUSES, STOCK = "inventory.products", "inventory.warehouses", "inventory.stock_levels"
ORDERS, ORDER_LINES = "orders.sales_orders", "orders.order_lines"
INVOICES, INVOICE_LINES, CUSTOMERS = "finance.invoices", "finance.invoice_lines", "finance.customer_accounts"
TICKETS = "support.tickets"


@pytest.fixture
def tier(smoke_tier: SmokeTier) -> SmokeTier:
    return smoke_tier


def quotas(table: str) -> tuple[str, str]:
    return "quotas", table


def invoice_status(tier: SmokeTier) -> dict[str, str]:
    return {row["order_uuid"]: row["status"] for row in tier.rows(INVOICES)}


# --- orders ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delta", [1, -1])
def test_shipped_unpaid_quota_off_by_one(on: On, tier: SmokeTier, delta: int):
    """Across services: order statuses in Orders, invoice statuses in Finance."""
    quota, unpaid = tier.plan.shipped_unpaid_orders, invoice_status(tier)
    before, after = ("DELIVERED", "SHIPPED") if delta > 0 else ("SHIPPED", "DELIVERED")
    order = tier.first(ORDERS, lambda row: row["status"] == before and unpaid[row["order_uuid"]] == "UNPAID")
    orders = set_cells(tier.table(ORDERS), "order_uuid", order["order_uuid"], status=after)
    on.caught(quotas(ORDERS), {ORDERS: orders}, "counts",
              f"{quota + delta} SHIPPED orders with UNPAID invoices, not {quota}", count=1, total=1)


def test_shipped_unpaid_quota_counts_invoices_too(on: On, tier: SmokeTier):
    paid = invoice_status(tier)
    order = tier.first(ORDERS, lambda row: row["status"] == "SHIPPED" and paid[row["order_uuid"]] == "PAID")
    invoices = set_cells(tier.table(INVOICES), "order_uuid", order["order_uuid"], status="UNPAID")
    on.caught(quotas(ORDERS), {INVOICES: invoices}, "counts", f"{tier.plan.shipped_unpaid_orders + 1} SHIPPED",
              count=1, total=1)


def test_zero_stock_line_on_an_order_not_backordered(on: On, tier: SmokeTier):
    """Across services: the lines in Orders, the stock in Inventory."""
    zero = sorted(zero_stock_products(tier))
    statuses = {row["order_uuid"]: row["status"] for row in tier.rows(ORDERS)}
    line = tier.first(ORDER_LINES, lambda row: statuses[row["order_uuid"]] != "BACKORDERED")
    lines = set_cells(tier.table(ORDER_LINES), "order_line_uuid", line["order_line_uuid"], product_uuid=zero[0])
    result = on.caught(quotas(ORDERS), {ORDER_LINES: lines}, "zero_stock_line_not_backordered", line["order_uuid"],
                       count=1)
    assert f"{tier.plan.backordered_orders + 1} orders with a zero-stock line" in result.sample[0]


def test_backordered_order_without_zero_stock_line(on: On, tier: SmokeTier):
    zero = zero_stock_products(tier)
    order = tier.first(ORDERS, lambda row: row["status"] == "BACKORDERED")["order_uuid"]
    in_stock = sorted(row["product_uuid"] for row in tier.rows(STOCK) if row["quantity_on_hand"] > 0)[0]
    lines = edit(tier.table(ORDER_LINES), lambda row: row["order_uuid"] == order and row["product_uuid"] in zero,
                 product_uuid=in_stock)
    result = on.caught(quotas(ORDERS), {ORDER_LINES: lines}, "backordered_without_zero_stock_line", order, count=1)
    assert f"{tier.plan.backordered_orders - 1} orders with a zero-stock line" in result.sample[0]



@pytest.mark.parametrize("kind", ["store", "sqlite", "sqlite_hex", "postgresql"])
def test_orders_with_a_zero_stock_line_found_a_few_products_per_query(tier: SmokeTier, kind: str, monkeypatch):
    """The zero-stock products are named to Orders in bounded IN lists, spelled as Orders stores UUIDs: with
    three products run out and one product per query, exactly the orders with a line for one of them."""
    if kind == "postgresql":
        require_postgres()
    lines = tier.rows(ORDER_LINES)
    ordered = {line["product_uuid"] for line in lines} - zero_stock_products(tier)
    emptied = sorted({row["product_uuid"] for row in tier.rows(STOCK)} & ordered)[:2]
    stock = edit(tier.table(STOCK), lambda row: row["product_uuid"] in emptied, quantity_on_hand=0,
                 quantity_reserved=0)
    zero = zero_stock_products(tier) | set(emptied)
    expected = {line["order_uuid"] for line in lines if line["product_uuid"] in zero}
    assert len(zero) == 3 and expected
    monkeypatch.setattr(quota_rules, "PRODUCTS_PER_QUERY", 1)
    with tier.corrupted(kind, {STOCK: stock}, RULES[quotas(ORDERS)].tables) as source:
        assert quota_rules.orders_with_zero_stock_line(RuleContext(source, tier.plan)) == expected

def test_a_product_running_out_makes_its_orders_offend(on: On, tier: SmokeTier):
    """The stock side of the same quota: emptying a product's warehouses puts its orders in breach."""
    zero = zero_stock_products(tier)
    statuses = {row["order_uuid"]: row["status"] for row in tier.rows(ORDERS)}
    stocked = {row["product_uuid"] for row in tier.rows(STOCK)} - zero
    orders: dict[str, set[str]] = {}
    for line in tier.rows(ORDER_LINES):
        if line["product_uuid"] in stocked:
            orders.setdefault(line["product_uuid"], set()).add(line["order_uuid"])
    product = min(sorted(orders), key=lambda p: len(orders[p]))
    offending = sorted(o for o in orders[product] if statuses[o] != "BACKORDERED")
    stock = edit(tier.table(STOCK), lambda row: row["product_uuid"] == product, quantity_on_hand=0,
                 quantity_reserved=0)
    on.caught(quotas(ORDERS), {STOCK: stock}, "zero_stock_line_not_backordered", *offending[:10],
              count=len(offending))


def test_order_count(on: On, tier: SmokeTier):
    order = tier.first(ORDERS, lambda row: row["status"] == "CANCELLED")["order_uuid"]
    orders = drop(tier.table(ORDERS), lambda row: row["order_uuid"] == order)
    n = tier.plan.sales_orders
    on.caught(quotas(ORDERS), {ORDERS: orders}, "rows", f"{n - 1}, not {n}", total=1)


# --- invoices and tickets -------------------------------------------------------------------------------------------


def test_credit_note_invoice_too_many(on: On, tier: SmokeTier):
    credited = {row["invoice_uuid"] for row in tier.rows(INVOICE_LINES) if row["line_total"] < 0}
    quota = tier.plan.credit_note_invoices
    assert len(credited) == quota
    line = tier.first(INVOICE_LINES, lambda row: row["invoice_uuid"] not in credited and row["line_total"] > 0)
    lines = set_cells(tier.table(INVOICE_LINES), "invoice_line_uuid", line["invoice_line_uuid"],
                      quantity=-line["quantity"], line_total=-line["line_total"])
    on.caught(quotas(INVOICES), {INVOICE_LINES: lines}, "credit_note_invoices", f"{quota + 1}, not {quota}", total=1)


def test_credit_note_invoice_too_few(on: On, tier: SmokeTier):
    invoice = tier.first(INVOICE_LINES, lambda row: row["line_total"] < 0)["invoice_uuid"]
    lines = edit(tier.table(INVOICE_LINES), lambda row: row["invoice_uuid"] == invoice,
                 quantity=lambda row: abs(row["quantity"]), line_total=lambda row: abs(row["line_total"]))
    quota = tier.plan.credit_note_invoices
    on.caught(quotas(INVOICES), {INVOICE_LINES: lines}, "credit_note_invoices", f"{quota - 1}, not {quota}", total=1)


@pytest.mark.parametrize("missing,instead", [("NET_30", "NET_15"), ("NET_60", "NET_30")])
def test_payment_terms_missing(on: On, tier: SmokeTier, missing: str, instead: str):
    invoices = edit(tier.table(INVOICES), lambda row: row["payment_terms"] == missing, payment_terms=instead)
    on.caught(quotas(INVOICES), {INVOICES: invoices}, "net_30_and_net_60", missing, count=1, total=1)


def test_ticket_count(on: On, tier: SmokeTier):
    tickets = drop(tier.table(TICKETS), lambda row: row["ticket_uuid"] == tier.rows(TICKETS)[0]["ticket_uuid"])
    n = tier.plan.tickets
    on.caught(quotas(TICKETS), {TICKETS: tickets}, "rows", f"{n - 1}, not {n}", total=1)


# --- credit holds: Finance owns them, Contact copies them -----------------------------------------------------------

CREDIT_HOLD = ("credit_hold_synced", CUSTOMERS)


def test_account_on_hold_in_contact_but_good_in_finance(on: On, tier: SmokeTier):
    account = tier.first(ACCOUNTS, lambda row: row["status"] == "ON_HOLD")["account_uuid"]
    customers = set_cells(tier.table(CUSTOMERS), "account_uuid", account, credit_status="GOOD")
    on.caught(CREDIT_HOLD, {CUSTOMERS: customers}, "held_in_contact_only", account, count=1, total=1)


@pytest.mark.parametrize("contact_status", ["ACTIVE", "SUSPENDED"])
def test_account_on_hold_in_finance_only(on: On, tier: SmokeTier, contact_status: str):
    account = tier.first(ACCOUNTS, lambda row: row["status"] == contact_status)["account_uuid"]
    customers = set_cells(tier.table(CUSTOMERS), "account_uuid", account, credit_status="ON_HOLD")
    on.caught(CREDIT_HOLD, {CUSTOMERS: customers}, "held_in_finance_only", account, count=1, total=1)


def test_contact_releases_a_hold_finance_keeps(on: On, tier: SmokeTier):
    account = tier.first(ACCOUNTS, lambda row: row["status"] == "ON_HOLD")["account_uuid"]
    accounts = set_cells(tier.table(ACCOUNTS), "account_uuid", account, status="ACTIVE")
    on.caught(CREDIT_HOLD, {ACCOUNTS: accounts}, "held_in_finance_only", account, count=1, total=1)
