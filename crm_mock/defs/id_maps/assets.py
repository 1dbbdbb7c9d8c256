"""ID maps: each master entity's deterministic UUIDs, derived from (seed, entity, index)."""

import dagster as dg

from crm_mock.defs.metadata import preview
from crm_mock.defs.partitions import TIER_PARTITIONS
from crm_mock.defs.resources import ScenarioResource
from crm_mock.defs.tables import id_map_key
from crm_mock.generate import ENTITY_COUNTS, id_map


def id_map_asset(entity: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=id_map_key(entity), group_name="id_maps", partitions_def=TIER_PARTITIONS, kinds={"parquet"},
        io_manager_key="table_io_manager",
        description=f"Row index → {entity}_uuid for every {entity} of the tier; the same in every service.",
    )
    def _asset(context: dg.AssetExecutionContext, scenario: ScenarioResource) -> dg.MaterializeResult:
        ids = id_map(scenario.plan(context.partition_key), entity)
        return dg.MaterializeResult(value=ids, metadata={
            "dagster/row_count": ids.num_rows,
            "dagster/column_schema": dg.TableSchema(columns=[
                dg.TableColumn("row_index", "bigint"),
                dg.TableColumn(f"{entity}_uuid", "uuid", constraints=dg.TableColumnConstraints(unique=True)),
            ]),
            "preview": preview(ids),
        })

    return _asset


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[id_map_asset(entity) for entity in ENTITY_COUNTS])


