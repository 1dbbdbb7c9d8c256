"""Replicas: each service's copy of the masters it references, columns from the model's replica mapping."""

import dagster as dg

from crm_mock.defs.check_registry import checks_of
from crm_mock.defs.checks import CheckInputs, table_step
from crm_mock.defs.generated import generated_table_asset, streamed_metadata
from crm_mock.defs.metadata import definition_metadata, table_spec
from crm_mock.defs.tables import plain_replicas, table_key
from crm_mock.generate import OWNED_REPLICA_GENERATORS, project_replica
from crm_mock.model import CATALOG, Table


def replica_asset(replica: Table) -> dg.AssetsDefinition:
    master = CATALOG[replica.replica_of.master]
    copied = [master.primary_key[0], *replica.replica_of.columns]

    def build(context: dg.AssetExecutionContext, inputs: CheckInputs):
        data = project_replica(replica, inputs.read(master.qualified_name, copied))
        # written here rather than handed to the IO manager: Dagster's event loop holds the last value a step
        # yielded until its next event, so the table (138 MiB of Arrow at the stress tier) stayed through the
        # checks that follow in the step
        path = inputs.store.write(inputs.tier, (replica.service, replica.name), data)
        return streamed_metadata(replica, path, data.num_rows, data)

    spec = table_spec(replica, "replicas", deps=[table_key(master)], metadata=definition_metadata(replica))
    return table_step(spec, [c for c in checks_of(replica) if c.runs_in_step], build, replica)


@dg.definitions
def defs() -> dg.Definitions:
    owned = [generated_table_asset(name, "replicas") for name in OWNED_REPLICA_GENERATORS]
    return dg.Definitions(assets=[replica_asset(t) for t in plain_replicas()] + owned)
