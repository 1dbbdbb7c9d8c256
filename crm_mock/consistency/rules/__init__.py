"""Every rule of the data contract, in registry order."""

from __future__ import annotations

from crm_mock.consistency.rule import Rule
from crm_mock.consistency.rules import master, money, quotas, stock, synced, workflow
from crm_mock.consistency.rules.model import model_rules


def all_rules() -> list[Rule]:
    return [*model_rules(), synced.credit_hold_synced, *master.RULES, *stock.RULES, *workflow.RULES, *money.RULES,
            *quotas.RULES]
