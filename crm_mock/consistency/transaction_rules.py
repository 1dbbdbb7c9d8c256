"""Part A invariants of the business workflow: one invoice per order, money that adds up, time that
moves forward, balanced journals, stock that never goes negative, and the transaction quotas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_mock.consistency.results import RuleResult, combine, rule_result
from crm_mock.model.vocabularies import CURRENCY_MINOR_UNITS
from crm_mock.scenario import TierPlan

ISSUED = ("UNPAID", "PARTIALLY_PAID", "PAID", "OVERDUE")
TERMS_DAYS = {"NET_15": 15, "NET_30": 30, "NET_60": 60, "DUE_ON_RECEIPT": 0}
ORDER_INVOICE = {"PENDING": ("DRAFT",), "CONFIRMED": ("DRAFT",), "BACKORDERED": ("DRAFT",),
                 "SHIPPED": ISSUED, "DELIVERED": ISSUED, "CANCELLED": ("VOID",)}


def _frame(table: pa.Table, columns: list[str] | None = None) -> pd.DataFrame:
    return (table.select(columns) if columns else table).to_pandas(date_as_object=False)


def _cents(values: pd.Series) -> pd.Series:
    return (values.astype("float64") * 100).round().astype("int64")


def _reference(plan: TierPlan) -> pd.Timestamp:
    return pd.Timestamp(plan.reference_moment)


def _increasing(keys: pd.Series, numbers: pd.Series, times: pd.Series) -> list:
    """Keys of documents whose number repeats another's, or whose moment is earlier than that of a document
    with a lower number (numbers must increase with time); rows without a number are skipped."""
    f = pd.DataFrame({"key": keys.to_numpy(), "number": numbers.to_numpy(), "time": times.to_numpy()})
    f = f[f.number.notna()].sort_values(["number", "time"], kind="stable")
    repeated = f.number.duplicated(keep=False)
    latest_before = f.time.cummax().shift(1)
    return f.key[repeated | (f.time < latest_before)].tolist()


def invoice_per_order(orders: pa.Table, invoices: pa.Table) -> RuleResult:
    table = "finance.invoices"
    o = _frame(orders, ["order_uuid", "account_uuid", "currency_code"])
    i = _frame(invoices, ["invoice_uuid", "order_uuid", "account_uuid", "currency_code"])
    per_order = i.order_uuid.value_counts()
    joined = i.merge(o, on="order_uuid", how="inner", suffixes=("", "_order"))
    return combine("invoice_per_order", table, [
        rule_result("order_without_invoice", table, sorted(set(o.order_uuid) - set(i.order_uuid))),
        rule_result("order_with_several", table, per_order.index[per_order > 1].tolist()),
        rule_result("account_differs", table, joined.invoice_uuid[joined.account_uuid != joined.account_uuid_order]),
        rule_result("currency_differs", table, joined.invoice_uuid[joined.currency_code != joined.currency_code_order]),
    ])


def invoice_follows_order(orders: pa.Table, invoices: pa.Table) -> RuleResult:
    """Issued on or after shipment for SHIPPED/DELIVERED, DRAFT without dates before, VOID when cancelled."""
    table = "finance.invoices"
    o = _frame(orders, ["order_uuid", "status", "shipped_at"])
    i = _frame(invoices, ["invoice_uuid", "invoice_number", "order_uuid", "status", "issue_date", "due_date"])
    j = i.merge(o, on="order_uuid", suffixes=("", "_order"))
    pairs = {f"{order}>{invoice}" for order, invoices in ORDER_INVOICE.items() for invoice in invoices}
    allowed = (j.status_order.astype(str) + ">" + j.status.astype(str)).isin(pairs)
    issued = j.status.isin(ISSUED)
    undated = j.status.isin(["DRAFT", "VOID"])
    before_shipment = issued & (j.shipped_at.isna() | j.issue_date.isna() | (j.issue_date < j.shipped_at.dt.normalize()))
    dated_draft = undated & (j.issue_date.notna() | j.due_date.notna())
    return combine("invoice_follows_order", table, [
        rule_result("status_for_order", table, j.invoice_uuid[~allowed]),
        rule_result("issued_before_shipment", table, j.invoice_uuid[before_shipment]),
        rule_result("draft_or_void_with_dates", table, j.invoice_uuid[dated_draft]),
        rule_result("numbered_when_issued", table, j.invoice_uuid[issued != j.invoice_number.notna()]),
        rule_result("number_increases_with_issue", table,
                    _increasing(j.invoice_uuid, j.invoice_number, j.issue_date)),
    ])


def _arrow_cents(values: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.round(pc.multiply(values, 100)).cast(pa.int64())


def _lines_add_up(table: str, key: str, headers: pa.Table, total_cents: pa.ChunkedArray | pa.Array,
                  lines: pa.Table) -> list[RuleResult]:
    """Header total = Σ line totals, line total = quantity × unit price; in Arrow, so millions of lines
    are summed without building Python objects."""
    line_cents = _arrow_cents(lines.column("line_total"))
    # line total = quantity × unit price × (100 − discount %) / 100, rounded to the currency's minor unit
    discount = lines.column("discount_percent") if "discount_percent" in lines.column_names else pa.array(
        np.zeros(lines.num_rows, np.int64))
    exact = pc.multiply(pc.multiply(lines.column("quantity"), _arrow_cents(lines.column("unit_price"))),
                        pc.subtract(100, discount))
    if "currency_code" in headers.column_names:
        units = pa.array([100 * 10 ** (2 - CURRENCY_MINOR_UNITS.get(c, 2)) // 2
                          for c in headers.column("currency_code").to_pylist()], pa.int64())
        tolerance = pc.take(units, pc.index_in(lines.column(key), value_set=headers.column(key)))
    else:
        tolerance = pa.array(np.full(lines.num_rows, 50, np.int64))
    wrong_line = pc.greater(pc.abs(pc.subtract(pc.multiply(line_cents, 100), exact)), pc.fill_null(tolerance, 50))
    sums = pa.table({key: lines.column(key), "c": line_cents}).group_by(key).aggregate([("c", "sum")])
    wanted = pa.table({key: headers.column(key), "total": total_cents})
    joined = wanted.join(sums, key, join_type="left outer")
    summed = pc.fill_null(joined.column("c_sum"), 0)
    return [
        rule_result("total_is_sum_of_lines", table,
                    pc.filter(joined.column(key), pc.not_equal(joined.column("total"), summed)).to_pylist()),
        rule_result("line_total_is_quantity_times_price", table,
                    pc.unique(pc.filter(lines.column(key), wrong_line)).to_pylist()),
        rule_result("has_lines", table, pc.filter(joined.column(key), pc.is_null(joined.column("c_sum"))).to_pylist()),
    ]


def order_totals(orders: pa.Table, lines: pa.Table) -> RuleResult:
    return combine("money_adds_up", "orders.sales_orders", _lines_add_up(
        "orders.sales_orders", "order_uuid", orders, _arrow_cents(orders.column("total_amount")), lines))


def quote_totals(quotes: pa.Table, lines: pa.Table) -> RuleResult:
    return combine("money_adds_up", "sales.quote_lines", _lines_add_up(
        "sales.quote_lines", "quote_uuid", quotes, _arrow_cents(quotes.column("total_amount")), lines))


def invoice_money(plan: TierPlan, invoices: pa.Table, lines: pa.Table, payments: pa.Table) -> RuleResult:
    """total = Σ lines + tax; paid = Σ payments; the status says what was paid and whether it is overdue."""
    table = "finance.invoices"
    i = _frame(invoices)
    subtotal = pc.subtract(_arrow_cents(invoices.column("total_amount")), _arrow_cents(invoices.column("tax_amount")))
    paid = _frame(payments, ["invoice_uuid", "amount"]).assign(c=lambda f: _cents(f.amount)).groupby("invoice_uuid").c.sum()
    total, amount_paid = _cents(i.total_amount), _cents(i.amount_paid)
    paid_sum = paid.reindex(i.invoice_uuid).fillna(0).astype("int64").to_numpy()
    reference_day = pd.Timestamp(plan.reference_date)
    past_due = i.due_date.notna() & (i.due_date < reference_day) & (amount_paid < total)
    terms = i.payment_terms.map(TERMS_DAYS)
    due_wrong = i.issue_date.notna() & (i.due_date != i.issue_date + pd.to_timedelta(terms, unit="D"))
    status = i.status
    return combine("money_adds_up", table, [
        *_lines_add_up(table, "invoice_uuid", invoices, subtotal, lines),
        rule_result("paid_is_sum_of_payments", table, i.invoice_uuid[amount_paid.to_numpy() != paid_sum]),
        rule_result("paid_means_paid_in_full", table, i.invoice_uuid[(status == "PAID") & (amount_paid != total)]),
        rule_result("unpaid_means_nothing_paid", table, i.invoice_uuid[(status == "UNPAID") & (amount_paid != 0)]),
        rule_result("partially_paid_between", table, i.invoice_uuid[(status == "PARTIALLY_PAID")
                                                                   & ((amount_paid <= 0) | (amount_paid >= total))]),
        rule_result("overdue_by_due_date", table, i.invoice_uuid[status.isin(ISSUED) & (past_due != (status == "OVERDUE"))
                                                                 & (status != "PAID")]),
        rule_result("due_is_issue_plus_terms", table, i.invoice_uuid[due_wrong]),
        rule_result("never_overpaid", table, i.invoice_uuid[amount_paid > total]),
    ])


def ledger_balanced(ledger: pa.Table) -> RuleResult:
    table = "finance.ledger_entries"
    e = _frame(ledger, ["ledger_entry_uuid", "journal_uuid", "currency_code", "debit", "credit"])
    missing = e.ledger_entry_uuid[e.debit.isna() | e.credit.isna() | (e.debit < 0) | (e.credit < 0)]
    sums = e.assign(d=_cents(e.debit.fillna(0)), c=_cents(e.credit.fillna(0))).groupby("journal_uuid")[["d", "c"]].sum()
    both_sides = e.ledger_entry_uuid[(e.debit > 0) & (e.credit > 0)]
    currencies = e.groupby("journal_uuid").currency_code.nunique(dropna=False)
    return combine("ledger_balanced", table, [
        rule_result("debit_and_credit_present", table, missing),
        rule_result("one_side_only", table, both_sides),
        rule_result("journal_balances", table, sums.index[sums.d != sums.c].tolist()),
        rule_result("journal_in_one_currency", table, currencies.index[currencies != 1].tolist()),
    ])


def order_timeline(plan: TierPlan, orders: pa.Table, quotes: pa.Table, accounts: pa.Table) -> RuleResult:
    """account created ≤ quote ≤ order ≤ shipment ≤ the reference moment."""
    table = "orders.sales_orders"
    o = _frame(orders, ["order_uuid", "order_number", "account_uuid", "quote_uuid", "currency_code", "order_date",
                        "shipped_at"])
    q = _frame(quotes, ["quote_uuid", "created_at"]).rename(columns={"created_at": "quoted_at"})
    a = _frame(accounts, ["account_uuid", "created_at", "currency_code"]).rename(
        columns={"created_at": "account_created", "currency_code": "account_currency"})
    j = o.merge(q, on="quote_uuid", how="left").merge(a, on="account_uuid", how="left")
    end_of_order_day = j.order_date + pd.Timedelta(days=1)
    reference = _reference(plan)
    return combine("time_moves_forward", table, [
        rule_result("account_before_order", table, j.order_uuid[j.account_created >= end_of_order_day]),
        rule_result("quote_before_order", table, j.order_uuid[j.quoted_at.notna() & (j.quoted_at >= end_of_order_day)]),
        rule_result("shipped_after_order", table, j.order_uuid[j.shipped_at.notna() & (j.shipped_at < j.order_date)]),
        rule_result("not_after_reference", table, j.order_uuid[(j.order_date > reference) | (j.shipped_at > reference)]),
        rule_result("in_account_currency", table, j.order_uuid[j.currency_code != j.account_currency]),
        rule_result("number_increases_with_date", table, _increasing(j.order_uuid, j.order_number, j.order_date)),
    ])


def funnel_timeline(plan: TierPlan, opportunities: pa.Table, quotes: pa.Table, accounts: pa.Table) -> RuleResult:
    """account created ≤ opportunity ≤ quote ≤ the reference moment."""
    table = "sales.quotes"
    q = _frame(quotes, ["quote_uuid", "quote_number", "opportunity_uuid", "account_uuid", "currency_code", "created_at"])
    op = _frame(opportunities, ["opportunity_uuid", "account_uuid", "created_at"])
    a = _frame(accounts, ["account_uuid", "created_at", "currency_code"]).rename(
        columns={"created_at": "account_created", "currency_code": "account_currency"})
    j = q.merge(op, on="opportunity_uuid", how="left", suffixes=("", "_opportunity")).merge(a, on="account_uuid", how="left")
    op = op.merge(a, on="account_uuid", how="left")
    reference = _reference(plan)
    return combine("time_moves_forward", table, [
        rule_result("opportunity_before_quote", table, j.quote_uuid[j.created_at_opportunity > j.created_at]),
        rule_result("same_account_as_opportunity", table, j.quote_uuid[j.account_uuid != j.account_uuid_opportunity]),
        rule_result("account_before_opportunity", table, op.opportunity_uuid[op.account_created > op.created_at]),
        rule_result("not_after_reference", table, j.quote_uuid[j.created_at > reference]),
        rule_result("in_account_currency", table, j.quote_uuid[j.currency_code != j.account_currency]),
        rule_result("number_increases_with_time", table, _increasing(j.quote_uuid, j.quote_number, j.created_at)),
    ])


def payment_timeline(plan: TierPlan, payments: pa.Table, invoices: pa.Table) -> RuleResult:
    table = "finance.payments"
    p = _frame(payments, ["payment_uuid", "invoice_uuid", "currency_code", "paid_at"])
    i = _frame(invoices, ["invoice_uuid", "issue_date", "status", "currency_code"])
    j = p.merge(i, on="invoice_uuid", how="left", suffixes=("", "_invoice"))
    return combine("time_moves_forward", table, [
        rule_result("paid_after_issue", table, j.payment_uuid[j.issue_date.isna() | (j.paid_at < j.issue_date)]),
        rule_result("not_after_reference", table, j.payment_uuid[j.paid_at > _reference(plan)]),
        rule_result("in_invoice_currency", table, j.payment_uuid[j.currency_code != j.currency_code_invoice]),
    ])


def ticket_rules(plan: TierPlan, tickets: pa.Table, contacts: pa.Table) -> RuleResult:
    """created ≤ first response ≤ resolved ≤ reference; the contact belongs to the ticket's account."""
    table = "support.tickets"
    t = _frame(tickets, ["ticket_uuid", "ticket_number", "account_uuid", "contact_uuid", "status", "created_at",
                         "first_response_at", "resolved_at"])
    c = _frame(contacts, ["contact_uuid", "account_uuid", "created_at"])
    j = t.merge(c, on="contact_uuid", how="left", suffixes=("", "_contact"))
    has_contact = j.contact_uuid.notna()
    reference = _reference(plan)
    resolved = j.status.isin(["RESOLVED", "CLOSED"])
    return combine("tickets", table, [
        rule_result("contact_of_account", table, j.ticket_uuid[has_contact & (j.account_uuid_contact != j.account_uuid)]),
        rule_result("contact_before_ticket", table, j.ticket_uuid[has_contact & (j.created_at_contact > j.created_at)]),
        rule_result("response_after_creation", table, j.ticket_uuid[j.first_response_at < j.created_at]),
        rule_result("resolved_after_response", table, j.ticket_uuid[j.resolved_at.notna()
                                                                    & ~(j.resolved_at >= j.first_response_at)]),
        rule_result("resolved_status_has_time", table, j.ticket_uuid[resolved != j.resolved_at.notna()]),
        rule_result("not_after_reference", table, j.ticket_uuid[(j.created_at > reference)
                                                                | (j.first_response_at > reference)
                                                                | (j.resolved_at > reference)]),
        rule_result("number_increases_with_time", table, _increasing(j.ticket_uuid, j.ticket_number, j.created_at)),
    ])


def stock_movements_balance(movements: pa.Table, stock: pa.Table) -> RuleResult:
    """Movements add up to the stock on hand per (product, warehouse), never dipping below zero."""
    table = "inventory.stock_movements"
    moved_key = pc.binary_join_element_wise(movements.column("product_uuid"), movements.column("warehouse_uuid"), "|")
    stock_key = pc.binary_join_element_wise(stock.column("product_uuid"), stock.column("warehouse_uuid"), "|")
    places = pc.unique(pa.chunked_array([stock_key.combine_chunks(), moved_key.combine_chunks()]))
    moved_code = pc.index_in(moved_key, value_set=places).to_numpy(zero_copy_only=False)
    stock_code = pc.index_in(stock_key, value_set=places).to_numpy(zero_copy_only=False)
    quantity = movements.column("quantity").to_numpy()
    moved = np.bincount(moved_code, weights=quantity, minlength=len(places)).astype(np.int64)
    on_hand = np.full(len(places), -1, dtype=np.int64)  # a movement without a stock row never matches
    on_hand[stock_code] = stock.column("quantity_on_hand").to_numpy()
    # running balance per place in time order; at the same moment, receipts count first
    when = movements.column("occurred_at").cast(pa.int64()).to_numpy()
    order = np.lexsort((-quantity, when, moved_code))
    running = np.cumsum(quantity[order])
    codes = moved_code[order]
    starts = np.r_[True, codes[1:] != codes[:-1]] if len(codes) else np.zeros(0, bool)
    before_group = np.maximum.accumulate(np.where(starts, np.arange(len(codes)), 0))
    offset = np.where(before_group > 0, running[before_group - 1], 0)
    dips = order[(running - offset) < 0]
    return combine("stock_never_negative", table, [
        rule_result("movements_sum_to_on_hand", table, pc.take(places, np.flatnonzero(moved != on_hand)).to_pylist()),
        rule_result("running_balance_never_negative", table,
                    pc.take(movements.column("stock_movement_uuid"), dips).to_pylist()),
    ])


def order_quotas(plan: TierPlan, orders: pa.Table, lines: pa.Table, invoices: pa.Table, stock: pa.Table,
                 products: pa.Table) -> RuleResult:
    """Exactly the SHIPPED/UNPAID quota; the BACKORDERED quota, each with a zero-stock line and no other
    order with one."""
    table = "orders.sales_orders"
    o = _frame(orders, ["order_uuid", "status"])
    i = _frame(invoices, ["order_uuid", "status"]).rename(columns={"status": "invoice_status"})
    j = o.merge(i, on="order_uuid", how="left")
    shipped_unpaid = int(((j.status == "SHIPPED") & (j.invoice_status == "UNPAID")).sum())
    on_hand = _frame(stock, ["product_uuid", "quantity_on_hand"]).groupby("product_uuid").quantity_on_hand.sum()
    stocked = _frame(products, ["product_uuid", "product_type"])
    stocked = stocked.product_uuid[stocked.product_type != "SERVICE"]
    zero_stock = set(on_hand.reindex(stocked).fillna(0).pipe(lambda s: s[s == 0]).index)
    with_zero = set(_frame(lines, ["order_uuid", "product_uuid"]).pipe(lambda f: f.order_uuid[f.product_uuid.isin(zero_stock)]))
    backordered = set(o.order_uuid[o.status == "BACKORDERED"])
    problems = []
    if shipped_unpaid != plan.shipped_unpaid_orders:
        problems.append(f"{shipped_unpaid} SHIPPED orders with UNPAID invoices, not {plan.shipped_unpaid_orders}")
    if len(with_zero) != plan.backordered_orders:
        problems.append(f"{len(with_zero)} orders with a zero-stock line, not {plan.backordered_orders}")
    return combine("quotas", table, [
        rule_result("counts", table, problems, shipped_unpaid=shipped_unpaid, with_zero_stock_line=len(with_zero)),
        rule_result("zero_stock_line_not_backordered", table, sorted(with_zero - backordered)),
        rule_result("backordered_without_zero_stock_line", table, sorted(backordered - with_zero)),
    ])


def invoice_quotas(plan: TierPlan, invoices: pa.Table, lines: pa.Table) -> RuleResult:
    table = "finance.invoices"
    credited = _frame(lines, ["invoice_uuid", "quantity", "line_total"])
    credited = credited.invoice_uuid[(credited.line_total < 0)].nunique()
    terms = set(_frame(invoices, ["payment_terms"]).payment_terms)
    return combine("quotas", table, [
        rule_result("credit_note_invoices", table, [] if credited == plan.credit_note_invoices else
                    [f"{credited} invoices with a negative line, not {plan.credit_note_invoices}"], actual=credited),
        rule_result("net_30_and_net_60", table, sorted({"NET_30", "NET_60"} - terms)),
    ])


def credit_holds_synced(customer_accounts: pa.Table, accounts: pa.Table) -> RuleResult:
    """Finance's ON_HOLD accounts are exactly Contact's ON_HOLD accounts (Finance owns the hold)."""
    table = "finance.customer_accounts"
    f = _frame(customer_accounts, ["account_uuid", "credit_status"])
    c = _frame(accounts, ["account_uuid", "status"])
    held_finance = set(f.account_uuid[f.credit_status == "ON_HOLD"])
    held_contact = set(c.account_uuid[c.status == "ON_HOLD"])
    return combine("credit_hold_synced", table, [
        rule_result("held_in_finance_only", table, sorted(held_finance - held_contact)),
        rule_result("held_in_contact_only", table, sorted(held_contact - held_finance)),
    ])

