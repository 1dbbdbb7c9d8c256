"""Where each column's values come from, derived from keys and replica mappings (for column lineage)."""

from __future__ import annotations

from crm_mock.model.catalog import CATALOG
from crm_mock.model.schema import Table

ID_MAP_GROUP = "id_maps"


def entity_of(table: Table) -> str | None:
    """The entity a master table's single UUID key names ("accounts" -> "account"), if it has one."""
    if table.is_replica or len(table.primary_key) != 1:
        return None
    return table.primary_key[0].removesuffix("_uuid")


def column_sources(table: Table) -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """column -> [(source asset key path, source column)]."""
    sources: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for column in table.columns:
        if column.synced_from:
            key, source_column = column.synced_from
            sources[column.name] = [(tuple(key.split("/")), source_column)]
    if table.replica_of:
        master = CATALOG[table.replica_of.master]
        for name in (master.primary_key[0], *table.replica_of.columns):
            sources[name] = [((master.service, master.name), name)]
        return sources
    entity = entity_of(table)
    if entity:
        sources[table.primary_key[0]] = [((ID_MAP_GROUP, entity), table.primary_key[0])]
    for reference in CATALOG.references(table):
        source = reference.resolving_table
        if source.qualified_name != table.qualified_name:
            sources[reference.column.name] = [((source.service, source.name), reference.target_key)]
    return sources


def synced_sources(table: Table) -> list[tuple[str, ...]]:
    """Asset key paths of records other services own that some of this table's columns copy."""
    return sorted({tuple(c.synced_from[0].split("/")) for c in table.columns if c.synced_from})


def upstream_tables(table: Table) -> list[Table]:
    """The tables a table's rows point at, as its service resolves them: a replica inside the service
    (so a broken replica blocks what builds on it), the master for cross-service references."""
    seen: dict[str, Table] = {}
    if table.replica_of:
        master = CATALOG[table.replica_of.master]
        seen[master.qualified_name] = master
    for reference in CATALOG.references(table):
        source = reference.resolving_table
        if source.qualified_name != table.qualified_name:
            seen.setdefault(source.qualified_name, source)
    return list(seen.values())
