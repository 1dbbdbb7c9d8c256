"""The registry's rules on time and stock against corrupted copies of the smoke tier, on the Parquet store,
SQLite and PostgreSQL: time moves forward from account to payment (across services where the workflow does),
tickets keep time and belong to their contact's account, and stock never goes negative."""

from __future__ import annotations

import datetime as dt

import pytest

from crm_mock_tests.rule_sources import On, SmokeTier, drop, set_cells

ACCOUNTS, CONTACTS = "contact.accounts", "contact.contacts"
OPPORTUNITIES, QUOTES = "sales.opportunities", "sales.quotes"
ORDERS, INVOICES, PAYMENTS = "orders.sales_orders", "finance.invoices", "finance.payments"
TICKETS, STOCK, MOVEMENTS = "support.tickets", "inventory.stock_levels", "inventory.stock_movements"
ONE_DAY, ONE_SECOND = dt.timedelta(days=1), dt.timedelta(seconds=1)

ORDER_TIME = ("time_moves_forward", ORDERS)
FUNNEL_TIME = ("time_moves_forward", QUOTES)
PAYMENT_TIME = ("time_moves_forward", PAYMENTS)
TICKET_RULES = ("tickets", TICKETS)
MOVEMENTS_BALANCE = ("stock_never_negative", MOVEMENTS)


@pytest.fixture
def tier(smoke_tier: SmokeTier) -> SmokeTier:
    return smoke_tier


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def created(tier: SmokeTier, name: str, key: str) -> dict:
    return {row[key]: row["created_at"] for row in tier.rows(name)}


# --- orders: account created ≤ quote ≤ order ≤ shipment ≤ reference -------------------------------------------------


def test_order_before_its_account_was_created(on: On, tier: SmokeTier):
    order = tier.first(ORDERS)
    account_created = created(tier, ACCOUNTS, "account_uuid")[order["account_uuid"]]
    orders = set_cells(tier.table(ORDERS), "order_uuid", order["order_uuid"],
                       order_date=account_created.date() - ONE_DAY, shipped_at=None)
    on.caught(ORDER_TIME, {ORDERS: orders}, "account_before_order", order["order_uuid"], count=1)


def test_order_on_the_day_its_account_was_created_is_fine(on: On, tier: SmokeTier):
    order = tier.first(ORDERS, lambda row: row["quote_uuid"] is None and row["shipped_at"] is None)
    account_created = created(tier, ACCOUNTS, "account_uuid")[order["account_uuid"]]
    orders = set_cells(tier.table(ORDERS), "order_uuid", order["order_uuid"], order_date=account_created.date())
    # moved back in time, its number now runs ahead of the orders in between: only that is reported
    assert on.run(ORDER_TIME, {ORDERS: orders}).details["account_before_order"] == 0


def test_quote_created_after_its_order(on: On, tier: SmokeTier):
    """Across services: the quote is in Sales, the order in Orders."""
    order = tier.first(ORDERS, lambda row: row["quote_uuid"] is not None
                       and row["order_date"] < tier.plan.reference_date - ONE_DAY)
    later = midnight(order["order_date"]) + ONE_DAY + dt.timedelta(hours=9)
    quotes = set_cells(tier.table(QUOTES), "quote_uuid", order["quote_uuid"], created_at=later)
    on.caught(ORDER_TIME, {QUOTES: quotes}, "quote_before_order", order["order_uuid"], count=1, total=1)


def test_shipped_before_ordered(on: On, tier: SmokeTier):
    order = tier.first(ORDERS, lambda row: row["shipped_at"] is not None)
    orders = set_cells(tier.table(ORDERS), "order_uuid", order["order_uuid"],
                       shipped_at=midnight(order["order_date"]) - ONE_SECOND)
    on.caught(ORDER_TIME, {ORDERS: orders}, "shipped_after_order", order["order_uuid"], count=1, total=1)


@pytest.mark.parametrize("column", ["order_date", "shipped_at"])
def test_order_after_the_reference_date(on: On, tier: SmokeTier, column: str):
    order = tier.first(ORDERS, lambda row: row["shipped_at"] is not None)["order_uuid"]
    later = tier.plan.reference_date + ONE_DAY
    orders = set_cells(tier.table(ORDERS), "order_uuid", order,
                       **{column: later if column == "order_date" else midnight(later)})
    on.caught(ORDER_TIME, {ORDERS: orders}, "not_after_reference", order, count=1)


# --- the funnel: account created ≤ opportunity ≤ quote ≤ reference --------------------------------------------------


def test_opportunity_created_after_its_quote(on: On, tier: SmokeTier):
    quote = tier.first(QUOTES)
    opportunities = set_cells(tier.table(OPPORTUNITIES), "opportunity_uuid", quote["opportunity_uuid"],
                              created_at=quote["created_at"] + ONE_SECOND)
    siblings = sum(row["opportunity_uuid"] == quote["opportunity_uuid"] for row in tier.rows(QUOTES))
    on.caught(FUNNEL_TIME, {OPPORTUNITIES: opportunities}, "opportunity_before_quote", quote["quote_uuid"],
              count=siblings)


def test_opportunity_before_its_account_was_created(on: On, tier: SmokeTier):
    """Across services: the opportunity is in Sales, the account in Contact."""
    opportunity = tier.first(OPPORTUNITIES)
    account_created = created(tier, ACCOUNTS, "account_uuid")[opportunity["account_uuid"]]
    opportunities = set_cells(tier.table(OPPORTUNITIES), "opportunity_uuid", opportunity["opportunity_uuid"],
                              created_at=account_created - ONE_SECOND)
    on.caught(FUNNEL_TIME, {OPPORTUNITIES: opportunities}, "account_before_opportunity",
              opportunity["opportunity_uuid"], count=1)


def test_quote_of_another_account_than_its_opportunity(on: On, tier: SmokeTier):
    quote = tier.first(QUOTES)
    other = tier.first(QUOTES, lambda row: row["account_uuid"] != quote["account_uuid"]
                       and row["currency_code"] == quote["currency_code"])["account_uuid"]
    quotes = set_cells(tier.table(QUOTES), "quote_uuid", quote["quote_uuid"], account_uuid=other)
    on.caught(FUNNEL_TIME, {QUOTES: quotes}, "same_account_as_opportunity", quote["quote_uuid"], count=1, total=1)


def test_quote_after_the_reference_date(on: On, tier: SmokeTier):
    # the latest quote: moved later, its number still the highest
    quote = max(tier.table(QUOTES).to_pylist(), key=lambda row: row["quote_number"])["quote_uuid"]
    quotes = set_cells(tier.table(QUOTES), "quote_uuid", quote, created_at=tier.plan.reference_moment + ONE_SECOND)
    on.caught(FUNNEL_TIME, {QUOTES: quotes}, "not_after_reference", quote, count=1, total=1)


# --- payments: invoice issue ≤ payment ≤ reference ------------------------------------------------------------------


def test_payment_before_its_invoice_was_issued(on: On, tier: SmokeTier):
    payment = tier.first(PAYMENTS)
    issued = {row["invoice_uuid"]: row["issue_date"] for row in tier.rows(INVOICES)}[payment["invoice_uuid"]]
    payments = set_cells(tier.table(PAYMENTS), "payment_uuid", payment["payment_uuid"],
                         paid_at=midnight(issued) - ONE_SECOND)
    on.caught(PAYMENT_TIME, {PAYMENTS: payments}, "paid_after_issue", payment["payment_uuid"], count=1, total=1)


def test_payment_of_a_draft_invoice(on: On, tier: SmokeTier):
    draft = tier.first(INVOICES, lambda row: row["status"] == "DRAFT")
    payment = tier.first(PAYMENTS, lambda row: row["currency_code"] == draft["currency_code"])["payment_uuid"]
    draft = draft["invoice_uuid"]
    payments = set_cells(tier.table(PAYMENTS), "payment_uuid", payment, invoice_uuid=draft)
    on.caught(PAYMENT_TIME, {PAYMENTS: payments}, "paid_after_issue", payment, count=1, total=1)


def test_payment_after_the_reference_date(on: On, tier: SmokeTier):
    payment = tier.first(PAYMENTS)["payment_uuid"]
    payments = set_cells(tier.table(PAYMENTS), "payment_uuid", payment,
                         paid_at=tier.plan.reference_moment + ONE_SECOND)
    on.caught(PAYMENT_TIME, {PAYMENTS: payments}, "not_after_reference", payment, count=1, total=1)


# --- tickets --------------------------------------------------------------------------------------------------------


def test_ticket_contact_of_another_account(on: On, tier: SmokeTier):
    """Across services: the ticket is in Support, its contact in Contact."""
    ticket = tier.first(TICKETS, lambda row: row["contact_uuid"] is not None)
    # a contact of another account that existed before the ticket, so only the account is wrong
    other = tier.first(CONTACTS, lambda row: row["account_uuid"] != ticket["account_uuid"]
                       and row["created_at"] <= ticket["created_at"])["contact_uuid"]
    tickets = set_cells(tier.table(TICKETS), "ticket_uuid", ticket["ticket_uuid"], contact_uuid=other)
    on.caught(TICKET_RULES, {TICKETS: tickets}, "contact_of_account", ticket["ticket_uuid"], count=1, total=1)


def test_ticket_before_its_contact_was_created(on: On, tier: SmokeTier):
    ticket = tier.first(TICKETS, lambda row: row["contact_uuid"] is not None)
    contact_created = created(tier, CONTACTS, "contact_uuid")[ticket["contact_uuid"]]
    tickets = set_cells(tier.table(TICKETS), "ticket_uuid", ticket["ticket_uuid"],
                        created_at=contact_created - ONE_SECOND)
    on.caught(TICKET_RULES, {TICKETS: tickets}, "contact_before_ticket", ticket["ticket_uuid"], count=1)


def test_ticket_resolved_before_first_response(on: On, tier: SmokeTier):
    ticket = tier.first(TICKETS, lambda row: row["resolved_at"] is not None and row["first_response_at"] is not None)
    tickets = set_cells(tier.table(TICKETS), "ticket_uuid", ticket["ticket_uuid"],
                        resolved_at=ticket["first_response_at"] - ONE_SECOND)
    on.caught(TICKET_RULES, {TICKETS: tickets}, "resolved_after_response", ticket["ticket_uuid"], count=1, total=1)


def test_ticket_responded_before_creation(on: On, tier: SmokeTier):
    ticket = tier.first(TICKETS, lambda row: row["first_response_at"] is not None)
    tickets = set_cells(tier.table(TICKETS), "ticket_uuid", ticket["ticket_uuid"],
                        first_response_at=ticket["created_at"] - ONE_SECOND)
    on.caught(TICKET_RULES, {TICKETS: tickets}, "response_after_creation", ticket["ticket_uuid"], count=1)


def test_resolved_ticket_without_resolution_time(on: On, tier: SmokeTier):
    ticket = tier.first(TICKETS, lambda row: row["status"] in ("RESOLVED", "CLOSED"))["ticket_uuid"]
    tickets = set_cells(tier.table(TICKETS), "ticket_uuid", ticket, resolved_at=None)
    on.caught(TICKET_RULES, {TICKETS: tickets}, "resolved_status_has_time", ticket, count=1, total=1)


def test_ticket_after_the_reference_date(on: On, tier: SmokeTier):
    ticket = tier.first(TICKETS, lambda row: row["resolved_at"] is not None)["ticket_uuid"]
    tickets = set_cells(tier.table(TICKETS), "ticket_uuid", ticket, resolved_at=tier.plan.reference_moment + ONE_SECOND)
    on.caught(TICKET_RULES, {TICKETS: tickets}, "not_after_reference", ticket, count=1, total=1)


# --- stock movements: they make up the levels and never dip below zero ---------------------------------------------


def place(row: dict) -> str:
    return f"{row['product_uuid']}|{row['warehouse_uuid']}"


@pytest.mark.parametrize("delta", [1, -1])
def test_movements_no_longer_sum_to_on_hand(on: On, tier: SmokeTier, delta: int):
    movement = tier.first(MOVEMENTS)
    movements = set_cells(tier.table(MOVEMENTS), "stock_movement_uuid", movement["stock_movement_uuid"],
                          quantity=movement["quantity"] + delta)
    on.caught(MOVEMENTS_BALANCE, {MOVEMENTS: movements}, "movements_sum_to_on_hand", place(movement), count=1)


def test_stock_level_without_its_movements(on: On, tier: SmokeTier):
    level = tier.first(STOCK, lambda row: row["quantity_on_hand"] > 0)
    movements = drop(tier.table(MOVEMENTS), lambda row: place(row) == place(level))
    on.caught(MOVEMENTS_BALANCE, {MOVEMENTS: movements}, "movements_sum_to_on_hand", place(level), count=1, total=1)


def test_movements_without_a_stock_level(on: On, tier: SmokeTier):
    level = tier.first(STOCK, lambda row: row["quantity_on_hand"] > 0)
    levels = drop(tier.table(STOCK), lambda row: place(row) == place(level))
    on.caught(MOVEMENTS_BALANCE, {STOCK: levels}, "movements_sum_to_on_hand", place(level), count=1, total=1)


def test_shipment_before_the_opening_receipt(on: On, tier: SmokeTier):
    movements = sorted(tier.rows(MOVEMENTS), key=lambda row: (row["occurred_at"], row["stock_movement_uuid"]))
    shipment = next(row for row in movements if row["movement_type"] == "SHIPMENT")
    opening = next(row for row in movements if place(row) == place(shipment))
    assert opening["quantity"] > 0 > shipment["quantity"]
    moved = set_cells(tier.table(MOVEMENTS), "stock_movement_uuid", shipment["stock_movement_uuid"],
                      occurred_at=opening["occurred_at"] - ONE_SECOND)
    result = on.caught(MOVEMENTS_BALANCE, {MOVEMENTS: moved}, "running_balance_never_negative",
                       shipment["stock_movement_uuid"])
    assert result.details["movements_sum_to_on_hand"] == 0
