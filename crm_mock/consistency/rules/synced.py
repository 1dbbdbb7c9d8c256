"""Statuses one service owns and others copy: Finance's credit holds, mirrored in Contact."""

from __future__ import annotations

from collections.abc import Iterator

from crm_mock.consistency.engine import Findings, RuleContext, merge_sorted
from crm_mock.consistency.rule import rule

HOLDS_FINANCE = "SELECT account_uuid FROM customer_accounts WHERE credit_status = 'ON_HOLD' ORDER BY account_uuid"
HOLDS_CONTACT = "SELECT account_uuid FROM accounts WHERE status = 'ON_HOLD' ORDER BY account_uuid"


def credit_holds_merged(ctx: RuleContext) -> Iterator[tuple[str, tuple | None, tuple | None]]:
    """Finance's and Contact's ON_HOLD accounts side by side, in key order (the rule and the repair share it)."""
    return merge_sorted(ctx.rows("finance", HOLDS_FINANCE), ctx.rows("contact", HOLDS_CONTACT))


@rule("credit_hold_synced", "finance.customer_accounts",
      "Finance's ON_HOLD accounts are exactly Contact's ON_HOLD accounts (Finance owns the hold).",
      reads=("contact.accounts",), synced_from="contact.accounts")
def credit_hold_synced(ctx: RuleContext, found: Findings) -> None:
    found.kind("held_in_finance_only")
    found.kind("held_in_contact_only")
    for key, finance, contact in credit_holds_merged(ctx):
        if contact is None:
            found.add("held_in_finance_only", key)
        elif finance is None:
            found.add("held_in_contact_only", key)
