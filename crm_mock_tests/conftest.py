"""Shared fixtures: a materialised smoke tier in a temporary directory, built once per session."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

warnings.filterwarnings("ignore", category=dg.PreviewWarning)


@pytest.fixture(scope="session", autouse=True)
def _dagster_home(tmp_path_factory: pytest.TempPathFactory):
    """The CLI records its runs in $DAGSTER_HOME (else ./dagster_home): tests keep theirs apart."""
    home = tmp_path_factory.mktemp("dagster_home")
    saved = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    yield home
    if saved is None:
        os.environ.pop("DAGSTER_HOME", None)
    else:
        os.environ["DAGSTER_HOME"] = saved


@dataclass
class TierRun:
    data_dir: Path
    tier: str
    result: dg.ExecuteInProcessResult

    def sqlite(self, service: str) -> Path:
        return self.data_dir / self.tier / f"{service}.sqlite"


def build_defs(data_dir: Path, scenario: Path | None = None) -> dg.Definitions:
    """The project's definitions, configured the way a deployment would be: through the environment."""
    from crm_mock.definitions import DATA_DIR_ENV, SCENARIO_ENV, defs

    saved = {k: os.environ.get(k) for k in (DATA_DIR_ENV, SCENARIO_ENV)}
    os.environ[DATA_DIR_ENV] = str(data_dir)
    os.environ[SCENARIO_ENV] = str(scenario or "")
    try:
        return defs()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def materialize_tier(data_dir: Path, tier: str = "smoke", scenario: Path | None = None,
                     selection: dg.AssetSelection | None = None, raise_on_error: bool = True) -> TierRun:
    definitions = build_defs(data_dir, scenario)
    graph = definitions.resolve_asset_graph()
    selection = selection or dg.AssetSelection.all()
    assets = [a for a in definitions.assets]
    checks = [c for c in definitions.asset_checks]
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [*assets, *checks], selection=selection, partition_key=tier, instance=instance,
            resources=definitions.resources, raise_on_error=raise_on_error,
        )
    assert graph  # the graph resolved, so selection strings refer to real keys
    return TierRun(data_dir, tier, result)


def run_checks(data_dir: Path, checks: list[dg.AssetCheckKey], tier: str = "smoke") -> dg.ExecuteInProcessResult:
    """Re-run only some checks against what is already in ``data_dir`` (no asset is rebuilt)."""
    # Dagster 1.13 cannot partition a job made of checks alone; an id map (cheap, and read by no
    # check) rides along so the job has the tier partitions
    anchor = dg.AssetSelection.assets(dg.AssetKey(["id_maps", "warehouse"])).without_checks()
    job = dg.define_asset_job("rerun_checks", selection=dg.AssetSelection.checks(*checks) | anchor)
    definitions = dg.Definitions.merge(build_defs(data_dir), dg.Definitions(jobs=[job]))
    with dg.instance_for_test() as instance:
        return definitions.resolve_job_def("rerun_checks").execute_in_process(
            partition_key=tier, instance=instance, raise_on_error=False)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> TierRun:
    return materialize_tier(tmp_path_factory.mktemp("smoke") / "data")


def reload_sqlite(run: TierRun, data_dir: Path, uuid_storage: dict[str, str] | str) -> TierRun:
    """The run's tier loaded again from its table store into SQLite files storing UUIDs as ``uuid_storage``
    (one setting, or one per service), with its edge-case manifest: another storage without regenerating."""
    import shutil
    from functools import partial

    from crm_mock.model import CATALOG, SERVICES
    from crm_mock.model.ddl import UuidStorage
    from crm_mock.sinks.manifest import manifest_path
    from crm_mock.sinks.parquet import TableStore
    from crm_mock.sinks.sqlite import load_service, sqlite_path

    store = TableStore(run.data_dir)
    for service in SERVICES:
        storage = UuidStorage(uuid_storage if isinstance(uuid_storage, str) else uuid_storage[service])
        load_service(sqlite_path(data_dir, run.tier, service), service, {
            t.name: partial(store.model_batches, run.tier, t.qualified_name) for t in CATALOG.service_tables(service)},
            storage)
    shutil.copy(manifest_path(run.data_dir, run.tier), manifest_path(data_dir, run.tier))
    return TierRun(data_dir, run.tier, run.result)


POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{database}"


def require_postgres() -> None:
    """Tests that use PostgreSQL use the real server; unreachable is a skip on a laptop, a failure in CI."""
    import psycopg

    try:
        psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3").close()
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is unreachable under CI: {exc}")
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is unreachable: {exc}")


@pytest.fixture(scope="session")
def smoke_tier(smoke_run: TierRun, tmp_path_factory: pytest.TempPathFactory):
    """The smoke tier as every source the rule registry runs on, clean or corrupted (see rule_sources)."""
    from crm_mock.scenario import load_scenario, plan_tier
    from crm_mock_tests.rule_sources import SmokeTier

    tier = SmokeTier(smoke_run.data_dir, plan_tier(load_scenario(), smoke_run.tier), tmp_path_factory.mktemp("rules"))
    yield tier
    tier.close()


@pytest.fixture(params=["store", "sqlite", "postgresql"])
def on(request: pytest.FixtureRequest, smoke_tier):
    """Each source kind in turn, to run a rule on with some tables of the smoke tier corrupted."""
    from crm_mock_tests.rule_sources import On

    if request.param == "postgresql":
        require_postgres()
    return On(smoke_tier, request.param)


def drop_test_databases(prefix: str) -> None:
    """The databases of a test module that a previous run left behind (perhaps with another version's tables):
    a module starts from none. Only names under the module's own ``crm_mock_…`` prefix are touched."""
    import psycopg

    assert prefix.startswith("crm_mock_") and len(prefix) > len("crm_mock_"), prefix
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True) as admin:
        names = [n for (n,) in admin.execute("SELECT datname FROM pg_database WHERE starts_with(datname, %s)",
                                              (prefix,))]
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
