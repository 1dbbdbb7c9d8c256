"""A loaded service database holds exactly the rows of the tables it was loaded from."""

import dagster as dg

from crm_mock.consistency.results import rule_result
from crm_mock.defs.checks import check_result
from crm_mock.defs.partitions import TIER_PARTITIONS
from crm_mock.defs.resources import ScenarioResource, ServiceDatabaseResource, StorageResource
from crm_mock.edge_cases.drift import dropped_rows
from crm_mock.defs.service_dbs.assets import tables_by_service
from crm_mock.defs.tables import database_key
from crm_mock.model import Table


def loaded_rows_check(service: str, tables: list[Table]) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=database_key(service), name="rows_match_table_store", blocking=True,
                    partitions_def=TIER_PARTITIONS,
                    description="Every table of the database has exactly the rows of its materialised asset.")
    def _check(context: dg.AssetCheckExecutionContext, storage: StorageResource,
               databases: ServiceDatabaseResource, scenario: ScenarioResource) -> dg.AssetCheckResult:
        tier, store = context.partition_key, storage.store()
        plan = scenario.plan(tier)
        problems = []
        for t in tables:
            expected = store.read(tier, (t.service, t.name), [t.primary_key[0]]).num_rows
            expected -= dropped_rows(plan, t.qualified_name)  # drift planted on purpose
            actual = databases.count_rows(tier, service, t.name)
            if actual != expected:
                problems.append(f"{t.name}: {actual} rows loaded, {expected} materialised")
        return check_result(rule_result("rows_match_table_store", f"{service}.database", problems))

    return _check


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(asset_checks=[loaded_rows_check(s, t) for s, t in tables_by_service().items()])
