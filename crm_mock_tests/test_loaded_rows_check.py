"""The database step's own check: every loaded table has exactly its table-store rows (counted from the
Parquet footer, so the check costs nothing at the stress tier)."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing

from crm_mock.defs.checks import CheckInputs
from crm_mock.defs.resources import ScenarioResource, ServiceDatabaseResource, StorageResource
from crm_mock.defs.service_dbs.assets import tables_by_service
from crm_mock.defs.service_dbs.checks import LoadedRowsCheck
from crm_mock_tests.conftest import TierRun


def _evaluate(run: TierRun, data_dir) -> object:
    storage = StorageResource(data_dir=str(data_dir))
    inputs = CheckInputs(run.tier, storage.store(), ScenarioResource(), ServiceDatabaseResource(storage=storage))
    return LoadedRowsCheck("support", tuple(tables_by_service()["support"])).evaluate(inputs)


def test_rows_match_the_store_and_a_missing_row_is_named(smoke_run: TierRun, tmp_path):
    shutil.copytree(smoke_run.data_dir / smoke_run.tier, tmp_path / smoke_run.tier)
    assert _evaluate(smoke_run, tmp_path).passed
    with closing(sqlite3.connect(tmp_path / smoke_run.tier / "support.sqlite")) as conn:
        expected = conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0]
        conn.execute("DELETE FROM tickets WHERE rowid = (SELECT MIN(rowid) FROM tickets)")
        conn.commit()
    result = _evaluate(smoke_run, tmp_path)
    assert not result.passed
    assert f"tickets: {expected - 1} rows loaded, {expected} materialised" in str(result.metadata), result.metadata
