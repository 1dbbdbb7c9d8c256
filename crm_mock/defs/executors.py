"""Where a run's steps execute: in the run's own process (the default), in a process per step on this machine,
or on Celery workers (dagster-celery); and how many shard steps the big tables are cut into.

Only the choice and its settings live here, read from the environment; the root (definitions.py) builds the
executor, and crm_mock/celery_worker.py is the app the workers run. dagster-celery is an optional extra
(`pip install 'crm_mock[celery]'`), so nothing here imports it.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
from dataclasses import dataclass

from kombu import Connection
from kombu.utils.url import maybe_sanitize_url, url_to_parts

EXECUTOR_ENV = "CRM_MOCK_EXECUTOR"
CELERY_BROKER_ENV = "CRM_MOCK_CELERY_BROKER"
CELERY_QUEUE_ENV = "CRM_MOCK_CELERY_QUEUE"

SHARDS_ENV = "CRM_MOCK_SHARDS"
PROCESSES_ENV = "CRM_MOCK_PROCESSES"

IN_PROCESS, MULTIPROCESS, CELERY = "in_process", "multiprocess", "celery"
EXECUTORS = (IN_PROCESS, MULTIPROCESS, CELERY)
# RabbitMQ's own default account on this machine; anything else comes from CRM_MOCK_CELERY_BROKER
DEFAULT_BROKER = "amqp://guest@127.0.0.1:5672//"
DEFAULT_QUEUE = "dagster"  # dagster-celery's own default queue


# what the fork server of the multiprocess executor preloads: crm_mock's definitions, built
STEP_SERVER_MODULE = "crm_mock.step_server"
_environment_of_fork_server: dict[str, str] | None = None


class ExecutorChoiceError(ValueError):
    pass


def executor_choice() -> str:
    """in_process or celery, from CRM_MOCK_EXECUTOR (unset or empty: in_process)."""
    choice = (os.environ.get(EXECUTOR_ENV) or IN_PROCESS).strip().lower().replace("-", "_")
    if choice not in EXECUTORS:
        raise ExecutorChoiceError(f"{EXECUTOR_ENV}={choice!r}: expected one of {', '.join(EXECUTORS)}")
    return choice


def shard_count() -> int:
    """How many shard steps each big transaction table is generated in, from CRM_MOCK_SHARDS; unset, 1 under
    every executor. Shards pay only where a table's own work outweighs the two extra steps (a join and the build
    checks) that sharding adds to the graph's serial chain of tables: on 2 cores at the load tier, multiprocess
    with 2 shards took 62.7 s for the transaction tables where 1 shard took 48.0 s. They are for more cores,
    more machines or bigger tiers, and the count shapes the graph that every process of a run (every Celery
    worker) must build alike, so it is set once, in their shared environment. Sharding never changes a byte of
    the tables."""
    return _count_from_environment(SHARDS_ENV, "shards", unset=1, most=64)


def process_count() -> int:
    """How many step processes the multiprocess executor runs at once, from CRM_MOCK_PROCESSES; unset, one per
    core. A step of the stress tier can need up to 1 GiB (a plan's build), so on a machine with more cores than
    spare gigabytes, fewer processes keep the run out of swap."""
    return _count_from_environment(PROCESSES_ENV, "processes", unset=os.cpu_count() or 2, most=256)


def _count_from_environment(name: str, what: str, unset: int, most: int) -> int:
    """A whole number from 1 to ``most`` in the variable ``name`` (``unset`` when it is unset or empty)."""
    configured = (os.environ.get(name) or "").strip()
    if not configured:
        return unset
    if not configured.isdigit() or not 1 <= int(configured) <= most:
        raise ExecutorChoiceError(f"{name}={configured!r}: expected a whole number of {what} from 1 to {most}")
    return int(configured)


def fork_server_start_method() -> dict:
    """The multiprocess executor's `start_method`: a fork server that has crm_mock's definitions built
    (crm_mock/step_server.py), each step's process a fork of it. Dagster's default, `spawn`, starts a new
    interpreter per step that imports Dagster and crm_mock and builds the definitions (4.5 s here) before the
    step does anything: at the staging tier, longer than the steps' own work.

    A fork server keeps the environment it started with, and Python keeps one per process: a process that runs
    several multiprocess runs (a script, a test session) and changes, say, CRM_MOCK_DATA_DIR between them would
    run its later steps with the first run's settings. So a server started under another environment is
    stopped here, and the run starts one of its own (on a Python without that stop hook, `spawn`: slower, right;
    likewise where there is no fork server, on Windows).
    """
    global _environment_of_fork_server
    if "forkserver" not in multiprocessing.get_all_start_methods():  # Windows
        return {"spawn": {}}
    from multiprocessing import forkserver

    environment = dict(os.environ)
    server = forkserver._forkserver
    if getattr(server, "_forkserver_pid", None) is not None and _environment_of_fork_server != environment:
        stop = getattr(server, "_stop", None)
        if stop is None:
            return {"spawn": {}}
        stop()
    _environment_of_fork_server = environment
    return {"forkserver": {"preload_modules": [STEP_SERVER_MODULE]}}


@dataclass(frozen=True)
class CelerySettings:
    """The broker and queue that the executor sends steps to and the workers take them from: both sides read
    the same variables, so they always agree."""

    broker: str  # may hold a password: never printed, stored or put in metadata (see `shown_broker`)
    queue: str
    broker_from_env: bool

    @classmethod
    def from_environment(cls) -> "CelerySettings":
        configured = os.environ.get(CELERY_BROKER_ENV) or ""
        return cls(broker=configured or DEFAULT_BROKER, queue=os.environ.get(CELERY_QUEUE_ENV) or DEFAULT_QUEUE,
                   broker_from_env=bool(configured))

    @property
    def shown_broker(self) -> str:
        """The broker URL fit to print: the password masked."""
        return maybe_sanitize_url(self.broker)

    def executor_config(self) -> dict:
        """dagster-celery's executor config. The broker is an environment reference when it comes from the
        environment, so the UI (which shows an executor's configured values) shows the variable's name; the
        queue is the app's default queue, where the executor sends every step without a queue tag."""
        return {
            "broker": {"env": CELERY_BROKER_ENV} if self.broker_from_env else self.broker,
            "config_source": {"task_default_queue": self.queue},
        }

    def consumers(self, timeout: float = 5) -> int:
        """How many workers consume the queue now (0 when it does not exist yet). A run whose steps nobody
        takes waits for ever, so the CLI asks before it starts one. Raises OSError when the broker is
        unreachable; the message never holds the password."""
        try:
            with Connection(self.broker, connect_timeout=timeout) as connection:
                connection.ensure_connection(max_retries=1)
                channel = connection.channel()
                try:
                    return channel.queue_declare(self.queue, passive=True).consumer_count
                except connection.channel_errors:  # NOT_FOUND: no worker has declared it
                    return 0
        except Exception as exc:  # noqa: BLE001 - kombu's errors vary by transport
            raise OSError(f"the Celery broker {self.shown_broker} is unreachable: "
                          f"{self.without_password(f'{type(exc).__name__}: {exc}')}") from None

    def why_a_run_cannot_start(self) -> str | None:
        """Why a run on Celery cannot start now, or None. Steps that no worker takes wait for ever, so a run
        starts only when some worker consumes the queue (one that dies later leaves the run waiting: cancel it)."""
        if importlib.util.find_spec("dagster_celery") is None:
            return "the Celery executor needs dagster-celery: pip install 'crm_mock[celery]'"
        try:
            consumers = self.consumers()
        except OSError as exc:
            return str(exc)
        if not consumers:
            return (f"no Celery worker consumes the queue {self.queue!r} at {self.shown_broker}; start one with "
                    f"the same environment: celery -A crm_mock.celery_worker worker -Q {self.queue} -c 1")
        return None

    def without_password(self, text: str) -> str:
        password = url_to_parts(self.broker).password
        text = text.replace(self.broker, self.shown_broker)
        return text.replace(password, "**") if password else text
