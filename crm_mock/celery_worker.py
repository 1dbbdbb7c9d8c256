"""The Celery app crm_mock's workers run, for runs made with CRM_MOCK_EXECUTOR=celery:

    celery -A crm_mock.celery_worker worker -Q "${CRM_MOCK_CELERY_QUEUE:-dagster}" -c 1 -n crm_mock_1@%h

dagster-celery's own app (`dagster_celery.app`) takes its broker from a generated settings module; this one is
built the way the executor builds its app, from the same variables (CRM_MOCK_CELERY_BROKER and
CRM_MOCK_CELERY_QUEUE), so the broker's password stays in the environment. Each task runs one step of a run:
the worker loads crm_mock's definitions, reads the run from the Dagster instance ($DAGSTER_HOME, which must
be the PostgreSQL-backed one every machine shares) and the step's inputs from the table store, which must be
the same directory (or shared mount) on every machine. See the README, "Running on Celery workers".
"""

from __future__ import annotations

import os

from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

import crm_mock.definitions  # noqa: F401 - imported once here, before the pool forks: not again per child
from crm_mock.defs.executors import CELERY, EXECUTOR_ENV, CelerySettings

# the steps belong to runs of the celery-configured job: load the same definitions the run was planned with
os.environ.setdefault(EXECUTOR_ENV, CELERY)

settings = CelerySettings.from_environment()
app = make_app(CeleryExecutor.for_cli(broker=settings.broker,
                                      config_source={"task_default_queue": settings.queue}).app_args())
execute_plan = create_task(app)
