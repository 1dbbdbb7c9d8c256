"""Asset checks built from consistency rules; the rules are pure, this only wires them to Dagster.

A check whose rule reads only its table and tables upstream of it runs inside the step that builds the
table (on the table in memory): one step per table instead of one per check. The others (they read a
table built later) run together in one step per table, after what they read.
"""


import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import dagster as dg
import pyarrow as pa

from crm_mock.consistency.results import RuleResult
from crm_mock.consistency.table_rules import conforms_to_model, foreign_keys_resolve, primary_key_unique
from crm_mock.defs.partitions import TIER_PARTITIONS
from crm_mock.defs.resources import ScenarioResource, ServiceDatabaseResource, StorageResource, release_memory
from crm_mock.defs.tables import ancestors, table_key
from crm_mock.model import CATALOG, Table
from crm_mock.scenario import TierPlan
from crm_mock.sinks.parquet import TableStore


@dataclass(frozen=True)
class CheckInputs:
    """What a rule may read: the tier's plan and any materialised table (only the columns it needs).
    ``built`` holds tables built in this step, still in memory."""

    tier: str
    store: TableStore
    scenario: ScenarioResource
    databases: ServiceDatabaseResource | None = None
    built: Mapping[str, pa.Table] = field(default_factory=dict)

    @property
    def plan(self) -> TierPlan:
        return self.scenario.plan(self.tier)

    def read(self, qualified_name: str, columns: list[str] | None = None) -> pa.Table:
        if qualified_name in self.built:
            data = self.built[qualified_name]
            return data.select(columns) if columns else data
        release_memory()
        return self.store.read_model_table(self.tier, qualified_name, columns)


Rule = Callable[[CheckInputs], RuleResult]


def check_metadata(result: RuleResult) -> dict:
    return {
        "rule": result.rule,
        "service": result.service,
        "table": result.table,
        "offending_rows": result.offending,
        "sample": dg.MetadataValue.json(list(result.sample)),
        "details": dg.MetadataValue.json(json.loads(json.dumps(result.details, default=str))),
    }


def summary(result: RuleResult) -> str:
    """One line a person reads first: how many rows offend and which."""
    if result.passed:
        return "passed"
    sample = ", ".join(result.sample)
    more = "" if result.offending <= len(result.sample) else ", …"
    return f"{result.offending} offending: {sample}{more}"


def check_result(result: RuleResult, key: dg.AssetCheckKey | None = None,
                 metadata: Mapping[str, object] | None = None) -> dg.AssetCheckResult:
    """A blocking check's failure stops what builds on its table: the flag comes from the check's spec."""
    return dg.AssetCheckResult(
        asset_key=key.asset_key if key else None, check_name=key.name if key else None,
        passed=result.passed, severity=dg.AssetCheckSeverity.ERROR, description=summary(result),
        metadata={**check_metadata(result), **(metadata or {})},
    )


@dataclass(frozen=True)
class RuleCheck:
    """A rule checked on one table; ``reads`` are the other tables it looks at."""

    table: Table
    name: str
    rule: Rule
    description: str
    reads: tuple[str, ...] = ()
    blocking: bool = False

    @property
    def key(self) -> dg.AssetCheckKey:
        return dg.AssetCheckKey(table_key(self.table), self.name)

    @property
    def runs_in_step(self) -> bool:
        """Everything it reads is built before its table (or is its table), so it can run in the table's step."""
        return set(self.reads) - {self.table.qualified_name} <= ancestors(self.table)

    def spec(self) -> dg.AssetCheckSpec:
        others = [table_key(t) for t in self.reads if t != self.table.qualified_name]
        return dg.AssetCheckSpec(self.name, asset=table_key(self.table), description=self.description,
                                 blocking=self.blocking, partitions_def=TIER_PARTITIONS,
                                 additional_deps=[] if self.runs_in_step else others)

    def evaluate(self, inputs: CheckInputs) -> dg.AssetCheckResult:
        return check_result(self.rule(inputs), self.key)


def rule_check(table: Table, name: str, rule: Rule, description: str, reads: Sequence[str] = (),
               blocking: bool = False) -> RuleCheck:
    return RuleCheck(table, name, rule, description, tuple(reads), blocking)


def model_checks(table: Table) -> list[RuleCheck]:
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


Build = Callable[[dg.AssetExecutionContext, CheckInputs], tuple[pa.Table | None, dict]]


class StepCheck(Protocol):
    """A check that runs inside its asset's step."""

    key: dg.AssetCheckKey
    runs_in_step: bool

    def spec(self) -> dg.AssetCheckSpec: ...

    def evaluate(self, inputs: CheckInputs) -> dg.AssetCheckResult: ...


def table_step(spec: dg.AssetSpec, checks: Sequence[StepCheck], build: Build,
               table: Table | None = None) -> dg.AssetsDefinition:
    """One step that builds an asset and runs its in-step checks on the result. Either may run alone: the
    checks alone (the UI's "Execute checks") read the table back from the store instead of building it.
    ``build`` returns the value for the IO manager (None when the asset writes elsewhere) and its metadata."""
    later = [c.key.name for c in checks if not c.runs_in_step]
    assert not later, f"{later} read tables built after {spec.key.to_user_string()}: they cannot run in its step"

    @dg.multi_asset(name="__".join(spec.key.path), specs=[spec], check_specs=[c.spec() for c in checks],
                    can_subset=True, partitions_def=TIER_PARTITIONS)
    def _step(context: dg.AssetExecutionContext, scenario: ScenarioResource, storage: StorageResource,
              databases: ServiceDatabaseResource):
        inputs = CheckInputs(context.partition_key, storage.store(), scenario, databases)
        if spec.key in context.selected_asset_keys:
            value, metadata = build(context, inputs)
            if value is not None and table is not None:
                inputs = CheckInputs(inputs.tier, inputs.store, scenario, databases, {table.qualified_name: value})
            if value is None:  # the asset writes elsewhere (a service database)
                yield dg.MaterializeResult(asset_key=spec.key, metadata=metadata)
            else:
                yield dg.MaterializeResult(asset_key=spec.key, value=value, metadata=metadata)
        for check in checks:
            if check.key in context.selected_asset_check_keys:
                yield check.evaluate(inputs)

    return _step


def later_checks(table: Table, checks: Sequence[RuleCheck]) -> dg.AssetChecksDefinition:
    """The checks of a table that read tables built after it: one step, after all they read."""

    @dg.multi_asset_check(name=f"{table.service}__{table.name}__checks", specs=[c.spec() for c in checks],
                          can_subset=True)
    def _checks(context: dg.AssetCheckExecutionContext, scenario: ScenarioResource, storage: StorageResource):
        inputs = CheckInputs(context.partition_key, storage.store(), scenario)
        for check in checks:
            if check.key in context.selected_asset_check_keys:
                yield check.evaluate(inputs)

    return _checks
