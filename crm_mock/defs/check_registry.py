"""Every rule of the registry as a build check on its table. Checks that can run in their table's step are
attached there by the asset factories; the others (they read a table built later) are registered here, one
step per table."""

import functools
from collections import defaultdict

import dagster as dg

from crm_mock.consistency.registry import registry
from crm_mock.defs.checks import RuleCheck, later_checks
from crm_mock.defs.tables import produced_tables
from crm_mock.model import CATALOG, Table


@functools.cache
def _by_table() -> dict[str, tuple[RuleCheck, ...]]:
    produced = {t.qualified_name for t in produced_tables()}
    grouped: dict[str, list[RuleCheck]] = defaultdict(list)
    for rule in registry():
        if rule.table.qualified_name in produced:
            grouped[rule.table.qualified_name].append(RuleCheck(rule))
    return {name: tuple(checks) for name, checks in grouped.items()}


def checks_of(table: Table) -> tuple[RuleCheck, ...]:
    return _by_table().get(table.qualified_name, ())


@dg.definitions
def defs() -> dg.Definitions:
    later = []
    for name, checks in _by_table().items():
        after = [c for c in checks if not c.runs_in_step]
        if after:
            later.append(later_checks(CATALOG[name], after))
    return dg.Definitions(asset_checks=later)
