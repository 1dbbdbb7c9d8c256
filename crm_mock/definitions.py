"""The one Dagster root: loads every definition under crm_mock/defs and applies cross-cutting policy once."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import dagster as dg
from dagster.components import load_defs

import crm_mock.defs
from crm_mock.defs.resources import ScenarioResource, ServiceDatabaseResource, StorageResource, TableStoreIOManager

# partitioned asset checks are a preview feature in Dagster 1.13; we rely on them deliberately
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

DATA_DIR_ENV = "CRM_MOCK_DATA_DIR"
DATABASE_URL_ENV = "CRM_MOCK_DATABASE_URL"
SCENARIO_ENV = "CRM_MOCK_SCENARIO"
SQLITE_UUID_STORAGE_ENV = "CRM_MOCK_SQLITE_UUID_STORAGE"
MAPPING_ENV = "CRM_MOCK_MAPPING"
OWNER = "team:crm-mock"


def resources() -> dict[str, object]:
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


@dg.definitions
def defs() -> dg.Definitions:
    loaded = load_defs(defs_root=crm_mock.defs, project_root=Path(__file__).resolve().parent.parent)
    owned = loaded.map_asset_specs(func=lambda spec: spec.replace_attributes(owners=[OWNER]))
    return dg.Definitions.merge(owned, dg.Definitions(resources=resources()))
