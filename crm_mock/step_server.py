"""The module the multiprocess executor's fork server preloads (see `fork_server_start_method` in
crm_mock/defs/executors.py). Each step's process is a fork of that server, so what is loaded here once per run
is not loaded again per step: Dagster and crm_mock (3 s to import here), the definitions and jobs (1.5 s to
build), the modules of the run's Dagster instance (its storages, SQLAlchemy and Alembic: about 2 s, which
Dagster imports only when a process first opens the instance), pandas and pyarrow's dataset module (which
our steps import when they first need them) and the scenario's Faker value pools (2 s, used by every step that
writes names).

Nothing else imports it: in any other process it would only load all that once more.
"""

from __future__ import annotations

import os

import dagster as dg
import pandas  # noqa: F401 - imported lazily by the steps that rank, profile or check (1 s)
import pyarrow.dataset  # noqa: F401 - likewise, by the steps that read the table store

from crm_mock.definitions import prebuild
from crm_mock.defs.resources import SCENARIO_ENV
from crm_mock.generate.pools import locale_pools
from crm_mock.instance import HOME_ENV
from crm_mock.scenario import load_scenario

prebuild()
locale_pools(load_scenario(os.environ.get(SCENARIO_ENV) or None).seed)
if os.environ.get(HOME_ENV):
    with dg.DagsterInstance.get():  # opened and closed: only the modules it loads stay
        pass
