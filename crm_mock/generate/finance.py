"""finance: customer_accounts, invoices, invoice_lines, payments and ledger_entries.

One invoice per order, in the order's currency. Its status follows the order (DRAFT before shipment, VOID
when cancelled, issued and numbered on shipment otherwise) and, once issued, what was received by the
reference date: PAID when settled in full, OVERDUE when past due and not, UNPAID when nothing came,
PARTIALLY_PAID otherwise. What a customer does not pay goes to collections (transactions.collections):
most of it is recovered late, the rest written off (a WRITE_OFF settlement, posted to bad debt), so
invoices long past due stay open only for accounts on credit hold. Payment methods fit the amount.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from crm_mock.generate.contact import (
    AccountPlan, account_uuids, cached_account_plan, credit_hold_accounts, hold_placed_on,
)
from crm_mock.generate.frame import (
    Block, Blocks, blocked, build_table, cents_to_money, concat_ranges, taken_at, used_up,
)
from crm_mock.generate.ids import derive_uuids, uuids_at
from crm_mock.generate.lines import product_lines_block
from crm_mock.generate.memo import drop_pages, drop_spilled_pages, memoised, spill
from crm_mock.generate.money import (
    DocumentNumbers, cents_per_unit, discounted_total, document_numbers, document_totals, rates, round_to,
)
from crm_mock.generate.orders import KIND, OrderPlan, cached_order_plan, order_uuids
from crm_mock.generate.planting import GOLDEN_HOLD_ACCOUNT, Plant, plant_cells, rows_per_case
from crm_mock.generate.random import Stream
from crm_mock.generate.timeline import SECONDS_PER_DAY, moment, to_date, within_working_hours
from crm_mock.model import vocabularies as v
from crm_mock.scenario import TierPlan

CUSTOMER_ACCOUNTS, INVOICES, INVOICE_LINES = "finance.customer_accounts", "finance.invoices", "finance.invoice_lines"
PAYMENTS, LEDGER = "finance.payments", "finance.ledger_entries"
TERMS_DAYS = {"NET_15": 15, "NET_30": 30, "NET_60": 60, "DUE_ON_RECEIPT": 0}
TERMS_BY_SEGMENT = {  # shares of v.PAYMENT_TERMS (NET_15, NET_30, NET_60, DUE_ON_RECEIPT)
    "SMALL_BUSINESS": (35, 35, 0, 30), "MID_MARKET": (20, 60, 20, 0), "ENTERPRISE": (0, 45, 55, 0)}
# chance an issued invoice gets paid in full, in part, or not at all, by segment
PAYMENT_BEHAVIOUR = {"SMALL_BUSINESS": (78, 10, 12), "MID_MARKET": (86, 8, 6), "ENTERPRISE": (92, 5, 3)}
# shares of BANK_TRANSFER, CARD, CHECK, DIRECT_DEBIT (and never WRITE_OFF) by segment
METHOD_BY_SEGMENT = {"SMALL_BUSINESS": (30, 50, 10, 10, 0), "MID_MARKET": (70, 10, 5, 15, 0),
                     "ENTERPRISE": (90, 0, 0, 10, 0)}
BANK_TRANSFER, WRITE_OFF = v.PAYMENT_METHOD.index("BANK_TRANSFER"), v.PAYMENT_METHOD.index("WRITE_OFF")
CREDIT_LIMIT = {"SMALL_BUSINESS": (5_000, 25_000), "MID_MARKET": (50_000, 250_000), "ENTERPRISE": (250_000, 2_000_000)}
ISSUED = tuple(v.INVOICE_STATUS.index(s) for s in ("UNPAID", "PARTIALLY_PAID", "PAID", "OVERDUE"))
GL = {name.split("_", 1)[1]: name for name in v.GL_ACCOUNT}  # "ACCOUNTS_RECEIVABLE" -> "1100_ACCOUNTS_RECEIVABLE"


@dataclass(frozen=True)
class InvoicePlan:
    status: np.ndarray  # index into v.INVOICE_STATUS, one per order
    terms: np.ndarray  # index into v.PAYMENT_TERMS
    issue: np.ndarray  # datetime64[D], NaT for DRAFT and VOID
    due: np.ndarray
    line_offsets: np.ndarray
    line_product: np.ndarray
    line_quantity: np.ndarray  # negative on credit/return lines
    line_price_cents: np.ndarray
    line_discount: np.ndarray
    currency: np.ndarray  # object, per invoice: the order's
    number: DocumentNumbers  # INV-YYYY-NNNNNNN once issued, None before
    tax_cents: np.ndarray
    payment_invoice: np.ndarray
    payment_cents: np.ndarray
    payment_at: np.ndarray  # datetime64[s]
    payment_method: np.ndarray  # index into v.PAYMENT_METHOD
    customer_credit_cents: dict[int, int]  # account index -> credit held for the customer
    plants: tuple[Plant, ...]  # the edge-case invoices and the customers' negative balances
    golden: tuple[Plant, ...]  # the golden credit-hold account's credit status and overdue invoices

    @property
    def edges(self) -> dict[str, int]:
        """Edge-case name -> the invoice planted for it."""
        return {p.case_id: p.row for p in self.plants if p.table == INVOICES}

    @property
    def line_total_cents(self) -> np.ndarray:
        unit = cents_per_unit(self.currency)[self.line_invoice]
        return discounted_total(self.line_quantity, self.line_price_cents, self.line_discount, unit)

    @property
    def line_invoice(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.status)), np.diff(self.line_offsets))

    def per_invoice(self, values: np.ndarray, line_invoice: np.ndarray | None = None) -> np.ndarray:
        """``values`` per line summed per invoice; ``line_invoice`` when the caller has it already (each read of
        the property repeats it over every line)."""
        return np.bincount(self.line_invoice if line_invoice is None else line_invoice, weights=values,
                           minlength=len(self.status)).astype(np.int64)

    @property
    def subtotal_cents(self) -> np.ndarray:
        return document_totals(self.line_offsets, self.line_quantity, self.line_price_cents, self.line_discount,
                               cents_per_unit(self.currency))

    @property
    def total_cents(self) -> np.ndarray:
        return self.subtotal_cents + self.tax_cents

    @property
    def paid_cents(self) -> np.ndarray:
        return np.bincount(self.payment_invoice, weights=self.payment_cents,
                           minlength=len(self.status)).astype(np.int64)

    @property
    def is_issued(self) -> np.ndarray:
        return np.isin(self.status, ISSUED)


def _choose(rng: Stream, segment: np.ndarray, shares: dict[str, tuple]) -> np.ndarray:
    out = np.empty(len(segment), dtype=np.int64)
    for s, name in enumerate(v.ACCOUNT_SEGMENT):
        rows = segment == s
        out[rows] = rng.choice(int(rows.sum()), shares[name]) if rows.any() else []
    return out


def _with_credit_lines(plan: TierPlan, orders: OrderPlan, rng: Stream) -> tuple[np.ndarray, ...]:
    """The order's lines, plus a return of half a line on the quota's credit-note invoices."""
    counts = np.diff(orders.line_offsets)
    most = np.maximum.reduceat(orders.line_quantity, orders.line_offsets[:-1])
    candidates = np.flatnonzero((orders.kind == KIND["DELIVERED"]) & (most >= 2))
    candidates = np.setdiff1d(candidates, orders.golden_orders)
    credited = np.sort(candidates[rng.permutation(len(candidates))[:plan.credit_note_invoices]])
    # the returned line: the invoice's line with the largest quantity
    line = np.array([orders.line_offsets[i] + int(np.argmax(orders.line_quantity[orders.line_offsets[i]:
                                                                                 orders.line_offsets[i + 1]]))
                     for i in credited], dtype=np.int64)
    insert_at = orders.line_offsets[credited + 1]
    # each column finished in turn goes ahead to the plan's file, and the order's pages read to copy it go again
    # (at the stress tier each is 8.6 M lines: held together with the pages read they set the build's peak)
    product, quantity, price, discount = (
        _copied(plan, np.insert(column, insert_at, returned))
        for column, returned in [(orders.line_product, orders.line_product[line]),
                                 (orders.line_quantity, -(orders.line_quantity[line] // 2)),
                                 (orders.line_price_cents, orders.line_price_cents[line]),
                                 (orders.line_discount, orders.line_discount[line])])
    counts = counts.copy()
    counts[credited] += 1
    return np.concatenate([[0], np.cumsum(counts)]), product, quantity, price, discount, credited


def _copied(plan: TierPlan, column: np.ndarray) -> np.ndarray:
    column = spill(column)
    drop_pages("orders", plan)
    return column


def invoice_plan(plan: TierPlan) -> InvoicePlan:
    accounts = cached_account_plan(plan)
    orders = cached_order_plan(plan)
    rng = Stream(plan.seed, INVOICES, "plan")
    n = len(orders.kind)
    segment = accounts.segment[orders.account]

    terms = _choose(rng, segment, TERMS_BY_SEGMENT)
    due_on_receipt = v.PAYMENT_TERMS.index("DUE_ON_RECEIPT")
    terms[orders.kind == KIND["SHIPPED"]] = due_on_receipt  # prepaid shipments
    unpaid_quota = orders.kind == KIND["SHIPPED_UNPAID"]
    terms[unpaid_quota & (terms == due_on_receipt)] = v.PAYMENT_TERMS.index("NET_30")
    terms[orders.golden_orders] = v.PAYMENT_TERMS.index("NET_30")

    shipped = orders.is_shipped()
    issue = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    issue[shipped] = to_date(orders.shipped_at[shipped])  # invoiced on shipment

    offsets, product, quantity, price, discount, credited = _with_credit_lines(plan, orders, rng)
    drop_pages("orders", plan)  # its lines are copied: the few order columns read below come back as needed
    # the lines are final: they go ahead to the plan's file, and what is read of them below comes back from it
    offsets, product, quantity, price, discount = (spill(a) for a in (offsets, product, quantity, price, discount))
    edges = _invoice_edges(plan, orders, issue, credited)
    if "partially_paid_several_payments" in edges:
        terms[edges["partially_paid_several_payments"]] = v.PAYMENT_TERMS.index("NET_60")  # not yet due
    terms_days = np.array([TERMS_DAYS[t] for t in v.PAYMENT_TERMS])[terms]
    due = issue + terms_days.astype("timedelta64[D]")
    unit = cents_per_unit(orders.currency)
    subtotal = document_totals(offsets, quantity, price, discount, unit)
    rate_bp = np.array([round(plan.tax_rate_percent[c] * 100) for c in accounts.countries])[accounts.country[orders.account]]
    tax = round_to(subtotal * rate_bp / 10_000, unit)
    total = subtotal + tax
    del subtotal, rate_bp

    held = np.isin(orders.account, credit_hold_accounts(plan))
    payments = list(_payments(plan, orders, segment, issue, terms_days, total, unit, held, rng))
    payment_invoice, payment_cents, payment_at, method = _planted_payments(orders, edges, issue, total, unit, payments)
    customer_credit = {}
    if "credit_note_over_remaining_balance" in edges:
        invoice = edges["credit_note_over_remaining_balance"]
        lines = slice(offsets[invoice], offsets[invoice + 1])
        returned = -int(np.sum(np.minimum(discounted_total(quantity[lines], price[lines], discount[lines], unit[invoice]),
                                          0)))
        customer_credit[int(orders.account[invoice])] = returned
    drop_spilled_pages()
    method = spill(_fit_methods(plan, method, payment_cents, orders.currency[payment_invoice]))
    paid = np.bincount(payment_invoice, weights=payment_cents, minlength=n).astype(np.int64)
    payment_invoice, payment_cents, payment_at = (spill(a) for a in (payment_invoice, payment_cents, payment_at))

    reference_day = np.datetime64(plan.reference_date, "D")
    status = np.full(n, v.INVOICE_STATUS.index("DRAFT"), dtype=np.int64)
    status[orders.kind == KIND["CANCELLED"]] = v.INVOICE_STATUS.index("VOID")
    status[shipped] = v.INVOICE_STATUS.index("PARTIALLY_PAID")
    status[shipped & (paid == 0)] = v.INVOICE_STATUS.index("UNPAID")
    status[shipped & (paid < total) & (due < reference_day)] = v.INVOICE_STATUS.index("OVERDUE")
    status[shipped & (paid == total)] = v.INVOICE_STATUS.index("PAID")
    number = document_numbers("INV", np.where(shipped, orders.shipped_at, np.datetime64("NaT")))
    status_of = np.array(v.INVOICE_STATUS, dtype=object)[status]
    plants = (*(Plant(name, INVOICES, i, "status", status_of[i]) for name, i in edges.items()),
              *(Plant("negative_balance", CUSTOMER_ACCOUNTS, account, "balance", -credit / 100)
                for account, credit in customer_credit.items()))
    golden = (Plant("credit_hold_account", CUSTOMER_ACCOUNTS, GOLDEN_HOLD_ACCOUNT, "credit_status", "ON_HOLD"),
              *(Plant("credit_hold_account", INVOICES, int(i), "status", status_of[i]) for i in orders.golden_orders))
    return InvoicePlan(status, terms, issue, due, offsets, product, quantity, price, discount, orders.currency,
                       number, tax, payment_invoice, payment_cents, payment_at, method, customer_credit, plants, golden)


def _fit_methods(plan: TierPlan, method: np.ndarray, cents: np.ndarray, currency: np.ndarray) -> np.ndarray:
    """No card payment of millions: a payment above its method's limit (base currency) is a bank transfer."""
    base = cents / rates(plan, currency) / 100
    method = method.copy()
    for name, limit in plan.payment_method_limits.items():
        method[(method == v.PAYMENT_METHOD.index(name)) & (base > limit)] = BANK_TRANSFER
    return method


def _invoice_edges(plan: TierPlan, orders: OrderPlan, issue: np.ndarray, credited: np.ndarray) -> dict[str, int]:
    """A delivered invoice issued 11-50 days ago (paid in three parts, not yet due), and one of the
    credit-note invoices (settled in full; the returned value becomes customer credit)."""
    if rows_per_case(plan) == 0:
        return {}
    reference_day = np.datetime64(plan.reference_date, "D")
    delivered = np.setdiff1d(np.flatnonzero(orders.kind == KIND["DELIVERED"]),
                             np.concatenate([orders.golden_orders, credited]))
    recent = delivered[(issue[delivered] >= reference_day - 50) & (issue[delivered] <= reference_day - 11)]
    edges = {}
    if len(recent):
        edges["partially_paid_several_payments"] = int(recent[0])
    if len(credited):
        edges["credit_note_over_remaining_balance"] = int(credited[0])
    return edges


def _planted_payments(orders: OrderPlan, edges: dict[str, int], issue: np.ndarray, total: np.ndarray,
                      unit: np.ndarray, payments: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """The golden account's invoices get nothing; the edge-case invoices get exactly their payments.
    ``payments`` (invoice, cents, moment, method) is used up: each column goes once its kept rows are copied."""
    replaced = np.concatenate([orders.golden_orders, list(edges.values())]).astype(np.int64)
    keep = ~np.isin(payments[0], replaced)
    invoice, cents, at, method = ([column[keep]] for column in used_up(payments))
    del keep
    morning = np.timedelta64(10 * 3600, "s")
    if "partially_paid_several_payments" in edges:
        i = edges["partially_paid_several_payments"]
        part = int(round_to(np.array([total[i] / 5]), unit[[i]])[0])  # three fifths paid, in three payments
        invoice.append(np.full(3, i))
        cents.append(np.full(3, part))
        at.append(issue[i].astype("datetime64[s]") + morning + np.array([1, 4, 9]) * np.timedelta64(SECONDS_PER_DAY, "s"))
        method.append(np.full(3, BANK_TRANSFER))
    if "credit_note_over_remaining_balance" in edges:
        i = edges["credit_note_over_remaining_balance"]
        invoice.append(np.array([i]))
        cents.append(np.array([total[i]]))
        at.append(np.array([issue[i].astype("datetime64[s]") + morning + np.timedelta64(2 * SECONDS_PER_DAY, "s")]))
        method.append(np.array([BANK_TRANSFER]))
    parts = [invoice, cents, at, method]
    del invoice, cents, at, method
    columns = [np.concatenate(x) for x in used_up(parts)]
    return taken_at(np.lexsort((columns[2], columns[0])), columns)


def _payments(plan: TierPlan, orders: OrderPlan, segment: np.ndarray, issue: np.ndarray, terms_days: np.ndarray,
              total: np.ndarray, unit: np.ndarray, held: np.ndarray, rng: Stream) -> tuple[np.ndarray, ...]:
    """Settlements by the reference moment: prepaid in full at shipment, otherwise by segment behaviour
    (in full, in up to three instalments, or nothing), never before the invoice; then collections on what
    is left (except for accounts on credit hold, whose debt is still being chased)."""
    reference = moment(plan.reference_moment)
    prepaid = np.flatnonzero(orders.kind == KIND["SHIPPED"])
    candidates = np.flatnonzero(orders.kind == KIND["DELIVERED"])
    behaviour = _choose(rng, segment[candidates], PAYMENT_BEHAVIOUR)
    full, partial = candidates[behaviour == 0], candidates[behaviour == 1]

    def after_issue(invoices: np.ndarray, days: np.ndarray) -> np.ndarray:
        start = issue[invoices].astype("datetime64[s]") + np.timedelta64(10 * 3600, "s")
        return within_working_hours(start + np.floor(days * SECONDS_PER_DAY).astype(np.int64).astype("timedelta64[s]"))

    # full payers pay around the due date, with a late tail
    full_days = terms_days[full] * (0.3 + 0.9 * rng.uniform(len(full))) + 25 * rng.uniform(len(full)) ** 4
    # instalment payers pay 20-80 % in one to three parts, spread after the invoice
    parts = rng.integers(1, 4, len(partial))
    share = 0.2 + 0.6 * rng.uniform(len(partial))
    part_invoice = np.repeat(partial, parts)
    part_index = concat_ranges(np.zeros(len(parts), np.int64), parts)
    part_units = np.floor(total[partial] * share / unit[partial]).astype(np.int64)  # whole minor units
    base = np.repeat(part_units // parts, parts)
    remainder = np.repeat(part_units - (part_units // parts) * parts, parts)
    part_cents = (base + np.where(part_index == 0, remainder, 0)) * unit[part_invoice]
    part_days = (part_index + rng.uniform(len(part_invoice))) * (terms_days[part_invoice] / 2 + 10)

    invoice = np.concatenate([prepaid, full, part_invoice])
    cents = np.concatenate([total[prepaid], total[full], part_cents])
    del part_index, part_units, base, remainder, part_cents
    at = np.concatenate([orders.shipped_at[prepaid], after_issue(full, full_days), after_issue(part_invoice, part_days)])
    del full_days, part_days, part_invoice
    method = _choose(rng, segment[invoice], METHOD_BY_SEGMENT)
    received = (at <= reference) & (cents > 0)
    # a column at a time (the invoice plan peaks here at the stress tier)
    invoice = invoice[received]
    cents = cents[received]
    at = at[received]
    method = method[received]
    del received

    # collections: what is still owed long after the due date is recovered late or written off
    c = plan.collections
    chased = np.setdiff1d(candidates[behaviour != 0], np.flatnonzero(held))
    owed = total[chased] - np.bincount(invoice, weights=cents, minlength=len(total)).astype(np.int64)[chased]
    chased, owed = chased[owed > 0], owed[owed > 0]
    due = issue[chased].astype("datetime64[s]") + (terms_days[chased] * SECONDS_PER_DAY).astype("timedelta64[s]")
    recovered = rng.bernoulli(c.recovered_share, len(chased))
    span = c.write_off_after_days_past_due - c.after_days_past_due
    days = np.where(recovered, c.after_days_past_due + rng.uniform(len(chased)) * span,
                    c.write_off_after_days_past_due + rng.uniform(len(chased)))  # written off that day
    settled_at = within_working_hours(due + (days * SECONDS_PER_DAY).astype(np.int64).astype("timedelta64[s]"))
    settled = settled_at <= reference
    invoice = np.concatenate([invoice, chased[settled]])
    cents = np.concatenate([cents, owed[settled]])
    at = np.concatenate([at, settled_at[settled]])
    method = np.concatenate([method, np.where(recovered[settled], BANK_TRANSFER, WRITE_OFF)])
    columns = [invoice, cents, at, method]
    del invoice, cents, at, method
    return taken_at(np.lexsort((columns[2], columns[0])), columns)


def cached_invoice_plan(plan: TierPlan) -> InvoicePlan:
    return memoised("invoices", plan, invoice_plan)


def invoice_uuids(plan: TierPlan, indices) -> pa.StringArray:
    return uuids_at(plan.ids, "invoice", indices)


def _invoice_block(plan: TierPlan, invoices: InvoicePlan, orders: OrderPlan, money: dict[str, np.ndarray],
                   block: Block) -> pa.Table:
    rows = slice(block.start, block.stop)
    index = np.arange(block.start, block.stop)
    return build_table(INVOICES, {
        "invoice_uuid": derive_uuids(plan.ids, "invoice", block.start, block.stop),
        "invoice_number": invoices.number[rows],
        "order_uuid": order_uuids(plan, index),
        "account_uuid": account_uuids(plan, orders.account[rows]),
        "status": np.array(v.INVOICE_STATUS, dtype=object)[invoices.status[rows]],
        "currency_code": invoices.currency[rows],
        "payment_terms": np.array(v.PAYMENT_TERMS, dtype=object)[invoices.terms[rows]],
        "issue_date": invoices.issue[rows],
        "due_date": invoices.due[rows],
        "tax_amount": cents_to_money(money["tax"][rows]),
        "total_amount": cents_to_money(money["total"][rows]),
        "amount_paid": cents_to_money(money["paid"][rows]),
    })


@blocked
def generate_invoices(plan: TierPlan) -> Blocks:
    invoices, orders = cached_invoice_plan(plan), cached_order_plan(plan)
    # every invoice's amounts at once: each is a pass over all lines or payments, not to be made per block
    money = {"tax": invoices.tax_cents, "total": invoices.total_cents, "paid": invoices.paid_cents}
    return Blocks(lambda b: _invoice_block(plan, invoices, orders, money, b), plan.sales_orders, plan.block_rows)


@blocked
def generate_invoice_lines(plan: TierPlan) -> Blocks:
    """Blocks here are blocks of invoices; each yields the lines of its invoices."""
    invoices = cached_invoice_plan(plan)
    unit = cents_per_unit(invoices.currency)
    return Blocks(lambda b: product_lines_block(plan, INVOICE_LINES, "invoice", invoices.line_offsets,
                                                  invoices.line_product, invoices.line_quantity,
                                                  invoices.line_price_cents, invoices.line_discount, unit, b),
                    plan.sales_orders, plan.block_rows, unit="invoices")


def _payment_block(plan: TierPlan, invoices: InvoicePlan, block: Block) -> pa.Table:
    rows = slice(block.start, block.stop)
    return build_table(PAYMENTS, {
        "payment_uuid": derive_uuids(plan.ids, "payment", block.start, block.stop),
        "invoice_uuid": invoice_uuids(plan, invoices.payment_invoice[rows]),
        "method": np.array(v.PAYMENT_METHOD, dtype=object)[invoices.payment_method[rows]],
        "currency_code": invoices.currency[invoices.payment_invoice[rows]],
        "amount": cents_to_money(invoices.payment_cents[rows]),
        "paid_at": invoices.payment_at[rows],
    })


@blocked
def generate_payments(plan: TierPlan) -> Blocks:
    invoices = cached_invoice_plan(plan)
    return Blocks(lambda b: _payment_block(plan, invoices, b), len(invoices.payment_cents), plan.block_rows)


def _customer_block(plan: TierPlan, accounts: AccountPlan, balance: np.ndarray, held_accounts: np.ndarray,
                    block: Block) -> pa.Table:
    rng = Stream(plan.seed, CUSTOMER_ACCOUNTS, "rows", block=block.index)
    index = np.arange(block.start, block.stop)
    segment = accounts.segment[index]
    low = np.array([CREDIT_LIMIT[s][0] for s in v.ACCOUNT_SEGMENT])[segment]
    high = np.array([CREDIT_LIMIT[s][1] for s in v.ACCOUNT_SEGMENT])[segment]
    limit = (low + np.floor(rng.uniform(block.size) * (high - low) / 1000) * 1000)  # base currency, round thousands
    currency = accounts.currency[index]
    limit = round_to(limit * rates(plan, currency) * 100, np.full(len(index), 100_000))  # a round figure there too
    held = np.isin(index, held_accounts)
    return build_table(CUSTOMER_ACCOUNTS, {
        "account_uuid": derive_uuids(plan.ids, "account", block.start, block.stop),
        "name": accounts.names(index),
        "currency_code": currency,
        "credit_status": np.where(held, "ON_HOLD", "GOOD").astype(object),
        "credit_limit": cents_to_money(limit),
        "balance": cents_to_money(balance[index]),
    })


def credit_holds(plan: TierPlan) -> pa.Table:
    """The accounts Finance has put on credit hold: the record Contact and Finance's ledger copy."""
    held = np.sort(credit_hold_accounts(plan))
    placed = hold_placed_on(plan, held)
    return pa.table({
        "account_uuid": account_uuids(plan, held),
        "credit_status": pa.array(["ON_HOLD"] * len(held), pa.string()),
        "placed_on": pa.array(placed, pa.date32()),
    })


def open_balances(plan: TierPlan) -> np.ndarray:
    """What each account owes: issued invoices' totals less what was paid on them."""
    orders = cached_order_plan(plan)
    inv = cached_invoice_plan(plan)
    owed = np.where(inv.is_issued, inv.total_cents - inv.paid_cents, 0)
    balance = np.bincount(orders.account, weights=owed, minlength=plan.accounts).astype(np.int64)
    for account, credit in inv.customer_credit_cents.items():
        balance[account] = -credit  # the returned goods' value, held for the customer, exceeds what it owes
    return balance


@blocked
def generate_customer_accounts(plan: TierPlan) -> Blocks:
    balance, accounts, held = open_balances(plan), cached_account_plan(plan), credit_hold_accounts(plan)
    return Blocks(lambda b: plant_cells(plan, CUSTOMER_ACCOUNTS, b.start,
                                        _customer_block(plan, accounts, balance, held, b)),
                  plan.accounts, plan.block_rows)
