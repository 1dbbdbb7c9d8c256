"""Part A along the workflow: one invoice per order that follows it, time that moves forward from account to
payment, and tickets that keep time and belong to their contact's account. Orders, quotes, accounts and
contacts live in other services than what refers to them: those pairs are merged in key order."""

from __future__ import annotations

from collections.abc import Iterator

from crm_mock.consistency.engine import Findings, RuleContext, merge_sorted
from crm_mock.consistency.rule import rule
from crm_mock.consistency.rules.common import (
    ISSUED, ORDER_INVOICE, RESOLVED_TICKET, add_keys, day, flag_rows, moment, numbers_increase,
)
from crm_mock.sinks.values import canonical_uuid

# each invoice (in order key order) beside its order
INVOICES_BY_ORDER = ("SELECT order_uuid, invoice_uuid, account_uuid, status, issue_date, due_date, currency_code "
                     "FROM invoices WHERE order_uuid IS NOT NULL ORDER BY order_uuid, invoice_uuid")
ORDERS = ("SELECT order_uuid, account_uuid, status, shipped_at, currency_code FROM sales_orders "
          "WHERE order_uuid IS NOT NULL ORDER BY order_uuid")


def invoices_with_orders(ctx: RuleContext) -> Iterator[tuple[str, tuple | None, tuple | None]]:
    return merge_sorted(ctx.rows("finance", INVOICES_BY_ORDER), ctx.rows("orders", ORDERS))


@rule("invoice_per_order", "finance.invoices", "Every order has exactly one invoice, for the order's account, "
      "in the order's currency.", reads=("orders.sales_orders",))
def invoice_per_order(ctx: RuleContext, found: Findings) -> None:
    for kind in ("order_without_invoice", "order_with_several", "account_differs", "currency_differs"):
        found.kind(kind)
    for order, invoice, of_order in invoices_with_orders(ctx):
        if invoice is None:
            found.add("order_without_invoice", order)
        elif of_order is not None and canonical_uuid(invoice[2]) != canonical_uuid(of_order[1]):
            found.add("account_differs", canonical_uuid(invoice[1]))
        if invoice is not None and of_order is not None and invoice[6] != of_order[4]:
            found.add("currency_differs", canonical_uuid(invoice[1]))
    add_keys(ctx, found, "order_with_several", "finance", "SELECT order_uuid FROM invoices WHERE order_uuid IS NOT "
             "NULL GROUP BY order_uuid HAVING COUNT(*) > 1 ORDER BY order_uuid")


ALLOWED = {(order, invoice) for order, invoices in ORDER_INVOICE.items() for invoice in invoices}


@rule("invoice_follows_order", "finance.invoices",
      "SHIPPED/DELIVERED orders: issued on or after shipment; PENDING/CONFIRMED/BACKORDERED: DRAFT without dates; "
      "CANCELLED: VOID. Issued invoices are numbered, the numbers unique and increasing with the issue date.",
      reads=("orders.sales_orders",))
def invoice_follows_order(ctx: RuleContext, found: Findings) -> None:
    for kind in ("status_for_order", "issued_before_shipment", "draft_or_void_with_dates"):
        found.kind(kind)
    for _, invoice, of_order in invoices_with_orders(ctx):
        if invoice is None or of_order is None:
            continue  # an order without invoice is invoice_per_order's, an invoice without order references_resolve's
        _, invoice_uuid, _, status, issued, due, _ = invoice
        invoice_uuid = canonical_uuid(invoice_uuid)
        if (of_order[2], status) not in ALLOWED:
            found.add("status_for_order", invoice_uuid)
        if status in ISSUED and (of_order[3] is None or issued is None or day(issued) < day(of_order[3])):
            found.add("issued_before_shipment", invoice_uuid)
        if status in ("DRAFT", "VOID") and (issued is not None or due is not None):
            found.add("draft_or_void_with_dates", invoice_uuid)
    flag_rows(ctx, found, "finance", "invoice_uuid", "invoices", {
        "numbered_when_issued": f"(CASE WHEN status IN ({ctx.sql.quoted(ISSUED)}) THEN 1 ELSE 0 END) <> "
                                "(CASE WHEN invoice_number IS NOT NULL THEN 1 ELSE 0 END)"})
    numbers_increase(ctx, found, "number_increases_with_issue", "finance", "invoices", "invoice_uuid",
                     "invoice_number", "issue_date")


def _orders_after(ctx: RuleContext, found: Findings, kind: str, reference: str, service: str, earlier: str) -> None:
    """Orders dated before the record they come from (``earlier`` yields its key and creation moment, in
    key order): both streams in key order, merged, so memory stays flat."""
    found.kind(kind)
    orders = ctx.rows("orders", f"SELECT {reference}, order_uuid, order_date FROM sales_orders "
                                f"WHERE {reference} IS NOT NULL ORDER BY {reference}, order_uuid")
    for _, order, source in merge_sorted(orders, ctx.rows(service, earlier)):
        if order is not None and source is not None and day(source[1]) > day(order[2]):
            found.add(kind, canonical_uuid(order[1]))


@rule("time_moves_forward", "orders.sales_orders", "Account created ≤ quote ≤ order ≤ shipment ≤ reference date; "
      "in the account's currency; order numbers increase with the order date.",
      reads=("sales.quotes", "contact.accounts", "orders.account_replica"))
def order_timeline(ctx: RuleContext, found: Findings) -> None:
    plan, sql = ctx.plan, ctx.sql
    _orders_after(ctx, found, "account_before_order", "account_uuid", "contact",
                  "SELECT account_uuid, created_at FROM accounts ORDER BY account_uuid")
    _orders_after(ctx, found, "quote_before_order", "quote_uuid", "sales",
                  "SELECT quote_uuid, created_at FROM quotes ORDER BY quote_uuid")
    flag_rows(ctx, found, "orders", "order_uuid", "sales_orders", {
        "shipped_after_order": f"shipped_at IS NOT NULL AND {sql.as_date('shipped_at')} < order_date",
        "not_after_reference": f"order_date > {sql.date(plan.reference_date)} "
                               f"OR shipped_at > {sql.moment(plan.reference_moment)}",
    })
    flag_rows(ctx, found, "orders", "o.order_uuid",
              "sales_orders o JOIN account_replica a ON a.account_uuid = o.account_uuid",
              {"in_account_currency": "o.currency_code <> a.currency_code"})
    numbers_increase(ctx, found, "number_increases_with_date", "orders", "sales_orders", "order_uuid", "order_number",
                     "order_date")


@rule("time_moves_forward", "sales.quotes", "Account created ≤ opportunity ≤ quote ≤ reference date; a quote is "
      "for its opportunity's account, in the account's currency; quote numbers increase with time.",
      reads=("sales.opportunities", "contact.accounts", "sales.account_replica"))
def funnel_timeline(ctx: RuleContext, found: Findings) -> None:
    flag_rows(ctx, found, "sales", "q.quote_uuid",
              "quotes q LEFT JOIN opportunities o ON o.opportunity_uuid = q.opportunity_uuid", {
                  "opportunity_before_quote": "o.created_at > q.created_at",
                  "same_account_as_opportunity": "o.account_uuid IS NULL OR o.account_uuid <> q.account_uuid",
                  "not_after_reference": f"q.created_at > {ctx.sql.moment(ctx.plan.reference_moment)}",
              })
    flag_rows(ctx, found, "sales", "q.quote_uuid", "quotes q JOIN account_replica a ON a.account_uuid = q.account_uuid",
              {"in_account_currency": "q.currency_code <> a.currency_code"})
    numbers_increase(ctx, found, "number_increases_with_time", "sales", "quotes", "quote_uuid", "quote_number",
                     "created_at")
    found.kind("account_before_opportunity")
    opportunities = ctx.rows("sales", "SELECT account_uuid, opportunity_uuid, created_at FROM opportunities "
                                      "WHERE account_uuid IS NOT NULL ORDER BY account_uuid, opportunity_uuid")
    accounts = ctx.rows("contact", "SELECT account_uuid, created_at FROM accounts ORDER BY account_uuid")
    for _, opportunity, account in merge_sorted(opportunities, accounts):
        if opportunity is not None and account is not None and moment(account[1]) > moment(opportunity[2]):
            found.add("account_before_opportunity", canonical_uuid(opportunity[1]))


@rule("time_moves_forward", "finance.payments", "Invoice issue ≤ payment ≤ reference date; in the invoice's "
      "currency.", reads=("finance.invoices",))
def payment_timeline(ctx: RuleContext, found: Findings) -> None:
    sql = ctx.sql
    flag_rows(ctx, found, "finance", "p.payment_uuid",
              "payments p LEFT JOIN invoices i ON i.invoice_uuid = p.invoice_uuid", {
                  "paid_after_issue": f"i.issue_date IS NULL OR {sql.as_date('p.paid_at')} < i.issue_date",
                  "not_after_reference": f"p.paid_at > {sql.moment(ctx.plan.reference_moment)}",
                  "in_invoice_currency": "i.currency_code IS NULL OR p.currency_code <> i.currency_code",
              })


@rule("tickets", "support.tickets",
      "Created ≤ first response ≤ resolved ≤ reference, resolved tickets have a resolution time; the contact "
      "belongs to the ticket's account and existed before it.", reads=("contact.contacts",))
def ticket_rules(ctx: RuleContext, found: Findings) -> None:
    for kind in ("contact_of_account", "contact_before_ticket"):
        found.kind(kind)
    tickets = ctx.rows("support", "SELECT contact_uuid, ticket_uuid, account_uuid, created_at FROM tickets "
                                  "WHERE contact_uuid IS NOT NULL ORDER BY contact_uuid, ticket_uuid")
    contacts = ctx.rows("contact", "SELECT contact_uuid, account_uuid, created_at FROM contacts ORDER BY contact_uuid")
    for _, ticket, contact in merge_sorted(tickets, contacts):
        if ticket is None or contact is None:
            continue
        if canonical_uuid(ticket[2]) != canonical_uuid(contact[1]):
            found.add("contact_of_account", canonical_uuid(ticket[1]))
        if moment(contact[2]) > moment(ticket[3]):
            found.add("contact_before_ticket", canonical_uuid(ticket[1]))
    reference = ctx.sql.moment(ctx.plan.reference_moment)
    resolved = f"COALESCE(status, '') IN ({ctx.sql.quoted(RESOLVED_TICKET)})"
    flag_rows(ctx, found, "support", "ticket_uuid", "tickets", {
        "response_after_creation": "first_response_at < created_at",
        "resolved_after_response": "resolved_at IS NOT NULL AND (first_response_at IS NULL "
                                   "OR resolved_at < first_response_at)",
        "resolved_status_has_time": f"({resolved} AND resolved_at IS NULL) "
                                    f"OR (NOT {resolved} AND resolved_at IS NOT NULL)",
        "not_after_reference": f"created_at > {reference} OR first_response_at > {reference} "
                               f"OR resolved_at > {reference}",
    })
    numbers_increase(ctx, found, "number_increases_with_time", "support", "tickets", "ticket_uuid", "ticket_number",
                     "created_at")


RULES = [invoice_per_order, invoice_follows_order, order_timeline, funnel_timeline, payment_timeline, ticket_rules]
