"""The asset factory for tables built by a pure generator (masters, transactions, owned replicas)."""

from collections.abc import Iterator

import dagster as dg
import pyarrow as pa

from crm_mock.defs.check_registry import checks_of
from crm_mock.defs.checks import CheckInputs, table_step
from crm_mock.defs.metadata import PREVIEW_ROWS, definition_metadata, materialization_metadata, table_spec
from crm_mock.defs.tables import id_map_key, table_key
from crm_mock.edge_cases import THEMES, theme_tables
from crm_mock.generate import ENTITY_COUNTS, GENERATORS
from crm_mock.model import CATALOG
from crm_mock.model.ddl import arrow_schema
from crm_mock.model.lineage import entity_of, synced_sources, upstream_tables


def generated_table_asset(qualified_name: str, group: str) -> dg.AssetsDefinition:
    table = CATALOG[qualified_name]
    generate = GENERATORS[qualified_name]
    entity = entity_of(table)
    deps = ([id_map_key(entity)] if entity in ENTITY_COUNTS else []) + [table_key(t) for t in upstream_tables(table)]
    deps += [dg.AssetKey(list(path)) for path in synced_sources(table)]
    deps += [dg.AssetKey(["edge_cases", theme]) for theme in THEMES if qualified_name in theme_tables(theme)]

    def build(context: dg.AssetExecutionContext, inputs: CheckInputs):
        head: list[pa.Table] = []

        def blocks() -> Iterator[pa.Table]:
            for block in generate.blocks(inputs.plan).stream():
                if not head:
                    head.append(block.slice(0, PREVIEW_ROWS))
                yield block

        # streamed into the store block by block: the table is never whole in memory
        path, rows = inputs.store.write_stream(inputs.tier, (table.service, table.name), blocks(), arrow_schema(table))
        return None, {**materialization_metadata(table, head[0], rows), "dagster/uri": dg.MetadataValue.path(str(path))}

    spec = table_spec(table, group, deps=deps, metadata=definition_metadata(table))
    return table_step(spec, [c for c in checks_of(table) if c.runs_in_step], build, table)
