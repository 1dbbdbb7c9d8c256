"""The live rules as asset checks on the service databases: run right after a tier is loaded, and the
same checks the consistency sensor reports on while the system under test changes the data."""

import dagster as dg

from crm_mock.consistency.live import LiveRule, LiveTier, live_rules
from crm_mock.consistency.results import RuleResult
from crm_mock.defs.checks import check_result
from crm_mock.defs.partitions import TIER_PARTITIONS
from crm_mock.defs.resources import ServiceDatabaseResource, StorageResource
from crm_mock.defs.tables import database_key


def live_metadata(rule: LiveRule, result: RuleResult) -> dict:
    metadata = dict(check_result(result).metadata)
    if rule.master:
        # the master asset the drifted replica derives from: one click to the source in the lineage
        service, table = rule.master.split(".")
        metadata["master_asset"] = dg.MetadataValue.asset(dg.AssetKey([service, table]))
    return metadata


def live_check(rule: LiveRule) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=database_key(rule.service), name=rule.name, partitions_def=TIER_PARTITIONS,
        additional_deps=[database_key(s) for s in rule.reads if s != rule.service],
        description=f"{rule.name.split('__')[0].replace('_', ' ')} for {rule.table.qualified_name}, "
                    "as SQL against the live databases.",
    )
    def _check(context: dg.AssetCheckExecutionContext, storage: StorageResource,
               databases: ServiceDatabaseResource) -> dg.AssetCheckResult:
        with LiveTier(context.partition_key, storage.data_dir, databases.database_url) as live:
            result = rule.run(live)
        return dg.AssetCheckResult(passed=result.passed, metadata=live_metadata(rule, result))

    return _check


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(asset_checks=[live_check(rule) for rule in live_rules()])
