"""The one Dagster root: loads every definition under crm_mock/defs and applies cross-cutting policy once."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import dagster as dg
from dagster.components import load_defs

import crm_mock.defs
from crm_mock.defs.executors import (
    CELERY, EXECUTOR_ENV, MULTIPROCESS, CelerySettings, executor_choice, fork_server_start_method, process_count,
    shard_count,
)
from crm_mock.defs.resources import (
    DATA_DIR_ENV, DATABASE_URL_ENV, SCENARIO_ENV, SQLITE_UUID_STORAGE_ENV, resources_from_environment,
)
from crm_mock.generate.allocator import map_large_allocations
from crm_mock.scenario import ScenarioError, load_scenario

# partitioned asset checks are a preview feature in Dagster 1.13; we rely on them deliberately
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

__all__ = ["DATABASE_URL_ENV", "DATA_DIR_ENV", "EXECUTOR_ENV", "SCENARIO_ENV", "SQLITE_UUID_STORAGE_ENV", "defs"]

OWNER = "team:crm-mock"


def refuse_a_bad_scenario() -> None:
    """A scenario that does not validate stops the code location from loading, with the CLI's message:
    the UI shows it in the code location's status instead of a run failing step after step."""
    path = os.environ.get(SCENARIO_ENV) or None
    try:
        load_scenario(path)  # plans every tier
    except ScenarioError as exc:
        raise ScenarioError(f"{SCENARIO_ENV}={path}: {exc}") from None


def executor() -> dg.ExecutorDefinition:
    """Every step of a run in one process (the default): a step is seconds at most below the load tier, and a
    process per step (Dagster's default) costs more than the step, so the UI's runs take what the CLI's take.
    CRM_MOCK_EXECUTOR=multiprocess runs a process per step on this machine (with the big tables in shards, every
    core works); with CRM_MOCK_EXECUTOR=celery the steps go to Celery workers (see crm_mock/celery_worker.py)."""
    choice = executor_choice()
    processes = process_count()  # checked whatever the executor: a mistyped value is reported, never ignored
    if choice == MULTIPROCESS:  # a process per step, as many at once as CRM_MOCK_PROCESSES (default: the cores)
        return dg.multiprocess_executor.configured({"max_concurrent": processes,
                                                     "start_method": fork_server_start_method()})
    if choice != CELERY:
        return dg.in_process_executor
    # the optional [celery] extra: imported only by those who chose it
    from celery.exceptions import DuplicateTaskNameWarning
    from dagster_celery import celery_executor

    # dagster-celery registers its step task again for every step it sends, on the same app; Celery keeps the
    # first registration, the same function, and says so once per run: that note is not for our users
    warnings.filterwarnings("ignore", message="Task name 'execute_plan' is already registered",
                            category=DuplicateTaskNameWarning)
    return celery_executor.configured(CelerySettings.from_environment().executor_config())


# the definitions a step's process finds built (see crm_mock/step_server.py), with the environment they were
# built under: the same environment gives the same definitions
_prebuilt: tuple[dict[str, str], dg.Definitions] | None = None


def prebuild() -> None:
    """Build the definitions and the job every run executes, once, in the multiprocess executor's fork server."""
    global _prebuilt
    built = build_definitions()
    built.get_repository_def().get_all_jobs()  # resolved once, then cached on the definitions
    _prebuilt = (dict(os.environ), built)


@dg.definitions
def defs() -> dg.Definitions:
    if _prebuilt is not None and _prebuilt[0] == dict(os.environ):
        return _prebuilt[1]
    return build_definitions()


def build_definitions() -> dg.Definitions:
    refuse_a_bad_scenario()
    map_large_allocations()  # every process that runs steps loads these definitions (see crm_mock/generate/allocator.py)
    chosen = executor()  # a bad CRM_MOCK_EXECUTOR or CRM_MOCK_SHARDS is named here, before anything is built
    shard_count()
    loaded = load_defs(defs_root=crm_mock.defs, project_root=Path(__file__).resolve().parent.parent)
    owned = loaded.map_asset_specs(func=lambda spec: spec.replace_attributes(owners=[OWNER]))
    return dg.Definitions.merge(owned, dg.Definitions(resources=resources_from_environment(), executor=chosen))
