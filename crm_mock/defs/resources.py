"""External systems as configurable resources: where the scenario, the table store and the service
databases live. Embedded defaults need no configuration; the root binds them from the environment."""


import datetime as dt
import functools
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import dagster as dg
import pyarrow as pa
from pydantic import Field, PrivateAttr

from crm_mock.generate.memo import forget_plans, share_plans_through
from crm_mock.mapping.port import with_mapping
from crm_mock.model.ddl import UuidStorage
from crm_mock.scenario import DEFAULT_SCENARIO, Scenario, TierPlan, load_scenario, plan_tier
from crm_mock.scenario import utc_today
from crm_mock.sinks.databases import ServiceDatabases, service_databases
from crm_mock.sinks.parquet import TableStore
from crm_mock.sinks.sqlite import BatchSource

DATA_DIR_ENV = "CRM_MOCK_DATA_DIR"
DATABASE_URL_ENV = "CRM_MOCK_DATABASE_URL"
SCENARIO_ENV = "CRM_MOCK_SCENARIO"
SQLITE_UUID_STORAGE_ENV = "CRM_MOCK_SQLITE_UUID_STORAGE"
MAPPING_ENV = "CRM_MOCK_MAPPING"  # mapping file(s) into the services' own tables (crm_mock.mapping)

# the day `reference_date: today` means for a run (the staging schedule sets it to its tick's date)
REFERENCE_DATE_TAG = "crm_mock/reference_date"
# the tier that takes hours and tens of gigabytes: a run must say it means it
GUARDED_TIER = "stress"
CONFIRM_TAG = "crm_mock/confirm_tier"


def release_memory() -> None:
    """Steps share one process under the in-process executor: hand the Arrow buffers earlier steps freed
    back to the system before reading or writing the next table, so the peak is the largest step, not the
    sum of them. (No gc.collect: with Dagster loaded a full collection costs ~0.3 s, and tables are freed
    by reference counting.)"""
    pa.default_memory_pool().release_unused()


@functools.lru_cache(maxsize=8)
def _scenario(path: str, modified_ns: int, today: dt.date) -> Scenario:
    return load_scenario(path, today=today)


def cached_scenario(path: str | None, today: dt.date) -> Scenario:
    """Parsed once per file version and day (`reference_date: today`): every step asks for its tier's plan."""
    resolved = Path(path) if path else DEFAULT_SCENARIO
    modified = resolved.stat().st_mtime_ns if resolved.is_file() else -1
    return _scenario(str(resolved), modified, today)


class ScenarioResource(dg.ConfigurableResource):
    """The scenario file to generate from; empty means the bundled default."""

    path: str = Field(default="", description="scenario YAML; empty for crm_mock/scenario/default.yaml")
    _today: dt.date | None = PrivateAttr(default=None)

    def plan(self, tier: str) -> TierPlan:
        return plan_tier(cached_scenario(self.path or None, self._today or utc_today()), tier)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Fix once per run what `reference_date: today` means (the run's tag, set by the staging schedule to
        its tick's date, else the UTC date the run started), so every step plans the same day. Then refuse
        the run before its first step: a scenario that does not validate (the CLI's message), or the stress
        tier without the confirming tag."""
        run = context.run
        tag = run.tags.get(REFERENCE_DATE_TAG) if run else None
        self._today = dt.date.fromisoformat(tag) if tag else utc_today()
        tier = run.tags.get("dagster/partition") if run else None
        if tier is None:
            return
        self.plan(tier)  # raises ScenarioError naming the field
        if tier == GUARDED_TIER and run.tags.get(CONFIRM_TAG) != GUARDED_TIER:
            raise dg.Failure(
                description=f"The {GUARDED_TIER} tier is 1000× staging (hours, tens of GB): refused without "
                            f"confirmation. Launch it again with the run tag {CONFIRM_TAG}={GUARDED_TIER} "
                            f"(launchpad → Tags), or `crm-mock materialize --tier {GUARDED_TIER}`.")


class StorageResource(dg.ConfigurableResource):
    """The local working directory: Parquet tables, the embedded service databases, and the plans the run's
    steps share (data/plans: each built once per run, not once per step's process; safe to delete)."""

    data_dir: str = Field(default="data", description="root of data/<tier>/…")

    def store(self) -> TableStore:
        return TableStore(self.data_dir)

    def plans_dir(self) -> Path:
        return Path(self.data_dir) / "plans"

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        share_plans_through(self.plans_dir())

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        share_plans_through(None)


class TableStoreIOManager(dg.ConfigurableIOManager):
    """Hands Arrow tables between assets through the table store (Parquet, one file per tier and table).

    An input may ask for a subset of columns with ``AssetIn(metadata={"columns": [...]})``.
    """

    storage: StorageResource

    def handle_output(self, context: dg.OutputContext, obj: pa.Table | None) -> None:
        if obj is None:  # the step streamed the table into the store itself
            return
        path = self.storage.store().write(context.asset_partition_key, tuple(context.asset_key.path), obj)
        context.add_output_metadata({"dagster/uri": dg.MetadataValue.path(str(path))})
        release_memory()

    def load_input(self, context: dg.InputContext) -> pa.Table:
        release_memory()
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
        return self.port().location(tier, service)

    def load(self, plan: TierPlan, service: str, sources: Mapping[str, BatchSource],
             notify: Callable[[str], None] | None = None) -> dict[str, int]:
        """``notify`` hears what the refresh kept of the service's own objects."""
        forget_plans()  # a load reads the store only: the generators' plans make room for the database's cache
        release_memory()
        return self.port().load(plan.tier, service, sources, self.uuid_storage(plan) or UuidStorage.TEXT, notify)

    def count_rows(self, tier: str, service: str, table: str) -> int:
        return self.port().count_rows(tier, service, table)


def resources_from_environment() -> dict[str, object]:
    """Embedded defaults, overridden from the environment (read when the code location loads)."""
    storage = StorageResource(data_dir=os.environ.get(DATA_DIR_ENV) or "data")
    return {
        "scenario": ScenarioResource(path=os.environ.get(SCENARIO_ENV) or ""),
        "storage": storage,
        "table_io_manager": TableStoreIOManager(storage=storage),
        # the URL may carry a password: bound as an EnvVar, so the UI shows the variable, not its value
        "databases": ServiceDatabaseResource(
            storage=storage, database_url=dg.EnvVar(DATABASE_URL_ENV) if os.environ.get(DATABASE_URL_ENV) else "",
            sqlite_uuid_storage=os.environ.get(SQLITE_UUID_STORAGE_ENV) or None,
            mapping=os.environ.get(MAPPING_ENV) or ""),
    }
