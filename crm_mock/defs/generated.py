"""The asset factory for tables built by a pure generator (masters, transactions, owned replicas)."""

import dagster as dg

from crm_mock.defs.check_registry import checks_of
from crm_mock.defs.checks import CheckInputs, table_step
from crm_mock.defs.metadata import definition_metadata, materialization_metadata, table_spec
from crm_mock.defs.tables import id_map_key, table_key
from crm_mock.edge_cases import THEMES, theme_tables
from crm_mock.generate import ENTITY_COUNTS, GENERATORS
from crm_mock.model import CATALOG
from crm_mock.model.lineage import entity_of, synced_sources, upstream_tables


def generated_table_asset(qualified_name: str, group: str) -> dg.AssetsDefinition:
    table = CATALOG[qualified_name]
    generate = GENERATORS[qualified_name]
    entity = entity_of(table)
    deps = ([id_map_key(entity)] if entity in ENTITY_COUNTS else []) + [table_key(t) for t in upstream_tables(table)]
    deps += [dg.AssetKey(list(path)) for path in synced_sources(table)]
    deps += [dg.AssetKey(["edge_cases", theme]) for theme in THEMES if qualified_name in theme_tables(theme)]

    def build(context: dg.AssetExecutionContext, inputs: CheckInputs):
        data = generate(inputs.plan)
        return data, materialization_metadata(table, data)

    spec = table_spec(table, group, deps=deps, metadata=definition_metadata(table))
    return table_step(spec, [c for c in checks_of(table) if c.runs_in_step], build, table)
