"""Where Dagster keeps run history: one instance shared by `crm-mock materialize` and the UI (`crm-mock dev`).

`DAGSTER_HOME` when it is set (the team's PostgreSQL-backed instance, docker/dagster.yaml); otherwise
`dagster_home/` under the directory the command runs in, beside `data/`, created on first use. CLI runs,
scheduled runs, sensor ticks and UI runs all land there, and survive a restart.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "DAGSTER_HOME"
LOCAL_HOME = "dagster_home"

# written once into a new project-local home; edit it there
LOCAL_INSTANCE_YAML = """\
# crm_mock's local Dagster instance (SQLite under this directory): the run history, schedules and sensor
# state shared by `crm-mock materialize` and `crm-mock dev`. Created by crm-mock; yours to edit.
telemetry:
  enabled: false
nux:
  enabled: false                    # no "join the community" dialog on first visit
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 2          # two tiers at once at most: each run is memory-bound
    tag_concurrency_limits:
      - key: dagster/partition
        value: stress
        limit: 1
    dequeue_interval_seconds: 1     # a run launched from the UI starts within a second, not five
retention:
  sensor:
    purge_after_days:
      skipped: 7                    # the consistency sensor skips every 5 minutes when nothing changed
      failure: 30
      success: -1
"""


def dagster_home(cwd: Path | None = None) -> Path:
    """The instance directory: $DAGSTER_HOME, else ./dagster_home (made absolute: Dagster requires it)."""
    configured = os.environ.get(HOME_ENV)
    if configured:
        return Path(configured)
    return (cwd or Path.cwd()).resolve() / LOCAL_HOME


def ensure_dagster_home(cwd: Path | None = None) -> Path:
    """Point DAGSTER_HOME at the shared instance, creating the project-local one on first use."""
    home = dagster_home(cwd)
    if not os.environ.get(HOME_ENV):
        home.mkdir(parents=True, exist_ok=True)
        config = home / "dagster.yaml"
        if not config.exists():
            config.write_text(LOCAL_INSTANCE_YAML, encoding="utf-8")
        os.environ[HOME_ENV] = str(home)
    return home
