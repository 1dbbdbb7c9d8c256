"""Part A: money adds up (document totals, line totals, payments, what an invoice's status says was paid and
whether it is due) and every journal of the ledger balances. All inside one service, in whole cents."""

from __future__ import annotations

from crm_mock.consistency.engine import Findings, RuleContext
from crm_mock.consistency.rule import rule
from crm_mock.consistency.rules.common import ISSUED, TERMS_DAYS, add_keys, cents, flag_rows
from crm_mock.consistency.sql import Sql
from crm_mock.model.vocabularies import CURRENCY_MINOR_UNITS


def line_checks(headers: str, alias: str, lines: str, key: str, subtotal: str) -> tuple[str, dict[str, str]]:
    """The header table (as ``alias``) joined to its lines' sums, and what must hold: the header's
    ``subtotal`` (an expression in cents) is the sum of its lines, and it has some."""
    source = (f"{headers} {alias} LEFT JOIN (SELECT {key}, COUNT(*) AS n, SUM({cents('line_total')}) AS cents "
              f"FROM {lines} GROUP BY {key}) l ON l.{key} = {alias}.{key}")
    return source, {"total_is_sum_of_lines": f"{subtotal} <> COALESCE(l.cents, 0)", "has_lines": "l.n IS NULL"}


# half the smallest amount of the header's currency, in hundredths of a cent (whole yen: 50 cents)
HALF_MINOR_UNIT = ("CASE h.currency_code " + " ".join(
    f"WHEN '{code}' THEN {50 * 10 ** (2 - digits)}" for code, digits in CURRENCY_MINOR_UNITS.items() if digits != 2)
    + " ELSE 50 END")


def lines_priced(ctx: RuleContext, found: Findings, service: str, headers: str, lines: str, key: str) -> None:
    """Each line's total is quantity × unit price × (100 − discount %) / 100, rounded to its document's
    currency's minor unit; the headers of wrong lines are reported."""
    exact = f"l.quantity * {cents('l.unit_price')} * (100 - l.discount_percent)"
    add_keys(ctx, found, "line_total_is_quantity_times_price", service,
             f"SELECT DISTINCT l.{key} FROM {lines} l JOIN {headers} h ON h.{key} = l.{key} "
             f"WHERE ABS({cents('l.line_total')} * 100 - {exact}) > {HALF_MINOR_UNIT} ORDER BY l.{key}")


def lines_add_up(ctx: RuleContext, found: Findings, service: str, headers: str, lines: str, key: str) -> None:
    source, checks = line_checks(headers, "h", lines, key, cents("h.total_amount"))
    flag_rows(ctx, found, service, f"h.{key}", source, checks)
    lines_priced(ctx, found, service, headers, lines, key)


@rule("money_adds_up", "orders.sales_orders", "Order total = Σ lines; line total = quantity × unit price.",
      reads=("orders.order_lines",))
def order_totals(ctx: RuleContext, found: Findings) -> None:
    lines_add_up(ctx, found, "orders", "sales_orders", "order_lines", "order_uuid")


@rule("money_adds_up", "sales.quote_lines", "Quote total = Σ lines; line total = quantity × unit price.",
      reads=("sales.quotes",))
def quote_totals(ctx: RuleContext, found: Findings) -> None:
    lines_add_up(ctx, found, "sales", "quotes", "quote_lines", "quote_uuid")


def _terms_days() -> str:
    return "CASE i.payment_terms " + " ".join(f"WHEN '{t}' THEN {d}" for t, d in TERMS_DAYS.items()) + " END"


@rule("money_adds_up", "finance.invoices",
      "Total = Σ lines + tax, paid = Σ payments, PAID/UNPAID/PARTIALLY_PAID/OVERDUE as paid and due, "
      "due = issue + terms.", reads=("finance.invoice_lines", "finance.payments"))
def invoice_money(ctx: RuleContext, found: Findings) -> None:
    sql = ctx.sql
    total, paid, terms = cents("i.total_amount"), cents("i.amount_paid"), _terms_days()
    source, checks = line_checks("invoices", "i", "invoice_lines", "invoice_uuid", f"{total} - {cents('i.tax_amount')}")
    past_due = f"i.due_date IS NOT NULL AND i.due_date < {sql.date(ctx.plan.reference_date)} AND {paid} < {total}"
    flag_rows(ctx, found, "finance", "i.invoice_uuid",
              f"{source} LEFT JOIN (SELECT invoice_uuid, SUM({cents('amount')}) AS cents FROM payments "
              "GROUP BY invoice_uuid) p ON p.invoice_uuid = i.invoice_uuid", {
                  **checks,
                  "paid_is_sum_of_payments": f"{paid} <> COALESCE(p.cents, 0)",
                  "paid_means_paid_in_full": f"i.status = 'PAID' AND {paid} <> {total}",
                  "unpaid_means_nothing_paid": f"i.status = 'UNPAID' AND {paid} <> 0",
                  "partially_paid_between": f"i.status = 'PARTIALLY_PAID' AND ({paid} <= 0 OR {paid} >= {total})",
                  "overdue_by_due_date": f"i.status IN ({Sql.quoted(ISSUED)}) AND i.status <> 'PAID' AND "
                                         f"(CASE WHEN {past_due} THEN 1 ELSE 0 END) <> "
                                         "(CASE WHEN i.status = 'OVERDUE' THEN 1 ELSE 0 END)",
                  "due_is_issue_plus_terms": f"i.issue_date IS NOT NULL AND (i.due_date IS NULL OR {terms} IS NULL "
                                             f"OR i.due_date <> {sql.add_days('i.issue_date', terms)})",
                  "never_overpaid": f"{paid} > {total}",
              })
    lines_priced(ctx, found, "finance", "invoices", "invoice_lines", "invoice_uuid")


@rule("ledger_balanced", "finance.ledger_entries",
      "Debit and credit never null nor negative (0 on the unused side), one side per entry; debits = credits "
      "in every journal, each journal in one currency.")
def ledger_balanced(ctx: RuleContext, found: Findings) -> None:
    flag_rows(ctx, found, "finance", "ledger_entry_uuid", "ledger_entries", {
        "debit_and_credit_present": "debit IS NULL OR credit IS NULL OR debit < 0 OR credit < 0",
        "one_side_only": "debit > 0 AND credit > 0",
    })
    add_keys(ctx, found, "journal_balances", "finance",
             f"SELECT journal_uuid FROM ledger_entries GROUP BY journal_uuid HAVING "
             f"SUM({cents('COALESCE(debit, 0)')}) <> SUM({cents('COALESCE(credit, 0)')}) ORDER BY journal_uuid")
    add_keys(ctx, found, "journal_in_one_currency", "finance", "SELECT journal_uuid FROM ledger_entries "
             "GROUP BY journal_uuid HAVING COUNT(DISTINCT currency_code) > 1 ORDER BY journal_uuid")


RULES = [order_totals, quote_totals, invoice_money, ledger_balanced]
