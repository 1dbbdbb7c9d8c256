"""The consistency sensor: its cursor (pure), and the real `dagster-daemon` ticking it on SQLite and on
PostgreSQL instance storage while drift is planted and repaired between ticks."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import dagster as dg
import pytest

from crm_mock.sinks.databases import Unreachable
from crm_mock.consistency.results import RuleResult
from crm_mock.defs.consistency.checks import LIVE_CHECK_KEYS, LIVE_RULES, live_check_key
from crm_mock.defs.consistency.sensors import Cursor, plan_tick
from crm_mock_tests.conftest import TierRun, require_postgres
from crm_mock_tests.dagster_processes import Process, bin_path, module_workspace
from crm_mock_tests.dagster_processes import daemon as start_daemon

REPO = Path(__file__).resolve().parent.parent


def _results(failing: dict[str, tuple[str, ...]]) -> list[tuple]:
    """Every live rule passing except ``failing`` (check as "asset/key:name" -> offending UUIDs)."""
    out = []
    for rule in LIVE_RULES:
        sample = failing.get(live_check_key(rule).to_user_string(), ())
        out.append((rule, RuleResult(rule.name, rule.table.qualified_name, not sample, len(sample), sample)))
    return out


def test_the_cursor_asks_for_a_run_only_when_a_result_changes():
    replica = live_check_key(next(r for r in LIVE_RULES if r.name == "replica_in_sync")).to_user_string()
    first = plan_tick(Cursor(), {"smoke": _results({}), "staging": Unreachable("no staging")}, auto_repair=False)
    request, = first.run_requests  # first sight: every check of the reachable tier
    assert (request.partition_key, request.run_key) == ("smoke", "live-smoke-1")
    assert set(request.asset_check_keys) == set(LIVE_CHECK_KEYS)
    n = len(LIVE_RULES)
    assert first.lines == [f"smoke: all {n} rules pass ({n} changed)", "not loaded or unreachable: staging, load, stress"]

    same = plan_tick(Cursor.parse(first.cursor.dumps()), {"smoke": _results({})}, auto_repair=False)
    assert not same.run_requests and same.cursor.dumps() == first.cursor.dumps()

    drift = plan_tick(same.cursor, {"smoke": _results({replica: ("a1",)})}, auto_repair=True)
    live, repair = drift.run_requests
    assert [k.to_user_string() for k in live.asset_check_keys] == [replica] and live.run_key == "live-smoke-2"
    assert repair.job_name == "repropagate" and drift.cursor.changes == {"smoke": 2}
    assert drift.lines[0].startswith("smoke: 1 rule failing: live_replica_in_sync on ")

    other_rows = plan_tick(drift.cursor, {"smoke": _results({replica: ("a1", "a2")})}, auto_repair=False)
    assert other_rows.run_requests[0].run_key == "live-smoke-3"  # the same rule, other rows: a change
    back = plan_tick(other_rows.cursor, {"smoke": _results({replica: ("a1",)})}, auto_repair=False)
    assert back.run_requests[0].run_key == "live-smoke-4"  # back to an earlier state: still a new run
    # a tier that becomes unreachable keeps what was seen; nothing is asked for it
    gone = plan_tick(back.cursor, {"smoke": Unreachable("deleted")}, auto_repair=False)
    assert not gone.run_requests and gone.cursor.digests == back.cursor.digests


def test_a_cursor_of_another_layout_starts_afresh():
    assert Cursor.parse('{"version": 0, "tiers": {}}').digests == {}
    assert Cursor.parse(None).changes == {}


# --- the real daemon -------------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgres"])
def instance_home(request, tmp_path: Path):
    """A Dagster home on SQLite (the project-local configuration) or on PostgreSQL (docker/dagster.yaml)."""
    from crm_mock.instance import LOCAL_INSTANCE_YAML

    home = tmp_path / "dagster_home"
    home.mkdir()
    if request.param == "sqlite":
        (home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML)
        yield home, {}
        return
    require_postgres()
    import psycopg

    database = f"crm_mock_ui_daemon_{os.getpid()}"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {database}")
    shutil.copy(REPO / "docker" / "dagster.yaml", home / "dagster.yaml")
    try:
        yield home, {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": "5432", "DAGSTER_PG_USER": "postgres",
                     "DAGSTER_PG_PASSWORD": "", "DAGSTER_PG_DB": database}
    finally:
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def _ticks(instance: dg.DagsterInstance) -> list:
    states = [s for s in instance.all_instigator_state() if s.instigator_name == "service_consistency_sensor"]
    if not states:
        return []
    return list(reversed(instance.get_ticks(states[0].instigator_origin_id, states[0].selector_id, limit=100)))


def _latest_evaluations(instance: dg.DagsterInstance, ticks: list) -> dict[str, object]:
    """The newest stored evaluation of each live check for the smoke tier, from the runs the ticks launched."""
    latest: dict[str, object] = {}
    for tick in ticks:
        for run_id in tick.run_ids:
            run = instance.get_run_by_id(run_id)
            if run is None or run.status != dg.DagsterRunStatus.SUCCESS:
                continue
            records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
            for record in records:
                evaluation = record.event_log_entry.dagster_event.event_specific_data
                assert evaluation.partition == "smoke"
                latest[evaluation.asset_check_key.to_user_string()] = evaluation
    return latest


def _wait(condition, what: str, daemon: Process, timeout: float = 180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert daemon.alive, f"the daemon exited:\n{daemon.tail()}"
        found = condition()
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}; daemon log:\n{daemon.tail()}")


def test_the_daemon_reports_drift_planted_between_ticks(smoke_run: TierRun, tmp_path: Path, instance_home, monkeypatch):
    from crm_mock.defs.consistency.repair import repropagate_job
    from crm_mock.defs.resources import ScenarioResource, ServiceDatabaseResource, StorageResource
    from crm_mock_tests.test_live_consistency import EXPECTED_RULES, _tamper_sqlite

    home, instance_env = instance_home
    data_dir = tmp_path / "data"
    shutil.copytree(smoke_run.data_dir, data_dir)
    workspace = module_workspace(tmp_path)
    env = {**os.environ, **instance_env, "DAGSTER_HOME": str(home), "CRM_MOCK_DATA_DIR": str(data_dir),
           "CRM_MOCK_CONSISTENCY_INTERVAL_SECONDS": "3"}
    for variable in ("CRM_MOCK_DATABASE_URL", "CRM_MOCK_AUTO_REPROPAGATE", "CRM_MOCK_SCENARIO"):
        env.pop(variable, None)
    for name, value in instance_env.items():
        monkeypatch.setenv(name, value)
    started = subprocess.run([bin_path("dagster"), "sensor", "start", "service_consistency_sensor", "-w", str(workspace)],
                             env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert started.returncode == 0, started.stdout + started.stderr

    daemon = start_daemon(workspace, env, tmp_path / "daemon.log")
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        def settled(check):
            """``check`` holds for the latest results, and every launched run has finished."""
            ticks = _ticks(instance)
            runs = [instance.get_run_by_id(r) for t in ticks for r in t.run_ids]
            if any(r is None or not r.is_finished for r in runs):
                return None
            latest = _latest_evaluations(instance, ticks)
            return latest if check(latest) else None

        first = _wait(lambda: settled(lambda e: len(e) == len(LIVE_CHECK_KEYS)), "the first tick's run", daemon)
        assert all(e.passed for e in first.values())

        tampered = _tamper_sqlite(data_dir)
        expected = {name: f"{table.split('.')[0]}/{table.split('.')[1]}:live_{rule}"
                    for name, (rule, table) in EXPECTED_RULES.items()}

        def drift_reported(latest):
            return all(not latest[check].passed and tampered[name] in latest[check].metadata["sample"].value
                       for name, check in expected.items())

        _wait(lambda: settled(drift_reported), "the drift to be reported", daemon)
        drift_seen = len(_ticks(instance))
        quiet = _wait(lambda: [t for t in _ticks(instance)[drift_seen:] if t.skip_reason], "a quiet tick", daemon)
        # the four tamperings, and what they break beside the rule named for them (the ON_HOLD quota, the
        # references through the deleted replica row)
        assert "smoke: 9 rules failing: " in quiet[0].skip_reason and "live_replica_in_sync on " in quiet[0].skip_reason
        assert "(unchanged)" in quiet[0].skip_reason

        storage = StorageResource(data_dir=str(data_dir))
        assert repropagate_job({"storage": storage, "scenario": ScenarioResource(),
                                "databases": ServiceDatabaseResource(storage=storage)}) \
            .execute_in_process(run_config={"ops": {"repropagate_replicas": {"config": {"tier": "smoke"}}}}).success
        _wait(lambda: settled(lambda e: all(x.passed for x in e.values())), "the drift to clear", daemon)
    finally:
        daemon.stop()
    ticks = _ticks(instance)
    statuses = [t.status.value for t in ticks]
    assert "FAILURE" not in statuses, [t.error for t in ticks if t.error]
    assert statuses.count("SUCCESS") >= 3 and statuses.count("SKIPPED") >= 1, statuses
    runs = [instance.get_run_by_id(r) for t in ticks for r in t.run_ids]
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    assert {r.job_name for r in runs} == {"live_consistency"}
    instance.dispose()
