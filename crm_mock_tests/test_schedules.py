"""The staging refresh schedule, evaluated as the daemon would."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from crm_mock_tests.conftest import build_defs


def test_staging_refresh_requests_the_staging_partition_once_per_tick(tmp_path):
    defs = build_defs(tmp_path)
    schedule = defs.resolve_schedule_def("staging_refresh_schedule")
    assert schedule.cron_schedule == "0 3 * * *" and schedule.execution_timezone == "UTC"
    with dg.instance_for_test() as instance:
        ticks = [dt.datetime(2026, 11, 23, 3, tzinfo=dt.timezone.utc), dt.datetime(2026, 11, 24, 3, tzinfo=dt.timezone.utc)]
        requests = [schedule.evaluate_tick(dg.build_schedule_context(
            instance=instance, scheduled_execution_time=t, repository_def=defs.get_repository_def()))
                    .run_requests[0] for t in ticks]
    assert [r.partition_key for r in requests] == ["staging", "staging"]
    assert requests[0].run_key != requests[1].run_key
    assert requests[0].run_key == "staging-refresh-2026-11-23T03:00:00+00:00"


def test_the_cron_and_timezone_come_from_the_environment(tmp_path, monkeypatch):
    import importlib

    import crm_mock.defs.schedules as schedules

    monkeypatch.setenv("CRM_MOCK_STAGING_REFRESH_CRON", "30 1 * * 1-5")
    monkeypatch.setenv("CRM_MOCK_STAGING_REFRESH_TIMEZONE", "Europe/Berlin")
    reloaded = importlib.reload(schedules)
    try:
        assert reloaded.staging_refresh_schedule.cron_schedule == "30 1 * * 1-5"
        assert reloaded.staging_refresh_schedule.execution_timezone == "Europe/Berlin"
    finally:
        monkeypatch.undo()
        importlib.reload(schedules)
