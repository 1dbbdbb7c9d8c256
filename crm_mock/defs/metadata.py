"""Metadata every table asset reports, derived from the data model."""


import dagster as dg
import pyarrow as pa

from crm_mock.defs.partitions import TIER_PARTITIONS
from crm_mock.defs.tables import table_key
from crm_mock.model import Kind, Table
from crm_mock.model.lineage import column_sources

PREVIEW_ROWS = 5


def _type_name(table: Table, name: str) -> str:
    column = table.column(name)
    if column.kind in (Kind.TEXT, Kind.CODE):
        return f"varchar({column.max_length})"
    return {Kind.UUID: "uuid", Kind.INTEGER: "bigint", Kind.MONEY: "numeric(12,2)", Kind.DATE: "date",
            Kind.TIMESTAMP: "timestamptz"}[column.kind]


def _derived_from(table: Table) -> dict[str, str]:
    """column -> "contact/accounts.name, …": where its values come from, readable in the open-source UI
    (which does not draw `dagster/column_lineage`)."""
    return {column: ", ".join(f"{'/'.join(key)}.{source}" for key, source in deps)
            for column, deps in column_sources(table).items()}


def column_schema(table: Table) -> dg.TableSchema:
    columns = []
    single_key = table.primary_key[0] if len(table.primary_key) == 1 else None
    derived = _derived_from(table)
    for c in table.columns:
        other = []
        if c.name in table.primary_key:
            other.append("primary key" if single_key else f"primary key ({', '.join(table.primary_key)})")
        if c.references:
            other.append(f"references {c.references}")
        if c.vocabulary:
            other.append("one of " + ", ".join(c.vocabulary))
        if c.name in table.owned_columns:
            other.append(f"owned by {table.service}")
        origin = f"← {derived[c.name]}" if c.name in derived else ""
        description = " ".join(part for part in (c.description, origin) if part)
        columns.append(dg.TableColumn(
            c.name, _type_name(table, c.name), description=description or None,
            constraints=dg.TableColumnConstraints(nullable=c.nullable, unique=c.name == single_key or c.unique,
                                                  other=other),
        ))
    return dg.TableSchema(columns=columns)


def column_lineage(table: Table) -> dg.TableColumnLineage:
    return dg.TableColumnLineage(deps_by_column={
        column: [dg.TableColumnDep(asset_key=dg.AssetKey(list(key)), column_name=source) for key, source in deps]
        for column, deps in column_sources(table).items()
    })


def definition_metadata(table: Table) -> dict:
    """Known before anything runs: shown in the UI on the asset's page."""
    return {
        "dagster/column_schema": column_schema(table),
        "dagster/table_name": table.qualified_name,
        "service": table.service,
        "column_lineage": lineage_table(table),
    }


def preview(data: pa.Table) -> dg.MetadataValue:
    return dg.MetadataValue.md(data.slice(0, PREVIEW_ROWS).to_pandas().to_markdown(index=False))


def lineage_table(table: Table) -> dg.MetadataValue:
    """Column lineage as a table the open-source UI shows: each column and the asset column it comes from."""
    derived = _derived_from(table)
    rows = [f"| {c} | {derived[c]} |" for c in table.column_names if c in derived]
    if not rows:
        return dg.MetadataValue.md("Every column is generated here.")
    return dg.MetadataValue.md("\n".join(["| column | derived from |", "|---|---|", *rows]))


def materialization_metadata(table: Table, data: pa.Table, row_count: int | None = None) -> dict:
    """``data`` may be only the first rows when the table was streamed (then ``row_count`` counts them all)."""
    return {
        "dagster/row_count": data.num_rows if row_count is None else row_count,
        "dagster/column_schema": column_schema(table),
        "dagster/column_lineage": column_lineage(table),
        "column_lineage": lineage_table(table),
        "preview": preview(data),
    }


def table_spec(table: Table, group: str, deps: list, metadata: dict) -> dg.AssetSpec:
    """A table asset as the graph shows it: the service as a kind beside the storage, so every node says
    whose table it is without hovering (nodes show only the last part of the key)."""
    return dg.AssetSpec(
        table_key(table), group_name=group, deps=deps, description=table.description, metadata=metadata,
        kinds={"parquet", table.service}, tags={"service": table.service}, partitions_def=TIER_PARTITIONS,
    ).with_io_manager_key("table_io_manager")
