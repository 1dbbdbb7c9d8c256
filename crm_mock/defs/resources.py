"""External systems as configurable resources: where the scenario, the table store and the service
databases live. Embedded defaults need no configuration; the root binds them from the environment."""


from collections.abc import Mapping
from pathlib import Path

import dagster as dg
import pyarrow as pa
from pydantic import Field

from crm_mock.scenario import TierPlan, load_scenario, plan_tier
from crm_mock.sinks.parquet import TableStore
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
    """The service databases a tier is loaded into (embedded: data/<tier>/<service>.sqlite)."""

    storage: StorageResource

    def location(self, tier: str, service: str) -> str:
        return str(sqlite_path(self.storage.data_dir, tier, service))

    def load(self, tier: str, service: str, sources: Mapping[str, BatchSource]) -> dict[str, int]:
        return load_service(Path(self.location(tier, service)), service, sources)
