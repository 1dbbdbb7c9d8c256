"""A loaded service database holds exactly the rows of the tables it was loaded from (checked in its step)."""

from dataclasses import dataclass

import dagster as dg

from crm_mock.consistency.results import rule_result
from crm_mock.defs.checks import CheckInputs, check_result
from crm_mock.defs.partitions import TIER_PARTITIONS
from crm_mock.defs.tables import database_key
from crm_mock.generate.drift import dropped_rows
from crm_mock.model import Table

NAME = "rows_match_table_store"


@dataclass(frozen=True)
class LoadedRowsCheck:
    service: str
    tables: tuple[Table, ...]
    runs_in_step = True

    @property
    def key(self) -> dg.AssetCheckKey:
        return dg.AssetCheckKey(database_key(self.service), NAME)

    def spec(self) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(
            NAME, asset=database_key(self.service), blocking=True, partitions_def=TIER_PARTITIONS,
            description="Every table of the database has exactly the rows of its materialised asset.")

    def evaluate(self, inputs: CheckInputs) -> dg.AssetCheckResult:
        problems = []
        for t in self.tables:
            expected = inputs.store.num_rows(inputs.tier, (t.service, t.name))  # from the footer: no column read
            expected -= dropped_rows(inputs.plan, t.qualified_name)  # drift planted on purpose
            actual = inputs.databases.count_rows(inputs.tier, self.service, t.name)
            if actual != expected:
                problems.append(f"{t.name}: {actual} rows loaded, {expected} materialised")
        return check_result(rule_result(NAME, f"{self.service}.database", problems), self.key)
