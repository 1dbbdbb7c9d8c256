"""The Part A workflow rules (`crm_mock.consistency.transaction_rules`) against generated data.

Every rule passes on the generated smoke and staging tiers, and every invariant a rule guards is broken
once, in a copy of that data, to show the rule fails and names the row that was broken.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_mock.consistency import transaction_rules as tr
from crm_mock.consistency.results import RuleResult
from crm_mock.generate import GENERATORS
from crm_mock.scenario import TierPlan, load_scenario, plan_tier

ACCOUNTS, CONTACTS = "contact.accounts", "contact.contacts"
PRODUCTS, STOCK, MOVEMENTS = "inventory.products", "inventory.stock_levels", "inventory.stock_movements"
OPPORTUNITIES, QUOTES, QUOTE_LINES = "sales.opportunities", "sales.quotes", "sales.quote_lines"
ORDERS, ORDER_LINES = "orders.sales_orders", "orders.order_lines"
CUSTOMERS, INVOICES, INVOICE_LINES = "finance.customer_accounts", "finance.invoices", "finance.invoice_lines"
PAYMENTS, LEDGER = "finance.payments", "finance.ledger_entries"
TICKETS = "support.tickets"

# Part A vocabularies and terms
ISSUED = ("UNPAID", "PARTIALLY_PAID", "PAID", "OVERDUE")
TERMS_DAYS = {"NET_15": 15, "NET_30": 30, "NET_60": 60, "DUE_ON_RECEIPT": 0}
ONE_DAY, ONE_SECOND = pd.Timedelta(days=1), pd.Timedelta(seconds=1)

Tables = dict[str, pa.Table]

# every rule, called the way the Dagster checks call it: on the tables it reads, and the plan where it needs one
RULES: dict[str, Callable[[TierPlan, Tables], RuleResult]] = {
    "invoice_per_order": lambda p, t: tr.invoice_per_order(t[ORDERS], t[INVOICES]),
    "invoice_follows_order": lambda p, t: tr.invoice_follows_order(t[ORDERS], t[INVOICES]),
    "order_totals": lambda p, t: tr.order_totals(t[ORDERS], t[ORDER_LINES]),
    "quote_totals": lambda p, t: tr.quote_totals(t[QUOTES], t[QUOTE_LINES]),
    "invoice_money": lambda p, t: tr.invoice_money(p, t[INVOICES], t[INVOICE_LINES], t[PAYMENTS]),
    "ledger_balanced": lambda p, t: tr.ledger_balanced(t[LEDGER]),
    "order_timeline": lambda p, t: tr.order_timeline(p, t[ORDERS], t[QUOTES], t[ACCOUNTS]),
    "funnel_timeline": lambda p, t: tr.funnel_timeline(p, t[OPPORTUNITIES], t[QUOTES], t[ACCOUNTS]),
    "payment_timeline": lambda p, t: tr.payment_timeline(p, t[PAYMENTS], t[INVOICES]),
    "ticket_rules": lambda p, t: tr.ticket_rules(p, t[TICKETS], t[CONTACTS]),
    "stock_movements_balance": lambda p, t: tr.stock_movements_balance(t[MOVEMENTS], t[STOCK]),
    "order_quotas": lambda p, t: tr.order_quotas(p, t[ORDERS], t[ORDER_LINES], t[INVOICES], t[STOCK], t[PRODUCTS]),
    "invoice_quotas": lambda p, t: tr.invoice_quotas(p, t[INVOICES], t[INVOICE_LINES]),
    "credit_holds_synced": lambda p, t: tr.credit_holds_synced(t[CUSTOMERS], t[ACCOUNTS]),
}


# --- data -------------------------------------------------------------------------------------------------------


def _generate(tier: str) -> tuple[TierPlan, Tables]:
    plan = plan_tier(load_scenario(), tier)
    return plan, {name: generate(plan) for name, generate in GENERATORS.items()}


@pytest.fixture(scope="module")
def staging_tables() -> tuple[TierPlan, Tables]:
    return _generate("staging")


@pytest.fixture(scope="module")
def smoke_tables() -> tuple[TierPlan, Tables]:
    return _generate("smoke")


@dataclass(frozen=True)
class Data:
    """One tier's generated tables; ``run`` applies a rule with some tables swapped for corrupted copies."""

    plan: TierPlan
    tables: Tables

    def frame(self, name: str) -> pd.DataFrame:
        return self.tables[name].to_pandas(date_as_object=False)

    def run(self, rule: str, replaced: Tables | None = None) -> RuleResult:
        return RULES[rule](self.plan, {**self.tables, **(replaced or {})})

    @property
    def reference_day(self) -> pd.Timestamp:
        return pd.Timestamp(self.plan.reference_date)

    @property
    def reference_moment(self) -> pd.Timestamp:
        return pd.Timestamp(self.plan.reference_moment)


@pytest.fixture(scope="module", params=["smoke", "staging"])
def data(request: pytest.FixtureRequest) -> Data:
    return Data(*request.getfixturevalue(f"{request.param}_tables"))


# --- corruption helpers -----------------------------------------------------------------------------------------


def to_table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """Back to Arrow under the original schema; date32 columns from datetime64, and a field that now holds
    nulls made nullable (so a corruption can put a null where the generator never does)."""
    frame = frame[schema.names].copy()
    fields = []
    for field in schema:
        column = frame[field.name]
        if pa.types.is_date32(field.type) and pd.api.types.is_datetime64_any_dtype(column):
            frame[field.name] = pd.Series([None if pd.isna(d) else d.date() for d in column], index=frame.index,
                                          dtype=object)
        fields.append(field.with_nullable(True) if column.isna().any() else field)
    return pa.Table.from_pandas(frame, schema=pa.schema(fields, metadata=schema.metadata), preserve_index=False)


def corrupt(table: pa.Table, change: Callable[[pd.DataFrame], pd.DataFrame | None]) -> pa.Table:
    """A corrupted copy of ``table``: ``change`` edits its pandas frame in place or returns a new one."""
    frame = table.to_pandas(date_as_object=False)
    changed = change(frame)
    return to_table(frame if changed is None else changed, table.schema)


def set_cells(table: pa.Table, key: str, value: str, **columns: object) -> pa.Table:
    """A copy of ``table`` with the row(s) whose ``key`` is ``value`` given new ``columns`` values."""
    def change(frame: pd.DataFrame) -> None:
        rows = frame[key] == value
        assert rows.any(), f"no row with {key} = {value}"
        for column, new in columns.items():
            frame.loc[rows, column] = new
    return corrupt(table, change)


def first(frame: pd.DataFrame, mask: pd.Series | None = None) -> pd.Series:
    """The first row matching ``mask``; the test cannot corrupt what the data does not hold."""
    rows = frame if mask is None else frame[mask]
    assert len(rows), "the generated data holds no row to corrupt"
    return rows.iloc[0]


def new_uuid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"crm_mock_tests/test_transaction_rules/{name}"))


def invoices_with_orders(data: Data) -> pd.DataFrame:
    orders = data.frame(ORDERS)[["order_uuid", "status", "order_date", "shipped_at"]]
    return data.frame(INVOICES).merge(orders, on="order_uuid", suffixes=("", "_order"))


def assert_caught(result: RuleResult, check: str, *names: str, count: int | None = None) -> None:
    """The rule failed through its sub-check ``check``, and every one of ``names`` is in its sample."""
    assert not result.passed, f"{result.rule} missed the corruption: {result}"
    assert result.details.get(check, 0) >= 1, f"{check} did not fire: {result.details}"
    if count is not None:
        assert result.details[check] == count, result.details
    for name in names:
        assert any(name in entry for entry in result.sample), f"{name!r} not in sample {result.sample}"


# --- every rule passes on generated data ------------------------------------------------------------------------


def test_every_rule_function_is_covered():
    public = {name for name, f in inspect.getmembers(tr, inspect.isfunction)
              if f.__module__ == tr.__name__ and not name.startswith("_")}
    assert public == set(RULES)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_rule_passes_on_generated_data(data: Data, rule: str):
    result = data.run(rule)
    assert result.passed, result
    assert result.offending == 0 and result.sample == ()
    assert result.details and all(count == 0 for count in result.details.values()), result.details


# --- one invoice per order, of the order's account --------------------------------------------------------------


def test_order_without_invoice(data: Data):
    order = first(data.frame(ORDERS)).order_uuid
    invoices = corrupt(data.tables[INVOICES], lambda f: f[f.order_uuid != order])
    assert_caught(data.run("invoice_per_order", {INVOICES: invoices}), "order_without_invoice", order, count=1)


def test_order_with_two_invoices(data: Data):
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        twin = frame.iloc[[0]].assign(invoice_uuid=new_uuid("second invoice"))
        return pd.concat([frame, twin], ignore_index=True)
    order = first(data.frame(INVOICES)).order_uuid
    invoices = corrupt(data.tables[INVOICES], change)
    assert_caught(data.run("invoice_per_order", {INVOICES: invoices}), "order_with_several", order, count=1)


def test_invoice_with_another_account(data: Data):
    invoices = data.frame(INVOICES)
    invoice = first(invoices)
    other = first(invoices, invoices.account_uuid != invoice.account_uuid).account_uuid
    corrupted = set_cells(data.tables[INVOICES], "invoice_uuid", invoice.invoice_uuid, account_uuid=other)
    assert_caught(data.run("invoice_per_order", {INVOICES: corrupted}), "account_differs", invoice.invoice_uuid,
                  count=1)


# --- the invoice follows its order ------------------------------------------------------------------------------


@pytest.mark.parametrize("order_status,wrong_invoice_status", [
    ("PENDING", "UNPAID"), ("CONFIRMED", "VOID"), ("BACKORDERED", "PAID"),
    ("SHIPPED", "DRAFT"), ("DELIVERED", "VOID"), ("CANCELLED", "UNPAID"),
])
def test_invoice_status_must_suit_the_order(data: Data, order_status: str, wrong_invoice_status: str):
    joined = invoices_with_orders(data)
    invoice = first(joined, joined.status_order == order_status).invoice_uuid
    corrupted = set_cells(data.tables[INVOICES], "invoice_uuid", invoice, status=wrong_invoice_status)
    assert_caught(data.run("invoice_follows_order", {INVOICES: corrupted}), "status_for_order", invoice, count=1)


def test_shipped_order_with_draft_invoice(data: Data):
    joined = invoices_with_orders(data)
    invoice = first(joined, joined.status_order == "SHIPPED").invoice_uuid
    corrupted = set_cells(data.tables[INVOICES], "invoice_uuid", invoice, status="DRAFT", issue_date=pd.NaT,
                          due_date=pd.NaT)
    result = data.run("invoice_follows_order", {INVOICES: corrupted})
    assert_caught(result, "status_for_order", invoice, count=1)
    assert result.details["draft_or_void_with_dates"] == 0


def test_invoice_issued_before_shipment(data: Data):
    joined = invoices_with_orders(data)
    row = first(joined, joined.status.isin(ISSUED) & joined.shipped_at.notna())
    issue = row.shipped_at.normalize() - ONE_DAY
    due = issue + pd.Timedelta(days=TERMS_DAYS[row.payment_terms])
    corrupted = set_cells(data.tables[INVOICES], "invoice_uuid", row.invoice_uuid, issue_date=issue, due_date=due)
    assert_caught(data.run("invoice_follows_order", {INVOICES: corrupted}), "issued_before_shipment",
                  row.invoice_uuid, count=1)


def test_invoice_issued_on_shipment_day_is_fine(data: Data):
    """The boundary of the rule above: shipped at the last second of the issue day is still allowed."""
    joined = invoices_with_orders(data)
    row = first(joined, joined.status.isin(ISSUED) & joined.shipped_at.notna())
    last_second = row.issue_date + ONE_DAY - ONE_SECOND
    corrupted = set_cells(data.tables[ORDERS], "order_uuid", row.order_uuid, shipped_at=last_second)
    assert data.run("invoice_follows_order", {ORDERS: corrupted}).passed
    next_day = set_cells(data.tables[ORDERS], "order_uuid", row.order_uuid, shipped_at=last_second + ONE_SECOND)
    assert_caught(data.run("invoice_follows_order", {ORDERS: next_day}), "issued_before_shipment", row.invoice_uuid,
                  count=1)


@pytest.mark.parametrize("status,column", [("DRAFT", "issue_date"), ("DRAFT", "due_date"), ("VOID", "issue_date")])
def test_draft_or_void_invoice_with_a_date(data: Data, status: str, column: str):
    invoices = data.frame(INVOICES)
    invoice = first(invoices, invoices.status == status).invoice_uuid
    corrupted = set_cells(data.tables[INVOICES], "invoice_uuid", invoice, **{column: data.reference_day})
    assert_caught(data.run("invoice_follows_order", {INVOICES: corrupted}), "draft_or_void_with_dates", invoice,
                  count=1)


def test_issued_invoice_without_issue_date(data: Data):
    joined = invoices_with_orders(data)
    invoice = first(joined, (joined.status_order == "SHIPPED") & (joined.status == "UNPAID")).invoice_uuid
    corrupted = set_cells(data.tables[INVOICES], "invoice_uuid", invoice, issue_date=pd.NaT, due_date=pd.NaT)
    results = [data.run(rule, {INVOICES: corrupted}) for rule in ("invoice_follows_order", "invoice_money")]
    assert any(not r.passed and invoice in r.sample for r in results), results


# --- money adds up ----------------------------------------------------------------------------------------------

TOTALS = [  # rule, header table, line table, key, header statuses to pick from (one whose other checks stay quiet)
    ("order_totals", ORDERS, ORDER_LINES, "order_uuid", None),
    ("quote_totals", QUOTES, QUOTE_LINES, "quote_uuid", None),
    ("invoice_money", INVOICES, INVOICE_LINES, "invoice_uuid", ("DRAFT",)),
]


@pytest.mark.parametrize("rule,header,lines,key,statuses", TOTALS)
def test_total_is_not_the_sum_of_lines(data: Data, rule: str, header: str, lines: str, key: str, statuses):
    headers = data.frame(header)
    row = first(headers, None if statuses is None else headers.status.isin(statuses))
    corrupted = set_cells(data.tables[header], key, row[key], total_amount=round(row.total_amount + 0.01, 2))
    assert_caught(data.run(rule, {header: corrupted}), "total_is_sum_of_lines", row[key], count=1)


@pytest.mark.parametrize("rule,header,lines,key,statuses", TOTALS)
def test_line_total_is_not_quantity_times_price(data: Data, rule: str, header: str, lines: str, key: str, statuses):
    frame = data.frame(lines)
    line = first(frame)
    # the line keeps its total (so the header still adds up) but its price moves by a cent
    corrupted = corrupt(data.tables[lines], lambda f: f.__setitem__(
        "unit_price", f.unit_price.where(f.index != 0, round(line.unit_price + 0.01, 2))))
    result = data.run(rule, {lines: corrupted})
    assert_caught(result, "line_total_is_quantity_times_price", line[key], count=1)
    assert result.details["total_is_sum_of_lines"] == 0


@pytest.mark.parametrize("rule,header,lines,key,statuses", TOTALS)
def test_header_without_lines(data: Data, rule: str, header: str, lines: str, key: str, statuses):
    headers = data.frame(header)
    name = first(headers, None if statuses is None else headers.status.isin(statuses))[key]
    corrupted = corrupt(data.tables[lines], lambda f: f[f[key] != name])
    assert_caught(data.run(rule, {lines: corrupted}), "has_lines", name)


@settings(max_examples=20, deadline=None)
@given(row=st.integers(min_value=0), cents=st.integers(min_value=-10**6, max_value=10**6).filter(bool))
def test_any_order_total_off_by_any_cents_is_caught(staging_tables, row: int, cents: int):
    plan, tables = staging_tables
    orders = tables[ORDERS]
    row %= orders.num_rows
    total = pc.add(orders["total_amount"].combine_chunks(),
                           pa.array([cents / 100 if i == row else 0.0 for i in range(orders.num_rows)]))
    corrupted = orders.set_column(orders.schema.get_field_index("total_amount"), "total_amount", total)
    order = orders["order_uuid"][row].as_py()
    assert_caught(RULES["order_totals"](plan, {**tables, ORDERS: corrupted}), "total_is_sum_of_lines", order,
                  count=1)


def test_amount_paid_is_not_the_sum_of_payments(data: Data):
    payments = data.frame(PAYMENTS)
    invoices = data.frame(INVOICES)
    paid = invoices.invoice_uuid[invoices.status == "PAID"]
    payment = first(payments, payments.invoice_uuid.isin(paid))
    corrupted = corrupt(data.tables[PAYMENTS], lambda f: f[f.payment_uuid != payment.payment_uuid])
    result = data.run("invoice_money", {PAYMENTS: corrupted})
    assert_caught(result, "paid_is_sum_of_payments", payment.invoice_uuid, count=1)
    assert result.offending == 1, result.details


def test_paid_invoice_paid_short(data: Data):
    payments, invoices = data.frame(PAYMENTS), data.frame(INVOICES)
    invoice = first(invoices, (invoices.status == "PAID") & invoices.invoice_uuid.isin(payments.invoice_uuid))
    payment = first(payments, payments.invoice_uuid == invoice.invoice_uuid)
    # a cent less paid, consistently: amount_paid still equals the payments
    short_invoices = set_cells(data.tables[INVOICES], "invoice_uuid", invoice.invoice_uuid,
                               amount_paid=round(invoice.amount_paid - 0.01, 2))
    short_payments = set_cells(data.tables[PAYMENTS], "payment_uuid", payment.payment_uuid,
                               amount=round(payment.amount - 0.01, 2))
    result = data.run("invoice_money", {INVOICES: short_invoices, PAYMENTS: short_payments})
    assert_caught(result, "paid_means_paid_in_full", invoice.invoice_uuid, count=1)
    assert result.offending == 1, result.details


def test_overpaid_invoice(data: Data):
    payments, invoices = data.frame(PAYMENTS), data.frame(INVOICES)
    invoice = first(invoices, (invoices.status == "PAID") & invoices.invoice_uuid.isin(payments.invoice_uuid))
    payment = first(payments, payments.invoice_uuid == invoice.invoice_uuid)
    result = data.run("invoice_money", {
        INVOICES: set_cells(data.tables[INVOICES], "invoice_uuid", invoice.invoice_uuid,
                            amount_paid=round(invoice.amount_paid + 1, 2)),
        PAYMENTS: set_cells(data.tables[PAYMENTS], "payment_uuid", payment.payment_uuid,
                            amount=round(payment.amount + 1, 2)),
    })
    assert_caught(result, "never_overpaid", invoice.invoice_uuid, count=1)


def test_unpaid_invoice_with_a_payment(data: Data):
    invoices = data.frame(INVOICES)
    invoice = first(invoices, invoices.status == "UNPAID")

    def add_payment(frame: pd.DataFrame) -> pd.DataFrame:
        paid_at = min(invoice.issue_date + pd.Timedelta(hours=12), data.reference_moment)
        extra = frame.iloc[[0]].assign(payment_uuid=new_uuid("payment of an unpaid invoice"),
                                       invoice_uuid=invoice.invoice_uuid, amount=0.01, paid_at=paid_at)
        return pd.concat([frame, extra], ignore_index=True)

    result = data.run("invoice_money", {
        PAYMENTS: corrupt(data.tables[PAYMENTS], add_payment),
        INVOICES: set_cells(data.tables[INVOICES], "invoice_uuid", invoice.invoice_uuid, amount_paid=0.01),
    })
    assert_caught(result, "unpaid_means_nothing_paid", invoice.invoice_uuid, count=1)
    assert result.details["paid_is_sum_of_payments"] == 0


def test_partially_paid_invoice_paid_in_full(data: Data):
    invoices = data.frame(INVOICES)
    invoice = first(invoices, invoices.status == "PAID").invoice_uuid
    corrupted = set_cells(data.tables[INVOICES], "invoice_uuid", invoice, status="PARTIALLY_PAID")
    assert_caught(data.run("invoice_money", {INVOICES: corrupted}), "partially_paid_between", invoice, count=1)


def test_past_due_invoice_not_marked_overdue(data: Data):
    invoices = data.frame(INVOICES)
    invoice = first(invoices, (invoices.status == "OVERDUE") & (invoices.amount_paid == 0)
                    & (invoices.due_date < data.reference_day))
    corrupted = set_cells(data.tables[INVOICES], "invoice_uuid", invoice.invoice_uuid, status="UNPAID")
    result = data.run("invoice_money", {INVOICES: corrupted})
    assert_caught(result, "overdue_by_due_date", invoice.invoice_uuid, count=1)
    assert result.offending == 1, result.details


def test_overdue_invoice_not_yet_due(data: Data):
    invoices = data.frame(INVOICES)
    invoice = first(invoices, (invoices.status == "UNPAID") & (invoices.due_date >= data.reference_day))
    corrupted = set_cells(data.tables[INVOICES], "invoice_uuid", invoice.invoice_uuid, status="OVERDUE")
    assert_caught(data.run("invoice_money", {INVOICES: corrupted}), "overdue_by_due_date", invoice.invoice_uuid,
                  count=1)


@pytest.mark.parametrize("terms", sorted(TERMS_DAYS))
def test_due_date_is_not_issue_plus_terms(data: Data, terms: str):
    invoices = data.frame(INVOICES)
    invoice = first(invoices, invoices.issue_date.notna() & (invoices.payment_terms != terms))
    # other terms, same dates: the due date no longer follows from the issue date
    corrupted = set_cells(data.tables[INVOICES], "invoice_uuid", invoice.invoice_uuid, payment_terms=terms)
    result = data.run("invoice_money", {INVOICES: corrupted})
    assert_caught(result, "due_is_issue_plus_terms", invoice.invoice_uuid, count=1)
    assert result.offending == 1, result.details


def test_due_date_a_day_late(data: Data):
    invoices = data.frame(INVOICES)
    invoice = first(invoices, invoices.issue_date.notna() & (invoices.due_date > data.reference_day))
    corrupted = set_cells(data.tables[INVOICES], "invoice_uuid", invoice.invoice_uuid,
                          due_date=invoice.due_date + ONE_DAY)
    assert_caught(data.run("invoice_money", {INVOICES: corrupted}), "due_is_issue_plus_terms", invoice.invoice_uuid,
                  count=1)


# --- the ledger balances ----------------------------------------------------------------------------------------


def test_unbalanced_journal(data: Data):
    ledger = data.frame(LEDGER)
    entry = first(ledger, ledger.debit > 0)
    corrupted = set_cells(data.tables[LEDGER], "ledger_entry_uuid", entry.ledger_entry_uuid,
                          debit=round(entry.debit + 0.01, 2))
    result = data.run("ledger_balanced", {LEDGER: corrupted})
    assert_caught(result, "journal_balances", entry.journal_uuid, count=1)
    assert result.details["debit_and_credit_present"] == 0


@pytest.mark.parametrize("side", ["debit", "credit"])
def test_null_on_the_unused_side(data: Data, side: str):
    ledger = data.frame(LEDGER)
    entry = first(ledger, ledger[side] == 0)  # the journal still balances without it
    corrupted = set_cells(data.tables[LEDGER], "ledger_entry_uuid", entry.ledger_entry_uuid, **{side: None})
    assert corrupted[side].null_count == 1
    result = data.run("ledger_balanced", {LEDGER: corrupted})
    assert_caught(result, "debit_and_credit_present", entry.ledger_entry_uuid, count=1)
    assert result.details["journal_balances"] == 0


def test_entry_on_both_sides(data: Data):
    ledger = data.frame(LEDGER)
    entry = first(ledger, ledger.debit > 0)
    # the same amount on both sides keeps the journal balanced: only the one-side rule sees it
    corrupted = set_cells(data.tables[LEDGER], "ledger_entry_uuid", entry.ledger_entry_uuid,
                          debit=round(entry.debit + 1, 2), credit=1.0)
    result = data.run("ledger_balanced", {LEDGER: corrupted})
    assert_caught(result, "one_side_only", entry.ledger_entry_uuid, count=1)
    assert result.details["journal_balances"] == 0


@settings(max_examples=15, deadline=None)
@given(row=st.integers(min_value=0), cents=st.integers(min_value=-10**6, max_value=10**6).filter(bool))
def test_any_entry_off_by_any_cents_unbalances_its_journal(staging_tables, row: int, cents: int):
    plan, tables = staging_tables
    ledger = tables[LEDGER]
    row %= ledger.num_rows
    debit = pc.add(ledger["debit"].combine_chunks(),
                           pa.array([cents / 100 if i == row else 0.0 for i in range(ledger.num_rows)]))
    corrupted = ledger.set_column(ledger.schema.get_field_index("debit"), "debit", debit)
    journal = ledger["journal_uuid"][row].as_py()
    assert_caught(RULES["ledger_balanced"](plan, {**tables, LEDGER: corrupted}), "journal_balances", journal,
                  count=1)


# --- time moves forward -----------------------------------------------------------------------------------------


def test_order_before_its_account_was_created(data: Data):
    orders = data.frame(ORDERS).merge(data.frame(ACCOUNTS)[["account_uuid", "created_at"]], on="account_uuid")
    order = first(orders)
    corrupted = set_cells(data.tables[ORDERS], "order_uuid", order.order_uuid,
                          order_date=order.created_at.normalize() - ONE_DAY, shipped_at=pd.NaT)
    assert_caught(data.run("order_timeline", {ORDERS: corrupted}), "account_before_order", order.order_uuid, count=1)


def test_order_on_the_day_its_account_was_created_is_fine(data: Data):
    orders = data.frame(ORDERS).merge(data.frame(ACCOUNTS)[["account_uuid", "created_at"]], on="account_uuid")
    order = first(orders, orders.quote_uuid.isna() & orders.shipped_at.isna())
    corrupted = set_cells(data.tables[ORDERS], "order_uuid", order.order_uuid,
                          order_date=order.created_at.normalize())
    # moved back in time, its number now runs ahead of the orders in between: only that is reported
    assert data.run("order_timeline", {ORDERS: corrupted}).details["account_before_order"] == 0


def test_quote_created_after_its_order(data: Data):
    orders = data.frame(ORDERS)
    order = first(orders, orders.quote_uuid.notna() & (orders.order_date < data.reference_day - ONE_DAY))
    later = order.order_date + ONE_DAY + pd.Timedelta(hours=9)
    corrupted = set_cells(data.tables[QUOTES], "quote_uuid", order.quote_uuid, created_at=later)
    assert_caught(data.run("order_timeline", {QUOTES: corrupted}), "quote_before_order", order.order_uuid, count=1)


def test_shipped_before_ordered(data: Data):
    orders = data.frame(ORDERS)
    order = first(orders, orders.shipped_at.notna()).order_uuid
    corrupted = corrupt(data.tables[ORDERS], lambda f: f.__setitem__("shipped_at", f.shipped_at.mask(
        f.order_uuid == order, f.order_date - ONE_SECOND)))
    assert_caught(data.run("order_timeline", {ORDERS: corrupted}), "shipped_after_order", order, count=1)


@pytest.mark.parametrize("column", ["order_date", "shipped_at"])
def test_order_after_the_reference_date(data: Data, column: str):
    orders = data.frame(ORDERS)
    order = first(orders, orders.shipped_at.notna()).order_uuid
    corrupted = set_cells(data.tables[ORDERS], "order_uuid", order, **{column: data.reference_day + ONE_DAY})
    assert_caught(data.run("order_timeline", {ORDERS: corrupted}), "not_after_reference", order)


def test_opportunity_created_after_its_quote(data: Data):
    quote = first(data.frame(QUOTES))
    corrupted = set_cells(data.tables[OPPORTUNITIES], "opportunity_uuid", quote.opportunity_uuid,
                          created_at=quote.created_at + ONE_SECOND)
    result = data.run("funnel_timeline", {OPPORTUNITIES: corrupted})
    assert_caught(result, "opportunity_before_quote", quote.quote_uuid)
    assert result.details["opportunity_before_quote"] == (data.frame(QUOTES).opportunity_uuid
                                                          == quote.opportunity_uuid).sum()


def test_opportunity_before_its_account_was_created(data: Data):
    opportunities = data.frame(OPPORTUNITIES).merge(
        data.frame(ACCOUNTS)[["account_uuid", "created_at"]], on="account_uuid", suffixes=("", "_account"))
    opportunity = first(opportunities)
    corrupted = set_cells(data.tables[OPPORTUNITIES], "opportunity_uuid", opportunity.opportunity_uuid,
                          created_at=opportunity.created_at_account - ONE_SECOND)
    assert_caught(data.run("funnel_timeline", {OPPORTUNITIES: corrupted}), "account_before_opportunity",
                  opportunity.opportunity_uuid, count=1)


def test_quote_of_another_account_than_its_opportunity(data: Data):
    quotes = data.frame(QUOTES)
    quote = first(quotes)
    other = first(quotes, quotes.account_uuid != quote.account_uuid).account_uuid
    corrupted = set_cells(data.tables[QUOTES], "quote_uuid", quote.quote_uuid, account_uuid=other)
    assert_caught(data.run("funnel_timeline", {QUOTES: corrupted}), "same_account_as_opportunity", quote.quote_uuid,
                  count=1)


def test_quote_after_the_reference_date(data: Data):
    quote = first(data.frame(QUOTES)).quote_uuid
    corrupted = set_cells(data.tables[QUOTES], "quote_uuid", quote, created_at=data.reference_moment + ONE_SECOND)
    assert_caught(data.run("funnel_timeline", {QUOTES: corrupted}), "not_after_reference", quote, count=1)


def test_payment_before_its_invoice_was_issued(data: Data):
    payments = data.frame(PAYMENTS).merge(data.frame(INVOICES)[["invoice_uuid", "issue_date"]], on="invoice_uuid")
    payment = first(payments)
    corrupted = set_cells(data.tables[PAYMENTS], "payment_uuid", payment.payment_uuid,
                          paid_at=payment.issue_date - ONE_SECOND)
    assert_caught(data.run("payment_timeline", {PAYMENTS: corrupted}), "paid_after_issue", payment.payment_uuid,
                  count=1)


def test_payment_of_a_draft_invoice(data: Data):
    invoices = data.frame(INVOICES)
    draft = first(invoices, invoices.status == "DRAFT").invoice_uuid
    payment = first(data.frame(PAYMENTS)).payment_uuid
    corrupted = set_cells(data.tables[PAYMENTS], "payment_uuid", payment, invoice_uuid=draft)
    assert_caught(data.run("payment_timeline", {PAYMENTS: corrupted}), "paid_after_issue", payment, count=1)


def test_payment_after_the_reference_date(data: Data):
    payment = first(data.frame(PAYMENTS)).payment_uuid
    corrupted = set_cells(data.tables[PAYMENTS], "payment_uuid", payment, paid_at=data.reference_moment + ONE_SECOND)
    assert_caught(data.run("payment_timeline", {PAYMENTS: corrupted}), "not_after_reference", payment, count=1)


# --- tickets ----------------------------------------------------------------------------------------------------


def test_ticket_contact_of_another_account(data: Data):
    tickets, contacts = data.frame(TICKETS), data.frame(CONTACTS)
    ticket = first(tickets, tickets.contact_uuid.notna())
    # a contact of another account that existed before the ticket, so only the account is wrong
    other = first(contacts, (contacts.account_uuid != ticket.account_uuid)
                  & (contacts.created_at <= ticket.created_at)).contact_uuid
    corrupted = set_cells(data.tables[TICKETS], "ticket_uuid", ticket.ticket_uuid, contact_uuid=other)
    result = data.run("ticket_rules", {TICKETS: corrupted})
    assert_caught(result, "contact_of_account", ticket.ticket_uuid, count=1)
    assert result.offending == 1, result.details


def test_ticket_before_its_contact_was_created(data: Data):
    tickets, contacts = data.frame(TICKETS), data.frame(CONTACTS)
    ticket = first(tickets, tickets.contact_uuid.notna())
    created = contacts.created_at[contacts.contact_uuid == ticket.contact_uuid].iloc[0]
    corrupted = set_cells(data.tables[TICKETS], "ticket_uuid", ticket.ticket_uuid, created_at=created - ONE_SECOND)
    assert_caught(data.run("ticket_rules", {TICKETS: corrupted}), "contact_before_ticket", ticket.ticket_uuid,
                  count=1)


def test_ticket_resolved_before_first_response(data: Data):
    tickets = data.frame(TICKETS)
    ticket = first(tickets, tickets.resolved_at.notna() & tickets.first_response_at.notna())
    corrupted = set_cells(data.tables[TICKETS], "ticket_uuid", ticket.ticket_uuid,
                          resolved_at=ticket.first_response_at - ONE_SECOND)
    assert_caught(data.run("ticket_rules", {TICKETS: corrupted}), "resolved_after_response", ticket.ticket_uuid,
                  count=1)


def test_ticket_responded_before_creation(data: Data):
    tickets = data.frame(TICKETS)
    ticket = first(tickets, tickets.first_response_at.notna())
    corrupted = set_cells(data.tables[TICKETS], "ticket_uuid", ticket.ticket_uuid,
                          first_response_at=ticket.created_at - ONE_SECOND)
    assert_caught(data.run("ticket_rules", {TICKETS: corrupted}), "response_after_creation", ticket.ticket_uuid,
                  count=1)


def test_resolved_ticket_without_resolution_time(data: Data):
    tickets = data.frame(TICKETS)
    ticket = first(tickets, tickets.status.isin(["RESOLVED", "CLOSED"])).ticket_uuid
    corrupted = set_cells(data.tables[TICKETS], "ticket_uuid", ticket, resolved_at=pd.NaT)
    assert_caught(data.run("ticket_rules", {TICKETS: corrupted}), "resolved_status_has_time", ticket, count=1)


def test_ticket_after_the_reference_date(data: Data):
    tickets = data.frame(TICKETS)
    ticket = first(tickets, tickets.resolved_at.notna()).ticket_uuid
    corrupted = set_cells(data.tables[TICKETS], "ticket_uuid", ticket, resolved_at=data.reference_moment + ONE_SECOND)
    assert_caught(data.run("ticket_rules", {TICKETS: corrupted}), "not_after_reference", ticket, count=1)


# --- stock ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delta", [1, -1])
def test_movements_no_longer_sum_to_on_hand(data: Data, delta: int):
    movement = first(data.frame(MOVEMENTS))
    corrupted = set_cells(data.tables[MOVEMENTS], "stock_movement_uuid", movement.stock_movement_uuid,
                          quantity=movement.quantity + delta)
    result = data.run("stock_movements_balance", {MOVEMENTS: corrupted})
    assert_caught(result, "movements_sum_to_on_hand", f"{movement.product_uuid}|{movement.warehouse_uuid}", count=1)


def test_stock_level_without_its_movements(data: Data):
    stock = data.frame(STOCK)
    level = first(stock, stock.quantity_on_hand > 0)
    corrupted = corrupt(data.tables[MOVEMENTS], lambda f: f[(f.product_uuid != level.product_uuid)
                                                            | (f.warehouse_uuid != level.warehouse_uuid)])
    assert_caught(data.run("stock_movements_balance", {MOVEMENTS: corrupted}), "movements_sum_to_on_hand",
                  f"{level.product_uuid}|{level.warehouse_uuid}", count=1)


def test_shipment_before_the_opening_receipt(data: Data):
    movements = data.frame(MOVEMENTS).sort_values(["occurred_at", "stock_movement_uuid"], kind="stable")
    shipment = first(movements, movements.movement_type == "SHIPMENT")
    same_place = (movements.product_uuid == shipment.product_uuid) & (movements.warehouse_uuid == shipment.warehouse_uuid)
    opening = first(movements, same_place)
    assert opening.quantity > 0 and shipment.quantity < 0
    corrupted = set_cells(data.tables[MOVEMENTS], "stock_movement_uuid", shipment.stock_movement_uuid,
                          occurred_at=opening.occurred_at - ONE_SECOND)
    result = data.run("stock_movements_balance", {MOVEMENTS: corrupted})
    assert_caught(result, "running_balance_never_negative", shipment.stock_movement_uuid)
    assert result.details["movements_sum_to_on_hand"] == 0


# --- quotas -----------------------------------------------------------------------------------------------------


def zero_stock_products(data: Data) -> set[str]:
    """Part A: a stocked (non-SERVICE) product with nothing on hand in any warehouse that stocks it."""
    products, stock = data.frame(PRODUCTS), data.frame(STOCK)
    on_hand = stock.groupby("product_uuid").quantity_on_hand.sum()
    stocked = products.product_uuid[products.product_type != "SERVICE"]
    return set(on_hand.reindex(stocked).fillna(0).pipe(lambda s: s[s == 0]).index)


@pytest.mark.parametrize("delta", [1, -1])
def test_shipped_unpaid_quota_off_by_one(data: Data, delta: int):
    joined = invoices_with_orders(data)
    quota = data.plan.shipped_unpaid_orders
    assert ((joined.status_order == "SHIPPED") & (joined.status == "UNPAID")).sum() == quota
    if delta > 0:  # one more: a DELIVERED order whose invoice is UNPAID goes back to SHIPPED
        order = first(joined, (joined.status_order == "DELIVERED") & (joined.status == "UNPAID")).order_uuid
        corrupted = set_cells(data.tables[ORDERS], "order_uuid", order, status="SHIPPED")
    else:  # one fewer: a SHIPPED/UNPAID order is DELIVERED
        order = first(joined, (joined.status_order == "SHIPPED") & (joined.status == "UNPAID")).order_uuid
        corrupted = set_cells(data.tables[ORDERS], "order_uuid", order, status="DELIVERED")
    result = data.run("order_quotas", {ORDERS: corrupted})
    assert_caught(result, "counts", f"{quota + delta} SHIPPED orders with UNPAID invoices, not {quota}", count=1)


def test_shipped_unpaid_quota_counts_invoices_too(data: Data):
    joined = invoices_with_orders(data)
    invoice = first(joined, (joined.status_order == "SHIPPED") & (joined.status == "PAID")).invoice_uuid
    corrupted = set_cells(data.tables[INVOICES], "invoice_uuid", invoice, status="UNPAID")
    quota = data.plan.shipped_unpaid_orders
    assert_caught(data.run("order_quotas", {INVOICES: corrupted}), "counts", f"{quota + 1} SHIPPED", count=1)


def test_zero_stock_line_on_an_order_not_backordered(data: Data):
    zero = zero_stock_products(data)
    assert zero
    lines, orders = data.frame(ORDER_LINES), data.frame(ORDERS)
    not_backordered = orders.order_uuid[orders.status != "BACKORDERED"]
    line = first(lines, lines.order_uuid.isin(not_backordered))
    corrupted = set_cells(data.tables[ORDER_LINES], "order_line_uuid", line.order_line_uuid,
                          product_uuid=sorted(zero)[0])
    result = data.run("order_quotas", {ORDER_LINES: corrupted})
    assert_caught(result, "zero_stock_line_not_backordered", line.order_uuid, count=1)
    assert_caught(result, "counts", f"{data.plan.backordered_orders + 1} orders with a zero-stock line")


def test_backordered_order_without_zero_stock_line(data: Data):
    zero = zero_stock_products(data)
    lines, orders, stock = data.frame(ORDER_LINES), data.frame(ORDERS), data.frame(STOCK)
    order = first(orders, orders.status == "BACKORDERED").order_uuid
    in_stock = sorted(stock.product_uuid[stock.quantity_on_hand > 0])[0]
    corrupted = corrupt(data.tables[ORDER_LINES], lambda f: f.__setitem__("product_uuid", f.product_uuid.mask(
        (f.order_uuid == order) & f.product_uuid.isin(zero), in_stock)))
    result = data.run("order_quotas", {ORDER_LINES: corrupted})
    assert_caught(result, "backordered_without_zero_stock_line", order, count=1)
    assert_caught(result, "counts", f"{data.plan.backordered_orders - 1} orders with a zero-stock line")


def test_credit_note_invoice_too_many(data: Data):
    lines = data.frame(INVOICE_LINES)
    credited = set(lines.invoice_uuid[lines.line_total < 0])
    assert len(credited) == data.plan.credit_note_invoices
    line = first(lines, ~lines.invoice_uuid.isin(credited) & (lines.line_total > 0))
    corrupted = set_cells(data.tables[INVOICE_LINES], "invoice_line_uuid", line.invoice_line_uuid,
                          quantity=-line.quantity, line_total=-line.line_total)
    quota = data.plan.credit_note_invoices
    assert_caught(data.run("invoice_quotas", {INVOICE_LINES: corrupted}), "credit_note_invoices",
                  f"{quota + 1} invoices with a negative line, not {quota}", count=1)


def test_credit_note_invoice_too_few(data: Data):
    lines = data.frame(INVOICE_LINES)
    invoice = first(lines, lines.line_total < 0).invoice_uuid

    def refund_becomes_sale(frame: pd.DataFrame) -> None:
        rows = frame.invoice_uuid == invoice
        frame.loc[rows, "quantity"] = frame.quantity[rows].abs()
        frame.loc[rows, "line_total"] = frame.line_total[rows].abs()

    quota = data.plan.credit_note_invoices
    assert_caught(data.run("invoice_quotas", {INVOICE_LINES: corrupt(data.tables[INVOICE_LINES], refund_becomes_sale)}),
                  "credit_note_invoices", f"{quota - 1} invoices with a negative line, not {quota}", count=1)


@pytest.mark.parametrize("missing,instead", [("NET_30", "NET_15"), ("NET_60", "NET_30")])
def test_payment_terms_missing(data: Data, missing: str, instead: str):
    corrupted = corrupt(data.tables[INVOICES], lambda f: f.__setitem__(
        "payment_terms", f.payment_terms.mask(f.payment_terms == missing, instead)))
    assert_caught(data.run("invoice_quotas", {INVOICES: corrupted}), "net_30_and_net_60", missing, count=1)


# --- credit holds -----------------------------------------------------------------------------------------------


def test_account_on_hold_in_contact_but_good_in_finance(data: Data):
    accounts = data.frame(ACCOUNTS)
    account = first(accounts, accounts.status == "ON_HOLD").account_uuid
    corrupted = set_cells(data.tables[CUSTOMERS], "account_uuid", account, credit_status="GOOD")
    assert_caught(data.run("credit_holds_synced", {CUSTOMERS: corrupted}), "held_in_contact_only", account, count=1)


@pytest.mark.parametrize("contact_status", ["ACTIVE", "SUSPENDED"])
def test_account_on_hold_in_finance_only(data: Data, contact_status: str):
    accounts = data.frame(ACCOUNTS)
    account = first(accounts, accounts.status == contact_status).account_uuid
    corrupted = set_cells(data.tables[CUSTOMERS], "account_uuid", account, credit_status="ON_HOLD")
    assert_caught(data.run("credit_holds_synced", {CUSTOMERS: corrupted}), "held_in_finance_only", account, count=1)


def test_contact_releases_a_hold_finance_keeps(data: Data):
    accounts = data.frame(ACCOUNTS)
    account = first(accounts, accounts.status == "ON_HOLD").account_uuid
    corrupted = set_cells(data.tables[ACCOUNTS], "account_uuid", account, status="ACTIVE")
    assert_caught(data.run("credit_holds_synced", {ACCOUNTS: corrupted}), "held_in_finance_only", account, count=1)
