"""Asset checks built from consistency rules; the rules are pure, this only wires them to Dagster."""


import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dagster as dg
import pyarrow as pa

from crm_mock.consistency.results import RuleResult
from crm_mock.consistency.table_rules import conforms_to_model, foreign_keys_resolve, primary_key_unique
from crm_mock.defs.partitions import TIER_PARTITIONS
from crm_mock.defs.resources import ScenarioResource, StorageResource
from crm_mock.defs.tables import table_key
from crm_mock.model import CATALOG, Table
from crm_mock.scenario import TierPlan
from crm_mock.sinks.parquet import TableStore


@dataclass(frozen=True)
class CheckInputs:
    """What a rule may read: the tier's plan and any materialised table (only the columns it needs)."""

    tier: str
    store: TableStore
    scenario: ScenarioResource

    @property
    def plan(self) -> TierPlan:
        return self.scenario.plan(self.tier)

    def read(self, qualified_name: str, columns: list[str] | None = None) -> pa.Table:
        return self.store.read_model_table(self.tier, qualified_name, columns)


Rule = Callable[[CheckInputs], RuleResult]


def check_result(result: RuleResult) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "rule": result.rule,
            "service": result.service,
            "table": result.table,
            "offending_rows": result.offending,
            "sample": dg.MetadataValue.json(list(result.sample)),
            "details": dg.MetadataValue.json(json.loads(json.dumps(result.details, default=str))),
        },
    )


def rule_check(table: Table, name: str, rule: Rule, description: str, reads: Sequence[str] = (),
               blocking: bool = False) -> dg.AssetChecksDefinition:
    """An asset check on ``table`` that runs ``rule``; ``reads`` are the other tables it looks at."""

    @dg.asset_check(
        asset=table_key(table), name=name, description=description, blocking=blocking,
        partitions_def=TIER_PARTITIONS,
        additional_deps=[table_key(other) for other in reads if other != table.qualified_name],
    )
    def _check(context: dg.AssetCheckExecutionContext, storage: StorageResource,
               scenario: ScenarioResource) -> dg.AssetCheckResult:
        return check_result(rule(CheckInputs(context.partition_key, storage.store(), scenario)))

    return _check


def model_checks(table: Table) -> list[dg.AssetChecksDefinition]:
    """The checks every table gets from the data model: keys, conformance, references that resolve."""
    name = table.qualified_name
    checks = [
        rule_check(table, "primary_key_unique", lambda i: primary_key_unique(table, i.read(name)),
                   f"{', '.join(table.primary_key)} unique and present.", blocking=True),
        rule_check(table, "conforms_to_model", lambda i: conforms_to_model(table, i.read(name)),
                   "Nulls only where nullable, text within max length, codes from the vocabulary, canonical UUIDs."),
    ]
    references = CATALOG.references(table)
    if references:
        targets = sorted({r.resolving_table.qualified_name for r in references})

        def resolve(inputs: CheckInputs) -> RuleResult:
            data = inputs.read(name)
            keys = {}
            for ref in references:
                source = ref.resolving_table
                rows = data if source.qualified_name == name else inputs.read(source.qualified_name, [ref.target_key])
                keys[ref.column.name] = rows.column(ref.target_key)
            return foreign_keys_resolve(table, data, keys)

        described = ", ".join(f"{r.column.name} → {r.resolving_table.qualified_name}"
                              + (" (cross-service)" if r.is_cross_service else "") for r in references)
        checks.append(rule_check(table, "foreign_keys_resolve", resolve, f"Every reference resolves: {described}.",
                                 reads=targets, blocking=True))
    return checks
