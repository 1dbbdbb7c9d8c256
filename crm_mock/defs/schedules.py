"""Scheduled refreshes: the staging tier, rebuilt on a cron the deployment chooses."""

import os

import dagster as dg

from crm_mock.defs.jobs import materialize_all
from crm_mock.defs.resources import REFERENCE_DATE_TAG

REFRESH_CRON_ENV = "CRM_MOCK_STAGING_REFRESH_CRON"
REFRESH_TIMEZONE_ENV = "CRM_MOCK_STAGING_REFRESH_TIMEZONE"


@dg.schedule(
    cron_schedule=os.environ.get(REFRESH_CRON_ENV) or "0 3 * * *",
    execution_timezone=os.environ.get(REFRESH_TIMEZONE_ENV) or "UTC",
    target=materialize_all, default_status=dg.DefaultScheduleStatus.STOPPED,
    description=f"Refresh the staging tier (cron from {REFRESH_CRON_ENV}, default 03:00; timezone from "
                f"{REFRESH_TIMEZONE_ENV}, default UTC). One run per tick: the run key is the tick's time.",
)
def staging_refresh_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    tick = context.scheduled_execution_time.isoformat()
    return dg.RunRequest(run_key=f"staging-refresh-{tick}", partition_key="staging",
                         tags={"crm_mock/trigger": "staging_refresh_schedule",
                               REFERENCE_DATE_TAG: context.scheduled_execution_time.date().isoformat()})


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(schedules=[staging_refresh_schedule])
