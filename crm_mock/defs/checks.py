"""Asset checks from the rule registry (crm_mock.consistency): the rules are written once; this only wires
them to Dagster. During the build a rule reads the tier's Parquet table store.

A check whose rule reads only its table and tables upstream of it runs inside the step that builds the
table, right after the table is stored: one step per table instead of one per check. The others (they read
a table built later) run together in one step per table, after what they read.
"""


import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import dagster as dg
import pyarrow as pa

from crm_mock.consistency.results import RuleResult
from crm_mock.consistency.rule import Rule
from crm_mock.consistency.sources import StoreSource
from crm_mock.defs.partitions import TIER_PARTITIONS
from crm_mock.defs.progress import step_tracker
from crm_mock.defs.resources import ScenarioResource, ServiceDatabaseResource, StorageResource, release_memory
from crm_mock.defs.tables import ancestors, table_key
from crm_mock.generate.memo import release_plans
from crm_mock.generate.progress import Tracker, active
from crm_mock.model import Table
from crm_mock.scenario import TierPlan
from crm_mock.sinks.parquet import TableStore


@dataclass
class CheckInputs:
    """What a step may read: the tier's plan, any materialised table, and (opened on first use, closed with
    the step) the table store as a rule source."""

    tier: str
    store: TableStore
    scenario: ScenarioResource
    databases: ServiceDatabaseResource | None = None
    _source: StoreSource | None = None

    @property
    def plan(self) -> TierPlan:
        return self.scenario.plan(self.tier)

    def read(self, qualified_name: str, columns: list[str] | None = None) -> pa.Table:
        release_memory()
        return self.store.read_model_table(self.tier, qualified_name, columns)

    def rule_source(self) -> StoreSource:
        if self._source is None:
            self._source = StoreSource(self.store, self.tier)
        return self._source

    def close(self) -> None:
        """The step is done: its rule source closes, and the plans it drew from leave the memo (when the run
        shares them through files), so the next step of this process starts light."""
        if self._source is not None:
            self._source.close()
            self._source = None
        release_plans()


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
    """A registry rule as a build check on its table, evaluated on the tier's table store."""

    rule: Rule

    @property
    def table(self) -> Table:
        return self.rule.table

    @property
    def key(self) -> dg.AssetCheckKey:
        return dg.AssetCheckKey(table_key(self.table), self.rule.name)

    @property
    def runs_in_step(self) -> bool:
        """Everything it reads is built before its table (or is its table), so it can run in the table's step."""
        return set(self.rule.reads) - {self.table.qualified_name} <= ancestors(self.table)

    def spec(self) -> dg.AssetCheckSpec:
        others = [table_key(t) for t in self.rule.reads if t != self.table.qualified_name]
        return dg.AssetCheckSpec(self.rule.name, asset=table_key(self.table), description=self.rule.description,
                                 blocking=self.rule.blocking, partitions_def=TIER_PARTITIONS,
                                 additional_deps=[] if self.runs_in_step else others)

    def evaluate(self, inputs: CheckInputs) -> dg.AssetCheckResult:
        return check_result(self.rule.run(inputs.rule_source(), inputs.plan), self.key)


# builds the asset, writing it where it goes (the table store, a service database), and returns its metadata
Build = Callable[[dg.AssetExecutionContext, CheckInputs], dict]


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
    ``build`` writes the asset itself and returns its metadata: a value handed to the IO manager would stay
    referenced by Dagster's event loop until the step's next event, through the checks that follow."""
    later = [c.key.name for c in checks if not c.runs_in_step]
    assert not later, f"{later} read tables built after {spec.key.to_user_string()}: they cannot run in its step"

    @dg.multi_asset(name="__".join(spec.key.path), specs=[spec], check_specs=[c.spec() for c in checks],
                    can_subset=True, partitions_def=TIER_PARTITIONS)
    def _step(context: dg.AssetExecutionContext, scenario: ScenarioResource, storage: StorageResource,
              databases: ServiceDatabaseResource):
        inputs = CheckInputs(context.partition_key, storage.store(), scenario, databases)
        try:
            with step_tracker(context) as tracker:
                if spec.key in context.selected_asset_keys:
                    with active(tracker):  # the generators and loads below count what they do
                        metadata = build(context, inputs)
                    release_plans()  # the checks below read the table, not the plans it was drawn from
                    yield dg.MaterializeResult(asset_key=spec.key, metadata=metadata)
                yield from _selected_results(context, checks, inputs, tracker)
        finally:
            inputs.close()

    return _step


def _selected_results(context: dg.OpExecutionContext, checks: Sequence[StepCheck], inputs: CheckInputs,
                      tracker: Tracker) -> Iterator[dg.AssetCheckResult]:
    selected = [c for c in checks if c.key in context.selected_asset_check_keys]
    if not selected:
        return
    progress = tracker.phase("checks", len(selected), "checks")
    for check in selected:
        yield check.evaluate(inputs)
        progress.advance(1)


def later_checks(table: Table, checks: Sequence[RuleCheck], step: str = "checks") -> dg.AssetChecksDefinition:
    """Checks of a table in a step of their own, after all they read: those that read tables built after it
    (step "checks"), or a sharded table's build checks (step "built_checks", after its join)."""

    @dg.multi_asset_check(name=f"{table.service}__{table.name}__{step}", specs=[c.spec() for c in checks],
                          can_subset=True)
    def _checks(context: dg.AssetCheckExecutionContext, scenario: ScenarioResource, storage: StorageResource):
        inputs = CheckInputs(context.partition_key, storage.store(), scenario)
        try:
            with step_tracker(context) as tracker:
                yield from _selected_results(context, checks, inputs, tracker)
        finally:
            inputs.close()

    return _checks
