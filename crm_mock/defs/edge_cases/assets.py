"""Edge cases: one asset per theme of the catalogue, feeding the tables it plants into, and the manifest of
every planted record, written beside the service databases."""

import json

import dagster as dg
import pyarrow as pa

from crm_mock.defs.metadata import preview
from crm_mock.defs.partitions import TIER_PARTITIONS
from crm_mock.defs.progress import step_tracker
from crm_mock.defs.resources import ScenarioResource, StorageResource
from crm_mock.edge_cases import THEMES, load_catalog, theme_tables
from crm_mock.generate.manifest import Planted, cached_manifest
from crm_mock.sinks.manifest import manifest_path, write_manifest

COLUMNS = ("case_id", "theme", "tests", "service", "table", "uuid", "column", "value")


def _as_table(entries: list[Planted]) -> pa.Table:
    rows = [e.as_dict() for e in entries]
    data = {c: [r[c] for r in rows] for c in COLUMNS if c != "value"}
    data["value"] = [None if r["value"] is None else json.dumps(r["value"], ensure_ascii=False) for r in rows]
    return pa.table({c: pa.array(data[c], pa.string()) for c in COLUMNS})


def theme_asset(theme: str) -> dg.AssetsDefinition:
    cases = [c for c in load_catalog() if c.theme == theme]

    @dg.asset(
        key=["edge_cases", theme], group_name="edge_cases", partitions_def=TIER_PARTITIONS, kinds={"yaml"},
        io_manager_key="table_io_manager",
        description=f"Edge cases of theme {theme!r} (crm_mock/edge_cases/{theme}.yaml): "
                    + "; ".join(c.id for c in cases) + f". Planted into {', '.join(theme_tables(theme))}.",
    )
    def _asset(context: dg.AssetExecutionContext, scenario: ScenarioResource) -> dg.MaterializeResult:
        with step_tracker(context):  # a heartbeat in the run's logs while the catalogue is planted
            entries = [e for e in cached_manifest(scenario.plan(context.partition_key)) if e.theme == theme]
        table = _as_table(entries)
        return dg.MaterializeResult(value=table, metadata={
            "dagster/row_count": table.num_rows, "cases": len({e.case_id for e in entries}), "preview": preview(table),
        })

    return _asset


@dg.asset(
    key=["edge_cases", "manifest"], group_name="edge_cases", partitions_def=TIER_PARTITIONS, kinds={"json"},
    deps=[dg.AssetKey(["edge_cases", theme]) for theme in THEMES],
    description="Every planted record of the tier (case, service, table, UUID, what it tests, the planted "
                "value), written to data/<tier>/edge_cases_manifest.json beside the service databases.",
)
def edge_case_manifest(context: dg.AssetExecutionContext, scenario: ScenarioResource,
                       storage: StorageResource) -> dg.MaterializeResult:
    tier = context.partition_key
    with step_tracker(context):
        entries = cached_manifest(scenario.plan(tier))
    path = write_manifest(manifest_path(storage.data_dir, tier), [e.as_dict() for e in entries])
    table = _as_table(entries)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(entries),
        "cases": len({e.case_id for e in entries}),
        "dagster/uri": dg.MetadataValue.path(str(path)),
        "manifest": dg.MetadataValue.md(table.select(["case_id", "table", "uuid", "column"]).to_pandas()
                                        .to_markdown(index=False)),
    })


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[*(theme_asset(t) for t in THEMES), edge_case_manifest])
