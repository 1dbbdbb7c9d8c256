"""Part A's exact counts on the transactions: orders (SHIPPED with an UNPAID invoice; BACKORDERED exactly
where a line is for a zero-stock product), invoices (credit notes, payment terms) and tickets."""

from __future__ import annotations

import itertools

from crm_mock.consistency.engine import Findings, RuleContext, merge_sorted
from crm_mock.consistency.rule import rule
from crm_mock.consistency.rules.common import scalar
from crm_mock.consistency.rules.stock import ZERO_STOCK_PRODUCTS
from crm_mock.sinks.values import canonical_uuid

REQUIRED_TERMS = ("NET_30", "NET_60")
PRODUCTS_PER_QUERY = 500  # products named in one IN list


def shipped_unpaid(ctx: RuleContext) -> int:
    """SHIPPED orders whose invoice is UNPAID: Orders' statuses merged with Finance's in order key order."""
    invoices = ctx.rows("finance", "SELECT order_uuid FROM invoices WHERE status = 'UNPAID' AND order_uuid IS NOT NULL "
                                   "ORDER BY order_uuid")
    orders = ctx.rows("orders", "SELECT order_uuid FROM sales_orders WHERE status = 'SHIPPED' ORDER BY order_uuid")
    return sum(1 for _, invoice, order in merge_sorted(invoices, orders) if invoice is not None and order is not None)


def orders_with_zero_stock_line(ctx: RuleContext) -> set[str]:
    """The orders with a line for a zero-stock product: Inventory's zero-stock products (a quota: few), then
    Orders' lines for them through the lines' product index, a bounded list at a time. Held as a set: in valid
    data it is the BACKORDERED quota, however large the tables."""
    zero_stock = ctx.keys("inventory", ZERO_STOCK_PRODUCTS)
    storage = ctx.uuid_storage("orders")
    orders: set[str] = set()
    while some := list(itertools.islice(zero_stock, PRODUCTS_PER_QUERY)):
        if products := ctx.sql.uuid_literals(some, storage):
            orders.update(ctx.keys("orders", f"SELECT DISTINCT order_uuid FROM order_lines "
                                             f"WHERE product_uuid IN ({products})"))
    return orders


@rule("quotas", "orders.sales_orders",
      "Exact order count and SHIPPED/UNPAID quota; the BACKORDERED quota, each with a zero-stock line, and no other "
      "order with one.",
      reads=("orders.order_lines", "finance.invoices", "inventory.stock_levels", "inventory.products"))
def order_quotas(ctx: RuleContext, found: Findings) -> None:
    plan = ctx.plan
    found.count("rows", scalar(ctx, "orders", "SELECT COUNT(*) FROM sales_orders"), plan.sales_orders)
    found.kind("counts")
    unpaid = shipped_unpaid(ctx)
    if unpaid != plan.shipped_unpaid_orders:
        found.add("counts", f"{unpaid} SHIPPED orders with UNPAID invoices, not {plan.shipped_unpaid_orders}")
    with_zero = orders_with_zero_stock_line(ctx)
    if len(with_zero) != plan.backordered_orders:
        found.add("counts", f"{len(with_zero)} orders with a zero-stock line, not {plan.backordered_orders}")
    found.details.update(shipped_unpaid=unpaid, with_zero_stock_line=len(with_zero))
    found.kind("zero_stock_line_not_backordered")
    found.kind("backordered_without_zero_stock_line")
    for order, status in ctx.rows("orders", "SELECT order_uuid, status FROM sales_orders ORDER BY order_uuid"):
        order = canonical_uuid(order)
        if order in with_zero and status != "BACKORDERED":
            found.add("zero_stock_line_not_backordered", order)
        elif order not in with_zero and status == "BACKORDERED":
            found.add("backordered_without_zero_stock_line", order)


@rule("quotas", "finance.invoices", "Exactly the credit-note quota of invoices with a negative line; NET_30 and "
      "NET_60 in use.", reads=("finance.invoice_lines",))
def invoice_quotas(ctx: RuleContext, found: Findings) -> None:
    credited = scalar(ctx, "finance", "SELECT COUNT(DISTINCT invoice_uuid) FROM invoice_lines WHERE line_total < 0")
    found.count("credit_note_invoices", credited, ctx.plan.credit_note_invoices)
    used = {terms for terms, in ctx.rows("finance", "SELECT payment_terms FROM invoices WHERE payment_terms IN "
                                                    f"({ctx.sql.quoted(REQUIRED_TERMS)}) GROUP BY payment_terms")}
    tally = found.kind("net_30_and_net_60")
    for terms in REQUIRED_TERMS:
        if terms not in used:
            tally.add(terms)


@rule("quotas", "support.tickets", "Exact ticket count.")
def ticket_quotas(ctx: RuleContext, found: Findings) -> None:
    found.count("rows", scalar(ctx, "support", "SELECT COUNT(*) FROM tickets"), ctx.plan.tickets)


RULES = [order_quotas, invoice_quotas, ticket_quotas]
