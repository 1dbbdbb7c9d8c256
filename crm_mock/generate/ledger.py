"""finance.ledger_entries: double entry for every issued invoice and every settlement, each journal in its
invoice's currency; every journal balances, so the ledger balances in each currency."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from crm_mock.generate.finance import GL, LEDGER, cached_invoice_plan, invoice_uuids
from crm_mock.generate.frame import Block, Blocks, blocked, build_table, cents_to_money
from crm_mock.generate.ids import derive_uuids, uuids_at
from crm_mock.generate.memo import drop_pages, memoised, spill
from crm_mock.generate.timeline import to_date
from crm_mock.model import vocabularies as v
from crm_mock.scenario import TierPlan


@dataclass(frozen=True)
class Ledger:
    journal_entity: np.ndarray  # 0: invoice journal, 1: payment journal
    journal_index: np.ndarray  # invoice or payment index
    gl_account: np.ndarray  # index into v.GL_ACCOUNT
    debit_cents: np.ndarray
    credit_cents: np.ndarray
    invoice: np.ndarray
    payment: np.ndarray  # -1 for invoice journals
    posted_on: np.ndarray


def ledger(plan: TierPlan) -> Ledger:
    """Double entry: on issue, Dr receivable = Cr revenue + Cr tax (returns debited); on payment, Dr cash
    = Cr receivable; on a write-off, Dr bad debt = Cr receivable. Every journal balances."""
    inv = cached_invoice_plan(plan)
    issued = np.flatnonzero(inv.is_issued)
    # the line totals and what they sum to, worked out once (each property computes them afresh)
    line_invoice, line_total = inv.line_invoice, inv.line_total_cents
    positive = inv.per_invoice(np.maximum(line_total, 0), line_invoice)
    subtotal = inv.per_invoice(line_total, line_invoice)
    del line_invoice, line_total
    drop_pages("invoices", plan)  # done with its lines: the per-invoice columns read below come back as needed
    returns, tax = positive - subtotal, inv.tax_cents
    gl = {name: v.GL_ACCOUNT.index(code) for name, code in GL.items()}
    # each issued invoice's journal, in invoice order: receivable, returns (when any), revenue, sales tax (when
    # any); then each payment's: cash (or bad debt for a write-off), receivable. Every column is built in its
    # final order, one at a time (no sort of the 9 M entries of the stress tier, no parts beside the whole)
    has_returns, has_tax = returns[issued] != 0, tax[issued] != 0
    per_invoice = 2 + has_returns.astype(np.int64) + has_tax
    at_receivable = np.cumsum(per_invoice) - per_invoice
    at_returns = at_receivable[has_returns] + 1
    at_revenue = at_receivable + 1 + has_returns
    at_tax = at_revenue[has_tax] + 1
    n_invoice, n_payment = int(per_invoice.sum()), len(inv.payment_cents)
    n = n_invoice + 2 * n_payment

    gl_account = np.empty(n, np.int8)
    for at, name in ((at_receivable, "ACCOUNTS_RECEIVABLE"), (at_returns, "RETURNS"), (at_revenue, "REVENUE"),
                     (at_tax, "SALES_TAX")):
        gl_account[at] = gl[name]
    write_off = inv.payment_method == v.PAYMENT_METHOD.index("WRITE_OFF")
    gl_account[n_invoice::2] = np.where(write_off, gl["BAD_DEBT"], gl["CASH"])
    gl_account[n_invoice + 1::2] = gl["ACCOUNTS_RECEIVABLE"]
    gl_account = spill(gl_account)
    del write_off
    debit_cents = np.zeros(n, np.int64)
    debit_cents[at_receivable] = (subtotal + tax)[issued]
    debit_cents[at_returns] = returns[issued[has_returns]]
    debit_cents[n_invoice::2] = inv.payment_cents
    debit_cents = spill(debit_cents)
    del subtotal, at_receivable, at_returns, has_returns
    credit_cents = np.zeros(n, np.int64)
    credit_cents[at_revenue] = positive[issued]
    credit_cents[at_tax] = tax[issued[has_tax]]
    credit_cents[n_invoice + 1::2] = inv.payment_cents
    credit_cents = spill(credit_cents)
    del positive, returns, at_revenue, at_tax, has_tax

    invoice_of = np.repeat(issued.astype(np.int32), per_invoice)
    pay_index = np.repeat(np.arange(n_payment, dtype=np.int32), 2)
    del issued, per_invoice
    posted_on = spill(np.concatenate([inv.issue[invoice_of], to_date(inv.payment_at[pay_index])]))
    journal_index = spill(np.concatenate([invoice_of, pay_index]))
    invoice = spill(np.concatenate([invoice_of, inv.payment_invoice[pay_index].astype(np.int32)]))
    del invoice_of
    payment = spill(np.concatenate([np.full(n_invoice, -1, np.int32), pay_index]))
    journal_entity = spill(np.concatenate([np.zeros(n_invoice, np.int8), np.ones(len(pay_index), np.int8)]))
    del pay_index
    return Ledger(journal_entity=journal_entity, journal_index=journal_index, gl_account=gl_account,
                  debit_cents=debit_cents, credit_cents=credit_cents, invoice=invoice, payment=payment,
                  posted_on=posted_on)


def _ledger_block(plan: TierPlan, entries: Ledger, currency: np.ndarray, block: Block) -> pa.Table:
    rows = slice(block.start, block.stop)
    kind, index = entries.journal_entity[rows], entries.journal_index[rows]
    journal = np.where(kind == 0, uuids_at(plan.ids, "invoice_journal", index).to_numpy(zero_copy_only=False),
                       uuids_at(plan.ids, "payment_journal", index).to_numpy(zero_copy_only=False))
    payment = entries.payment[rows]
    payment_ids = uuids_at(plan.ids, "payment", np.maximum(payment, 0)).to_numpy(zero_copy_only=False).astype(object)
    payment_ids[payment < 0] = None
    return build_table(LEDGER, {
        "ledger_entry_uuid": derive_uuids(plan.ids, "ledger_entry", block.start, block.stop),
        "journal_uuid": journal.astype(object),
        "gl_account": np.array(v.GL_ACCOUNT, dtype=object)[entries.gl_account[rows]],
        "currency_code": currency[entries.invoice[rows]],
        "debit": cents_to_money(entries.debit_cents[rows]),
        "credit": cents_to_money(entries.credit_cents[rows]),
        "invoice_uuid": invoice_uuids(plan, entries.invoice[rows]),
        "payment_uuid": payment_ids,
        "posted_on": entries.posted_on[rows],
    })


def cached_ledger(plan: TierPlan) -> Ledger:
    return memoised("ledger", plan, ledger)


@blocked
def generate_ledger_entries(plan: TierPlan) -> Blocks:
    entries = cached_ledger(plan)
    currency = cached_invoice_plan(plan).currency  # taken once: a plan the memo let go is not rebuilt per block
    return Blocks(lambda b: _ledger_block(plan, entries, currency, b), len(entries.gl_account), plan.block_rows)
