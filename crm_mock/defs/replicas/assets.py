"""Replicas: each service's copy of the masters it references, columns from the model's replica mapping."""

import dagster as dg
import pyarrow as pa

from crm_mock.defs.metadata import definition_metadata, materialization_metadata
from crm_mock.defs.partitions import TIER_PARTITIONS
from crm_mock.defs.tables import plain_replicas, table_key
from crm_mock.defs.generated import generated_table_asset
from crm_mock.generate import OWNED_REPLICA_GENERATORS, project_replica
from crm_mock.model import CATALOG, Table


def replica_asset(replica: Table) -> dg.AssetsDefinition:
    master = CATALOG[replica.replica_of.master]
    copied = [master.primary_key[0], *replica.replica_of.columns]

    @dg.asset(
        key=table_key(replica), group_name="replicas", partitions_def=TIER_PARTITIONS,
        ins={"master": dg.AssetIn(key=table_key(master), metadata={"columns": copied})},
        description=replica.description, kinds={"parquet"}, io_manager_key="table_io_manager",
        metadata=definition_metadata(replica), tags={"service": replica.service},
    )
    def _asset(master: pa.Table) -> dg.MaterializeResult:
        data = project_replica(replica, master)
        return dg.MaterializeResult(value=data, metadata=materialization_metadata(replica, data))

    return _asset


@dg.definitions
def defs() -> dg.Definitions:
    owned = [generated_table_asset(name, "replicas") for name in OWNED_REPLICA_GENERATORS]
    return dg.Definitions(assets=[replica_asset(t) for t in plain_replicas()] + owned)
