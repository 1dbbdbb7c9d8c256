"""Which model tables the graph produces, and the asset key of each (keys mirror the physical location)."""

import functools

import dagster as dg

from crm_mock.generate import GENERATORS
from crm_mock.model import CATALOG, Table
from crm_mock.model.lineage import ID_MAP_GROUP, upstream_tables


def table_key(table: Table | str) -> dg.AssetKey:
    table = CATALOG[table] if isinstance(table, str) else table
    return dg.AssetKey([table.service, table.name])


def id_map_key(entity: str) -> dg.AssetKey:
    return dg.AssetKey([ID_MAP_GROUP, entity])


def database_key(service: str) -> dg.AssetKey:
    return dg.AssetKey([service, "database"])


def replicas() -> list[Table]:
    return [t for t in CATALOG if t.replica_of]


def plain_replicas() -> list[Table]:
    """Replicas that are straight copies of their master (those with columns of their own are built apart)."""
    return [t for t in CATALOG if t.replica_of and not t.owned_columns]


def produced_tables() -> list[Table]:
    return [CATALOG[name] for name in GENERATORS] + plain_replicas()


@functools.cache
def ancestors(table: Table) -> frozenset[str]:
    """Every model table built before ``table`` in the graph (its upstream tables, transitively)."""
    found: set[str] = set()
    for parent in upstream_tables(table):
        found |= {parent.qualified_name, *ancestors(parent)}
    return frozenset(found)
