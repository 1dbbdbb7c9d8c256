"""The registry's business rules against corrupted copies of the smoke tier, on the Parquet store, SQLite and
PostgreSQL: each invariant and quota broken once, and the rule must name what broke it (the row's UUID, or the
count that is off). Ported from the Arrow/pandas rule tests, plus the rules those lacked."""

from __future__ import annotations

import datetime as dt
import pytest

from crm_mock.consistency.rules.common import ISSUED, TERMS_DAYS
from crm_mock_tests.rule_sources import On, SmokeTier, append, drop, edit, new_uuid, set_cells

ACCOUNTS, CONTACTS = "contact.accounts", "contact.contacts"
OPPORTUNITIES, QUOTES, QUOTE_LINES = "sales.opportunities", "sales.quotes", "sales.quote_lines"
ORDERS, ORDER_LINES = "orders.sales_orders", "orders.order_lines"
INVOICES, INVOICE_LINES, PAYMENTS = "finance.invoices", "finance.invoice_lines", "finance.payments"
LEDGER, CUSTOMERS, TICKETS = "finance.ledger_entries", "finance.customer_accounts", "support.tickets"
STOCK, MOVEMENTS = "inventory.stock_levels", "inventory.stock_movements"
ONE_DAY, ONE_SECOND = dt.timedelta(days=1), dt.timedelta(seconds=1)


@pytest.fixture
def tier(smoke_tier: SmokeTier) -> SmokeTier:
    return smoke_tier


def invoices_with_orders(tier: SmokeTier) -> list[dict]:
    orders = {o["order_uuid"]: o for o in tier.rows(ORDERS)}
    return [{**i, "order_status": orders[i["order_uuid"]]["status"],
             "shipped_at": orders[i["order_uuid"]]["shipped_at"]} for i in tier.rows(INVOICES)]


def first(rows: list[dict], where=lambda row: True) -> dict:
    row = next((r for r in rows if where(r)), None)
    assert row is not None, "the smoke tier holds no row to corrupt"
    return row


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


# --- one invoice per order, of the order's account ------------------------------------------------------------------

INVOICE_PER_ORDER = ("invoice_per_order", INVOICES)
FOLLOWS = ("invoice_follows_order", INVOICES)


def test_order_without_invoice(on: On, tier: SmokeTier):
    order = tier.first(ORDERS)["order_uuid"]
    invoices = drop(tier.table(INVOICES), lambda row: row["order_uuid"] == order)
    on.caught(INVOICE_PER_ORDER, {INVOICES: invoices}, "order_without_invoice", order, count=1, total=1)


def test_order_with_two_invoices(on: On, tier: SmokeTier):
    on.store_only("invoices.order_uuid is unique")
    invoice = tier.first(INVOICES)
    invoices = append(tier.table(INVOICES), invoice, invoice_uuid=new_uuid("second invoice"))
    on.caught(INVOICE_PER_ORDER, {INVOICES: invoices}, "order_with_several", invoice["order_uuid"], count=1)


def test_invoice_with_another_account(on: On, tier: SmokeTier):
    invoice = tier.first(INVOICES)
    other = tier.first(INVOICES, lambda row: row["account_uuid"] != invoice["account_uuid"])["account_uuid"]
    invoices = set_cells(tier.table(INVOICES), "invoice_uuid", invoice["invoice_uuid"], account_uuid=other)
    on.caught(INVOICE_PER_ORDER, {INVOICES: invoices}, "account_differs", invoice["invoice_uuid"], count=1, total=1)


# --- the invoice follows its order ----------------------------------------------------------------------------------


@pytest.mark.parametrize("order_status,wrong_invoice_status", [
    ("PENDING", "UNPAID"), ("CONFIRMED", "VOID"), ("BACKORDERED", "PAID"),
    ("SHIPPED", "DRAFT"), ("DELIVERED", "VOID"), ("CANCELLED", "UNPAID"),
])
def test_invoice_status_must_suit_the_order(on: On, tier: SmokeTier, order_status: str, wrong_invoice_status: str):
    invoice = first(invoices_with_orders(tier), lambda row: row["order_status"] == order_status)["invoice_uuid"]
    invoices = set_cells(tier.table(INVOICES), "invoice_uuid", invoice, status=wrong_invoice_status)
    on.caught(FOLLOWS, {INVOICES: invoices}, "status_for_order", invoice, count=1)


def test_shipped_order_with_draft_invoice(on: On, tier: SmokeTier):
    invoice = first(invoices_with_orders(tier), lambda row: row["order_status"] == "SHIPPED")["invoice_uuid"]
    invoices = set_cells(tier.table(INVOICES), "invoice_uuid", invoice, status="DRAFT", issue_date=None, due_date=None,
                         invoice_number=None)  # a draft has no number yet
    on.caught(FOLLOWS, {INVOICES: invoices}, "status_for_order", invoice, count=1, total=1)


def test_invoice_issued_before_shipment(on: On, tier: SmokeTier):
    row = first(invoices_with_orders(tier), lambda row: row["status"] in ISSUED and row["shipped_at"] is not None)
    issue = row["shipped_at"].date() - ONE_DAY
    invoices = set_cells(tier.table(INVOICES), "invoice_uuid", row["invoice_uuid"], issue_date=issue,
                         due_date=issue + dt.timedelta(days=TERMS_DAYS[row["payment_terms"]]))
    on.caught(FOLLOWS, {INVOICES: invoices}, "issued_before_shipment", row["invoice_uuid"], count=1, total=1)


def test_invoice_issued_on_shipment_day_is_fine(on: On, tier: SmokeTier):
    """The boundary of the rule above: shipped at the last second of the issue day is still allowed."""
    row = first(invoices_with_orders(tier), lambda row: row["status"] in ISSUED and row["shipped_at"] is not None)
    last_second = midnight(row["issue_date"]) + ONE_DAY - ONE_SECOND
    orders = set_cells(tier.table(ORDERS), "order_uuid", row["order_uuid"], shipped_at=last_second)
    assert on.run(FOLLOWS, {ORDERS: orders}).passed
    orders = set_cells(tier.table(ORDERS), "order_uuid", row["order_uuid"], shipped_at=last_second + ONE_SECOND)
    on.caught(FOLLOWS, {ORDERS: orders}, "issued_before_shipment", row["invoice_uuid"], count=1, total=1)


@pytest.mark.parametrize("status,column", [("DRAFT", "issue_date"), ("DRAFT", "due_date"), ("VOID", "issue_date")])
def test_draft_or_void_invoice_with_a_date(on: On, tier: SmokeTier, status: str, column: str):
    invoice = tier.first(INVOICES, lambda row: row["status"] == status)["invoice_uuid"]
    invoices = set_cells(tier.table(INVOICES), "invoice_uuid", invoice, **{column: tier.plan.reference_date})
    on.caught(FOLLOWS, {INVOICES: invoices}, "draft_or_void_with_dates", invoice, count=1)


# --- money adds up --------------------------------------------------------------------------------------------------

TOTALS = [  # rule, header table, line table, key, header statuses to pick from (one whose other checks stay quiet)
    (("money_adds_up", ORDERS), ORDERS, ORDER_LINES, "order_uuid", None),
    (("money_adds_up", QUOTE_LINES), QUOTES, QUOTE_LINES, "quote_uuid", None),
    (("money_adds_up", INVOICES), INVOICES, INVOICE_LINES, "invoice_uuid", ("DRAFT",)),
]
TOTAL_IDS = ["orders", "quotes", "invoices"]


@pytest.mark.parametrize("rule,header,lines,key,statuses", TOTALS, ids=TOTAL_IDS)
def test_total_is_not_the_sum_of_lines(on: On, tier: SmokeTier, rule, header: str, lines: str, key: str, statuses):
    row = tier.first(header, lambda row: statuses is None or row["status"] in statuses)
    headers = set_cells(tier.table(header), key, row[key], total_amount=round(row["total_amount"] + 0.01, 2))
    on.caught(rule, {header: headers}, "total_is_sum_of_lines", row[key], count=1, total=1)


@pytest.mark.parametrize("rule,header,lines,key,statuses", TOTALS, ids=TOTAL_IDS)
def test_line_total_is_not_quantity_times_price(on: On, tier: SmokeTier, rule, header: str, lines: str, key: str,
                                                statuses):
    line = tier.rows(lines)[0]
    # the line keeps its total (so the header still adds up) but its price moves by a cent
    priced = edit(tier.table(lines), lambda row: row == line, unit_price=round(line["unit_price"] + 0.01, 2))
    on.caught(rule, {lines: priced}, "line_total_is_quantity_times_price", line[key], count=1, total=1)


@pytest.mark.parametrize("rule,header,lines,key,statuses", TOTALS, ids=TOTAL_IDS)
def test_header_without_lines(on: On, tier: SmokeTier, rule, header: str, lines: str, key: str, statuses):
    name = tier.first(header, lambda row: statuses is None or row["status"] in statuses)[key]
    on.caught(rule, {lines: drop(tier.table(lines), lambda row: row[key] == name)}, "has_lines", name, count=1)


INVOICE_MONEY = ("money_adds_up", INVOICES)


def paid_invoice_and_payment(tier: SmokeTier) -> tuple[dict, dict]:
    paid = {p["invoice_uuid"]: p for p in tier.rows(PAYMENTS)}
    invoice = tier.first(INVOICES, lambda row: row["status"] == "PAID" and row["invoice_uuid"] in paid)
    return invoice, paid[invoice["invoice_uuid"]]


def test_amount_paid_is_not_the_sum_of_payments(on: On, tier: SmokeTier):
    invoice, payment = paid_invoice_and_payment(tier)
    payments = drop(tier.table(PAYMENTS), lambda row: row["payment_uuid"] == payment["payment_uuid"])
    on.caught(INVOICE_MONEY, {PAYMENTS: payments}, "paid_is_sum_of_payments", invoice["invoice_uuid"], count=1, total=1)


def test_paid_invoice_paid_short(on: On, tier: SmokeTier):
    invoice, payment = paid_invoice_and_payment(tier)
    # a cent less paid, consistently: amount_paid still equals the payments
    on.caught(INVOICE_MONEY, {
        INVOICES: set_cells(tier.table(INVOICES), "invoice_uuid", invoice["invoice_uuid"],
                            amount_paid=round(invoice["amount_paid"] - 0.01, 2)),
        PAYMENTS: set_cells(tier.table(PAYMENTS), "payment_uuid", payment["payment_uuid"],
                            amount=round(payment["amount"] - 0.01, 2)),
    }, "paid_means_paid_in_full", invoice["invoice_uuid"], count=1, total=1)


def test_overpaid_invoice(on: On, tier: SmokeTier):
    invoice, payment = paid_invoice_and_payment(tier)
    on.caught(INVOICE_MONEY, {
        INVOICES: set_cells(tier.table(INVOICES), "invoice_uuid", invoice["invoice_uuid"],
                            amount_paid=round(invoice["amount_paid"] + 1, 2)),
        PAYMENTS: set_cells(tier.table(PAYMENTS), "payment_uuid", payment["payment_uuid"],
                            amount=round(payment["amount"] + 1, 2)),
    }, "never_overpaid", invoice["invoice_uuid"], count=1)


def test_unpaid_invoice_with_a_payment(on: On, tier: SmokeTier):
    invoice = tier.first(INVOICES, lambda row: row["status"] == "UNPAID")
    paid_at = min(midnight(invoice["issue_date"]) + dt.timedelta(hours=12), tier.plan.reference_moment)
    result = on.caught(INVOICE_MONEY, {
        PAYMENTS: append(tier.table(PAYMENTS), tier.rows(PAYMENTS)[0], payment_uuid=new_uuid("payment of an unpaid"),
                         invoice_uuid=invoice["invoice_uuid"], amount=0.01, paid_at=paid_at),
        INVOICES: set_cells(tier.table(INVOICES), "invoice_uuid", invoice["invoice_uuid"], amount_paid=0.01),
    }, "unpaid_means_nothing_paid", invoice["invoice_uuid"], count=1)
    assert result.details["paid_is_sum_of_payments"] == 0


def test_partially_paid_invoice_paid_in_full(on: On, tier: SmokeTier):
    invoice = tier.first(INVOICES, lambda row: row["status"] == "PAID")["invoice_uuid"]
    invoices = set_cells(tier.table(INVOICES), "invoice_uuid", invoice, status="PARTIALLY_PAID")
    on.caught(INVOICE_MONEY, {INVOICES: invoices}, "partially_paid_between", invoice, count=1)


def test_past_due_invoice_not_marked_overdue(on: On, tier: SmokeTier):
    invoice = tier.first(INVOICES, lambda row: row["status"] == "OVERDUE" and row["amount_paid"] == 0
                         and row["due_date"] < tier.plan.reference_date)["invoice_uuid"]
    invoices = set_cells(tier.table(INVOICES), "invoice_uuid", invoice, status="UNPAID")
    on.caught(INVOICE_MONEY, {INVOICES: invoices}, "overdue_by_due_date", invoice, count=1, total=1)


def test_overdue_invoice_not_yet_due(on: On, tier: SmokeTier):
    invoice = tier.first(INVOICES, lambda row: row["status"] == "UNPAID"
                         and row["due_date"] >= tier.plan.reference_date)["invoice_uuid"]
    invoices = set_cells(tier.table(INVOICES), "invoice_uuid", invoice, status="OVERDUE")
    on.caught(INVOICE_MONEY, {INVOICES: invoices}, "overdue_by_due_date", invoice, count=1, total=1)


@pytest.mark.parametrize("terms", ["DUE_ON_RECEIPT", "NET_60"])
def test_due_date_is_not_issue_plus_terms(on: On, tier: SmokeTier, terms: str):
    invoice = tier.first(INVOICES, lambda row: row["issue_date"] is not None and row["payment_terms"] != terms)
    # other terms, same dates: the due date no longer follows from the issue date
    invoices = set_cells(tier.table(INVOICES), "invoice_uuid", invoice["invoice_uuid"], payment_terms=terms)
    on.caught(INVOICE_MONEY, {INVOICES: invoices}, "due_is_issue_plus_terms", invoice["invoice_uuid"], count=1, total=1)


def test_due_date_a_day_late(on: On, tier: SmokeTier):
    invoice = tier.first(INVOICES, lambda row: row["issue_date"] is not None
                         and row["due_date"] > tier.plan.reference_date)
    invoices = set_cells(tier.table(INVOICES), "invoice_uuid", invoice["invoice_uuid"],
                         due_date=invoice["due_date"] + ONE_DAY)
    on.caught(INVOICE_MONEY, {INVOICES: invoices}, "due_is_issue_plus_terms", invoice["invoice_uuid"], count=1, total=1)


# --- the ledger balances --------------------------------------------------------------------------------------------

LEDGER_BALANCED = ("ledger_balanced", LEDGER)


def test_unbalanced_journal(on: On, tier: SmokeTier):
    entry = tier.first(LEDGER, lambda row: row["debit"] > 0)
    ledger = set_cells(tier.table(LEDGER), "ledger_entry_uuid", entry["ledger_entry_uuid"],
                       debit=round(entry["debit"] + 0.01, 2))
    on.caught(LEDGER_BALANCED, {LEDGER: ledger}, "journal_balances", entry["journal_uuid"], count=1, total=1)


def test_negative_on_the_unused_side(on: On, tier: SmokeTier):
    entry = tier.first(LEDGER, lambda row: row["debit"] > 0.01)
    # a cent moved from the debit to a negative credit: the journal still balances
    ledger = set_cells(tier.table(LEDGER), "ledger_entry_uuid", entry["ledger_entry_uuid"],
                       debit=round(entry["debit"] - 0.01, 2), credit=-0.01)
    on.caught(LEDGER_BALANCED, {LEDGER: ledger}, "debit_and_credit_present", entry["ledger_entry_uuid"], count=1,
              total=1)


@pytest.mark.parametrize("side", ["debit", "credit"])
def test_null_on_the_unused_side(on: On, tier: SmokeTier, side: str):
    on.store_only(f"{side} is NOT NULL")
    entry = tier.first(LEDGER, lambda row: row[side] == 0)
    ledger = set_cells(tier.table(LEDGER), "ledger_entry_uuid", entry["ledger_entry_uuid"], **{side: None})
    on.caught(LEDGER_BALANCED, {LEDGER: ledger}, "debit_and_credit_present", entry["ledger_entry_uuid"], count=1,
              total=1)


def test_entry_on_both_sides(on: On, tier: SmokeTier):
    entry = tier.first(LEDGER, lambda row: row["debit"] > 0)
    # the same amount on both sides keeps the journal balanced: only the one-side rule sees it
    ledger = set_cells(tier.table(LEDGER), "ledger_entry_uuid", entry["ledger_entry_uuid"],
                       debit=round(entry["debit"] + 1, 2), credit=1.0)
    on.caught(LEDGER_BALANCED, {LEDGER: ledger}, "one_side_only", entry["ledger_entry_uuid"], count=1, total=1)
