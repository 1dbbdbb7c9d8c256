"""Transactions: leads → opportunities → quotes → orders → stock movements → invoices → payments → ledger,
and support tickets, along a timeline that ends at the scenario's reference date. With more than one shard
(CRM_MOCK_SHARDS) each table is generated in shard steps that run side by side."""

import dagster as dg

from crm_mock.defs.executors import shard_count
from crm_mock.defs.generated import generated_table_asset
from crm_mock.defs.shards import sharded_table_asset
from crm_mock.generate import TRANSACTION_GENERATORS


@dg.definitions
def defs() -> dg.Definitions:
    shards = shard_count()
    if shards == 1:
        return dg.Definitions(assets=[generated_table_asset(name, "transactions") for name in TRANSACTION_GENERATORS])
    built = [d for name in TRANSACTION_GENERATORS for d in sharded_table_asset(name, "transactions", shards)]
    checks = [d for d in built if isinstance(d, dg.AssetChecksDefinition)]
    return dg.Definitions(assets=[d for d in built if not isinstance(d, dg.AssetChecksDefinition)], asset_checks=checks)
