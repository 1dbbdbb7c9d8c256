"""The asset factory for tables built by a pure generator (masters, transactions, owned replicas)."""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pyarrow as pa

from crm_mock.defs.check_registry import checks_of
from crm_mock.defs.checks import CheckInputs, table_step
from crm_mock.defs.metadata import PREVIEW_ROWS, definition_metadata, materialization_metadata, table_spec
from crm_mock.defs.tables import id_map_key, table_key
from crm_mock.edge_cases import THEMES, theme_tables
from crm_mock.generate import ENTITY_COUNTS, GENERATORS
from crm_mock.model import CATALOG, Table
from crm_mock.model.ddl import arrow_schema
from crm_mock.model.lineage import entity_of, synced_sources, upstream_tables


def generated_table_deps(table: Table) -> list[dg.AssetKey]:
    """What a generated table is drawn from, for lineage and order (the generators read only the plan)."""
    entity = entity_of(table)
    deps = ([id_map_key(entity)] if entity in ENTITY_COUNTS else []) + [table_key(t) for t in upstream_tables(table)]
    deps += [dg.AssetKey(list(path)) for path in synced_sources(table)]
    deps += [dg.AssetKey(["edge_cases", theme]) for theme in THEMES if table.qualified_name in theme_tables(theme)]
    return deps


def streamed_metadata(table: Table, path: Path, rows: int, head: pa.Table) -> dict:
    return {**materialization_metadata(table, head, rows), "dagster/uri": dg.MetadataValue.path(str(path))}


def with_head(blocks: Iterator[pa.Table], head: list[pa.Table]) -> Iterator[pa.Table]:
    """``blocks`` passed through; the first rows are kept in ``head`` for the preview."""
    for block in blocks:
        if not head:
            head.append(block.slice(0, PREVIEW_ROWS))
        yield block


def generated_table_asset(qualified_name: str, group: str) -> dg.AssetsDefinition:
    table = CATALOG[qualified_name]
    generate = GENERATORS[qualified_name]
    deps = generated_table_deps(table)

    def build(context: dg.AssetExecutionContext, inputs: CheckInputs):
        head: list[pa.Table] = []
        # streamed into the store block by block: the table is never whole in memory
        path, rows = inputs.store.write_stream(inputs.tier, (table.service, table.name),
                                               with_head(generate.blocks(inputs.plan).stream(), head),
                                               arrow_schema(table))
        return None, streamed_metadata(table, path, rows, head[0] if head else arrow_schema(table).empty_table())

    spec = table_spec(table, group, deps=deps, metadata=definition_metadata(table))
    return table_step(spec, [c for c in checks_of(table) if c.runs_in_step], build, table)
