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
from crm_mock.sinks.parquet import TableStore


def generated_table_deps(table: Table) -> list[dg.AssetKey]:
    """What a generated table is drawn from, for lineage and order (the generators read only the plan)."""
    entity = entity_of(table)
    deps = ([id_map_key(entity)] if entity in ENTITY_COUNTS else []) + [table_key(t) for t in upstream_tables(table)]
    deps += [dg.AssetKey(list(path)) for path in synced_sources(table)]
    deps += [dg.AssetKey(["edge_cases", theme]) for theme in THEMES if table.qualified_name in theme_tables(theme)]
    return deps


def streamed_metadata(table: Table, path: Path, rows: int, head: pa.Table) -> dict:
    return {**materialization_metadata(table, head, rows), "dagster/uri": dg.MetadataValue.path(str(path))}


def stream_into_store(store: TableStore, tier: str, key: tuple[str, ...], table: Table,
                      blocks: Iterator[pa.Table]) -> tuple[Path, int, pa.Table]:
    """Write ``blocks`` as the file of ``key``, never whole in memory; returns (path, rows, the first rows for
    the preview)."""
    head: list[pa.Table] = []

    def kept(pieces: Iterator[pa.Table]) -> Iterator[pa.Table]:
        for piece in pieces:
            if not head:
                head.append(piece.slice(0, PREVIEW_ROWS))
            yield piece

    schema = arrow_schema(table)
    path, rows = store.write_stream(tier, key, kept(blocks), schema)
    return path, rows, head[0] if head else schema.empty_table()


def generated_table_asset(qualified_name: str, group: str) -> dg.AssetsDefinition:
    table = CATALOG[qualified_name]
    generate = GENERATORS[qualified_name]
    deps = generated_table_deps(table)

    def build(context: dg.AssetExecutionContext, inputs: CheckInputs):
        path, rows, head = stream_into_store(inputs.store, inputs.tier, (table.service, table.name), table,
                                             generate.blocks(inputs.plan).stream())
        return streamed_metadata(table, path, rows, head)

    spec = table_spec(table, group, deps=deps, metadata=definition_metadata(table))
    return table_step(spec, [c for c in checks_of(table) if c.runs_in_step], build, table)
