"""Checks on the business workflow: an asset check per invariant (the model's checks come with every table)."""

from crm_mock.consistency import transaction_rules as rules
from crm_mock.defs.checks import RuleCheck, rule_check
from crm_mock.model import CATALOG

ORDERS, ORDER_LINES, QUOTES = "orders.sales_orders", "orders.order_lines", "sales.quotes"
OPPORTUNITIES, ACCOUNTS, CONTACTS = "sales.opportunities", "contact.accounts", "contact.contacts"
INVOICES, INVOICE_LINES, PAYMENTS = "finance.invoices", "finance.invoice_lines", "finance.payments"
LEDGER, TICKETS, MOVEMENTS = "finance.ledger_entries", "support.tickets", "inventory.stock_movements"
STOCK, PRODUCTS, CUSTOMERS = "inventory.stock_levels", "inventory.products", "finance.customer_accounts"
QUOTE_LINES_TABLE = "sales.quote_lines"


def invariant_checks() -> list[RuleCheck]:
    c = CATALOG
    return [
        rule_check(c[INVOICES], "invoice_per_order",
                   lambda i: rules.invoice_per_order(i.read(ORDERS), i.read(INVOICES)),
                   "Every order has exactly one invoice, for the order's account.", reads=[ORDERS]),
        rule_check(c[INVOICES], "invoice_follows_order",
                   lambda i: rules.invoice_follows_order(i.read(ORDERS), i.read(INVOICES)),
                   "SHIPPED/DELIVERED orders: issued on or after shipment; PENDING/CONFIRMED/BACKORDERED: DRAFT "
                   "without dates; CANCELLED: VOID.", reads=[ORDERS]),
        rule_check(c[INVOICES], "money_adds_up",
                   lambda i: rules.invoice_money(i.plan, i.read(INVOICES), i.read(INVOICE_LINES), i.read(PAYMENTS)),
                   "Total = Σ lines + tax, paid = Σ payments, PAID/UNPAID/PARTIALLY_PAID/OVERDUE as paid and due, "
                   "due = issue + terms.", reads=[INVOICE_LINES, PAYMENTS]),
        rule_check(c[INVOICES], "quotas", lambda i: rules.invoice_quotas(i.plan, i.read(INVOICES), i.read(INVOICE_LINES)),
                   "Exactly the credit-note quota of invoices with a negative line; NET_30 and NET_60 in use.",
                   reads=[INVOICE_LINES]),
        rule_check(c[ORDERS], "money_adds_up", lambda i: rules.order_totals(i.read(ORDERS), i.read(ORDER_LINES)),
                   "Order total = Σ lines; line total = quantity × unit price.", reads=[ORDER_LINES]),
        rule_check(c[ORDERS], "time_moves_forward",
                   lambda i: rules.order_timeline(i.plan, i.read(ORDERS), i.read(QUOTES), i.read(ACCOUNTS)),
                   "Account created ≤ quote ≤ order ≤ shipment ≤ reference date.", reads=[QUOTES, ACCOUNTS]),
        rule_check(c[ORDERS], "quotas",
                   lambda i: rules.order_quotas(i.plan, i.read(ORDERS), i.read(ORDER_LINES), i.read(INVOICES),
                                                i.read(STOCK), i.read(PRODUCTS)),
                   "Exactly the SHIPPED/UNPAID quota; the BACKORDERED quota, each with a zero-stock line, and no "
                   "other order with one.", reads=[ORDER_LINES, INVOICES, STOCK, PRODUCTS]),
        rule_check(c[QUOTES], "time_moves_forward",
                   lambda i: rules.funnel_timeline(i.plan, i.read(OPPORTUNITIES), i.read(QUOTES), i.read(ACCOUNTS)),
                   "Account created ≤ opportunity ≤ quote ≤ reference date.", reads=[OPPORTUNITIES, ACCOUNTS]),
        rule_check(c[QUOTE_LINES_TABLE], "money_adds_up",
                   lambda i: rules.quote_totals(i.read(QUOTES), i.read(QUOTE_LINES_TABLE)),
                   "Quote total = Σ lines; line total = quantity × unit price.", reads=[QUOTES]),
        rule_check(c[PAYMENTS], "time_moves_forward",
                   lambda i: rules.payment_timeline(i.plan, i.read(PAYMENTS), i.read(INVOICES)),
                   "Invoice issue ≤ payment ≤ reference date.", reads=[INVOICES]),
        rule_check(c[LEDGER], "ledger_balanced", lambda i: rules.ledger_balanced(i.read(LEDGER)),
                   "Debit and credit never null (0 on the unused side); debits = credits in every journal."),
        rule_check(c[TICKETS], "tickets", lambda i: rules.ticket_rules(i.plan, i.read(TICKETS), i.read(CONTACTS)),
                   "Created ≤ first response ≤ resolved ≤ reference; the contact belongs to the ticket's account.",
                   reads=[CONTACTS]),
        rule_check(c[MOVEMENTS], "stock_never_negative",
                   lambda i: rules.stock_movements_balance(i.read(MOVEMENTS), i.read(STOCK)),
                   "Movements sum to the stock on hand per product and warehouse; the running balance never "
                   "goes below zero.", reads=[STOCK]),
        rule_check(c[CUSTOMERS], "credit_hold_synced",
                   lambda i: rules.credit_holds_synced(i.read(CUSTOMERS), i.read(ACCOUNTS)),
                   "Finance's ON_HOLD accounts are exactly Contact's ON_HOLD accounts.", reads=[ACCOUNTS]),
    ]

