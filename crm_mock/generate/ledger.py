"""finance.ledger_entries: double entry for every issued invoice and every settlement, each journal in its
invoice's currency; every journal balances, so the ledger balances in each currency."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from crm_mock.generate.finance import GL, LEDGER, cached_invoice_plan, invoice_uuids
from crm_mock.generate.frame import Block, Blocks, blocked, build_table, cents_to_money, taken_at
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
    returns = positive - subtotal
    gl = {name: v.GL_ACCOUNT.index(code) for name, code in GL.items()}
    entries = []  # (invoice, order within journal, gl, debit, credit)
    for order, (account, debit, credit) in enumerate([
        ("ACCOUNTS_RECEIVABLE", subtotal + inv.tax_cents, None), ("RETURNS", returns, None),
        ("REVENUE", None, positive), ("SALES_TAX", None, inv.tax_cents),
    ]):
        amount = debit if debit is not None else credit
        rows = issued[amount[issued] != 0] if account in ("RETURNS", "SALES_TAX") else issued
        zeros = np.zeros(len(rows), dtype=np.int64)
        entries.append((rows, np.full(len(rows), order), np.full(len(rows), gl[account]),
                        debit[rows] if debit is not None else zeros, credit[rows] if credit is not None else zeros))
    invoice_rows = [np.concatenate(parts) for parts in zip(*entries)]
    del entries
    sort = np.lexsort((invoice_rows[1], invoice_rows[0]))
    invoice_part = taken_at(sort, invoice_rows)  # each unsorted one let go
    del sort

    payments = np.arange(len(inv.payment_cents))
    amount = inv.payment_cents
    debited = np.where(inv.payment_method == v.PAYMENT_METHOD.index("WRITE_OFF"), gl["BAD_DEBT"], gl["CASH"])
    pay_gl = np.stack([debited, np.full(len(payments), gl["ACCOUNTS_RECEIVABLE"])], 1).ravel()
    pay_debit = np.stack([amount, np.zeros_like(amount)], 1).ravel()
    pay_credit = np.stack([np.zeros_like(amount), amount], 1).ravel()
    pay_index = np.repeat(payments, 2)
    # indexes and codes narrowed before they are joined, and each part let go once it is: at the stress tier's
    # 9 M entries the plan is 340 MB instead of 570 MB, and its parts no longer all live beside it
    invoice_of, gl_of, debit_of, credit_of = invoice_part[0], invoice_part[2], invoice_part[3], invoice_part[4]
    del invoice_part
    n_invoice = len(invoice_of)
    gl_account = spill(np.concatenate([gl_of.astype(np.int8), pay_gl.astype(np.int8)]))
    del gl_of, pay_gl
    debit_cents = spill(np.concatenate([debit_of, pay_debit]))
    del debit_of, pay_debit
    credit_cents = spill(np.concatenate([credit_of, pay_credit]))
    del credit_of, pay_credit
    # the indexes narrowed first, then each field built and its inputs let go in turn (each field, once built,
    # goes ahead to the plan's file)
    invoice_of, pay_index = invoice_of.astype(np.int32), pay_index.astype(np.int32)
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
