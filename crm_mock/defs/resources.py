"""External systems as configurable resources: where the scenario, the table store and the service
databases live. Embedded defaults need no configuration; the root binds them from the environment."""


import sqlite3
from collections.abc import Callable, Mapping
from contextlib import closing

import dagster as dg
import pyarrow as pa
from psycopg import sql as psycopg_sql
from pydantic import Field

from crm_mock.mapping.port import with_mapping
from crm_mock.model.ddl import UuidStorage
from crm_mock.scenario import TierPlan, load_scenario, plan_tier
from crm_mock.sinks.databases import ServiceDatabases, service_databases
from crm_mock.sinks.parquet import TableStore
from crm_mock.sinks.postgres import PostgresTarget, connect, load_service_postgres
from crm_mock.sinks.sqlite import BatchSource, load_service, sqlite_path


class ScenarioResource(dg.ConfigurableResource):
    """The scenario file to generate from; empty means the bundled default."""

    path: str = Field(default="", description="scenario YAML; empty for crm_mock/scenario/default.yaml")

    def plan(self, tier: str) -> TierPlan:
        return plan_tier(load_scenario(self.path or None), tier)


class StorageResource(dg.ConfigurableResource):
    """The local working directory: Parquet tables and the embedded service databases."""

    data_dir: str = Field(default="data", description="root of data/<tier>/…")

    def store(self) -> TableStore:
        return TableStore(self.data_dir)


class TableStoreIOManager(dg.ConfigurableIOManager):
    """Hands Arrow tables between assets through the table store (Parquet, one file per tier and table).

    An input may ask for a subset of columns with ``AssetIn(metadata={"columns": [...]})``.
    """

    storage: StorageResource

    def handle_output(self, context: dg.OutputContext, obj: pa.Table) -> None:
        path = self.storage.store().write(context.asset_partition_key, tuple(context.asset_key.path), obj)
        context.add_output_metadata({"dagster/uri": dg.MetadataValue.path(str(path))})

    def load_input(self, context: dg.InputContext) -> pa.Table:
        columns = (context.definition_metadata or {}).get("columns")
        return self.storage.store().read(context.asset_partition_key, tuple(context.asset_key.path), columns)


class ServiceDatabaseResource(dg.ConfigurableResource):
    """The service databases a tier is loaded into: PostgreSQL when ``database_url`` is set (a SQLAlchemy
    URL template with {tier} and {service}), else the embedded data/<tier>/<service>.sqlite."""

    storage: StorageResource
    database_url: str = Field(default="", description="from CRM_MOCK_DATABASE_URL; empty for SQLite")
    sqlite_uuid_storage: UuidStorage | None = Field(default=None, description=(
        "how SQLite stores UUIDs: text, hex or blob (from CRM_MOCK_SQLITE_UUID_STORAGE); unset for the "
        "scenario's ids.sqlite_uuid_storage"))
    mapping: str = Field(default="", description=(
        "mapping file(s) into the services' own tables (from CRM_MOCK_MAPPING; path-separated, a folder stands for "
        "its YAML files); empty: crm_mock's own tables"))

    def uuid_storage(self, plan: TierPlan) -> UuidStorage | None:
        """How the SQLite files store UUIDs (None on PostgreSQL, which has a uuid type)."""
        if self.database_url:
            return None
        return UuidStorage(self.sqlite_uuid_storage) if self.sqlite_uuid_storage else plan.sqlite_uuid_storage

    def port(self) -> ServiceDatabases:
        """The one database port, chosen from the configuration (through the mapping when there is one)."""
        return with_mapping(service_databases(self.database_url, self.storage.data_dir), self.mapping)

    def location(self, tier: str, service: str) -> str:
        """Where a service's tables are, fit to show: the password is never included."""
        if self.mapping:
            return self.port().location(tier, service)
        if self.database_url:
            target = PostgresTarget.resolve(self.database_url, tier, service)
            return f"{target.display} (schema {target.schema})"
        return str(sqlite_path(self.storage.data_dir, tier, service))

    def load(self, plan: TierPlan, service: str, sources: Mapping[str, BatchSource],
             notify: Callable[[str], None] | None = None) -> dict[str, int]:
        """``notify`` hears what the refresh kept of the service's own objects."""
        if self.mapping:
            return self.port().load(plan.tier, service, sources, self.uuid_storage(plan) or UuidStorage.TEXT, notify)
        if self.database_url:
            return load_service_postgres(self.database_url, plan.tier, service, sources, notify)
        return load_service(sqlite_path(self.storage.data_dir, plan.tier, service), service, sources,
                            self.uuid_storage(plan), notify)

    def count_rows(self, tier: str, service: str, table: str) -> int:
        if self.mapping:
            return self.port().count_rows(tier, service, table)
        if self.database_url:
            conn, schema = connect(self.database_url, tier, service)
            with conn:
                query = psycopg_sql.SQL("SELECT COUNT(*) FROM {}.{}").format(
                    psycopg_sql.Identifier(schema), psycopg_sql.Identifier(table))
                return conn.execute(query).fetchone()[0]
        path = sqlite_path(self.storage.data_dir, tier, service)
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
