"""Service databases: one per service, loaded atomically from the table store."""

import os
from collections import defaultdict

import dagster as dg

from crm_mock.defs.checks import CheckInputs, table_step
from crm_mock.defs.partitions import TIER_PARTITIONS
from crm_mock.defs.resources import DATABASE_URL_ENV, ServiceDatabaseResource
from crm_mock.defs.service_dbs.checks import LoadedRowsCheck
from crm_mock.defs.tables import database_key, produced_tables, table_key
from crm_mock.generate.drift import drift_batches
from crm_mock.generate.progress import counted, phase
from crm_mock.model import Table


def tables_by_service() -> dict[str, list[Table]]:
    grouped: dict[str, list[Table]] = defaultdict(list)
    for table in produced_tables():
        grouped[table.service].append(table)
    return dict(grouped)


def database_asset(service: str, tables: list[Table]) -> dg.AssetsDefinition:
    def build(context: dg.AssetExecutionContext, inputs: CheckInputs):
        databases: ServiceDatabaseResource = inputs.databases
        tier, store, plan = inputs.tier, inputs.store, inputs.plan

        # counted as the loader takes each batch (drift adds or drops a few rows: the total is the store's)
        loaded = phase("load", sum(store.num_rows(tier, (t.service, t.name)) for t in tables))

        def source(table):
            return lambda: counted(drift_batches(plan, table.qualified_name,
                                                 store.model_batches(tier, table.qualified_name)), loaded)

        sources = {t.name: source(t) for t in tables}
        notes: list[str] = []
        counts = databases.load(plan, service, sources, notify=notes.append)
        for note in notes:
            context.log.info(note)
        uuid_storage = databases.uuid_storage(plan)
        return {
            "dagster/row_count": sum(counts.values()),
            "rows_per_table": dg.MetadataValue.json(counts),
            "location": databases.location(tier, service),
            # the service's own objects that the refresh left in place
            "service_objects_kept": dg.MetadataValue.json(notes),
            **({"sqlite_uuid_storage": uuid_storage.value} if uuid_storage else {}),
        }

    spec = dg.AssetSpec(
        database_key(service), group_name="service_dbs", partitions_def=TIER_PARTITIONS,
        deps=[table_key(t) for t in tables], tags={"service": service},
        # the backend these databases are loaded into, as configured when the code location loaded
        kinds={"postgres" if os.environ.get(DATABASE_URL_ENV) else "sqlite", service},
        description=(f"The {service} service's database: {', '.join(t.name for t in tables)}. "
                     "Its tables' rows are replaced on every load (nothing else in the database is touched); a failed "
                     "load leaves the previous rows intact. SQLite by default, PostgreSQL with CRM_MOCK_DATABASE_URL."),
    )
    return table_step(spec, [LoadedRowsCheck(service, tuple(tables))], build)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[database_asset(s, t) for s, t in tables_by_service().items()])
