"""The registry of named rules. The build checks, the database checks, the consistency sensor and
`crm-mock check` all read it, so they report the same rule names."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from crm_mock.consistency.results import RuleResult
from crm_mock.consistency.rule import Rule
from crm_mock.consistency.rules import all_rules
from crm_mock.consistency.sources import Source
from crm_mock.scenario import TierPlan


@cache
def registry() -> tuple[Rule, ...]:
    """Every rule, in a stable order: the model's per table first, then the contract's business rules."""
    rules = tuple(all_rules())
    keys = [r.key for r in rules]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise ValueError(f"rules declared twice: {duplicated}")
    return rules


def rules_on(table: str) -> tuple[Rule, ...]:
    return tuple(r for r in registry() if r.table.qualified_name == table)


def run_rules(source: Source, plan: TierPlan, rules: Iterable[Rule] | None = None) -> list[RuleResult]:
    return [r.run(source, plan) for r in (registry() if rules is None else rules)]
