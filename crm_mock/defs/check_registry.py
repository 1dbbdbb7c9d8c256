"""Every rule check of the build, by table: the model's checks for every produced table, the replica checks,
Part A's quotas and invariants. Checks that can run in their table's step are attached there by the asset
factories; the others (they read a table built later) are registered here, one step per table."""

import functools
from collections import defaultdict

import dagster as dg

from crm_mock.defs.checks import RuleCheck, later_checks, model_checks
from crm_mock.defs.master_data.checks import quota_checks
from crm_mock.defs.replicas.checks import replica_check
from crm_mock.defs.tables import produced_tables
from crm_mock.defs.transactions.checks import invariant_checks
from crm_mock.model import CATALOG, Table


@functools.cache
def _by_table() -> dict[str, tuple[RuleCheck, ...]]:
    grouped: dict[str, list[RuleCheck]] = defaultdict(list)
    for table in produced_tables():
        for check in model_checks(table) + ([replica_check(table)] if table.replica_of else []):
            grouped[table.qualified_name].append(check)
    for check in quota_checks() + invariant_checks():
        grouped[check.table.qualified_name].append(check)
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
