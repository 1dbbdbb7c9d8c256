"""The same selection of a tier in process and on 1 and on 2 Celery workers, in the same run: `crm-mock materialize`
with --executor in_process (the baseline), then --executor celery with one worker, then with two, each into a
fresh data directory, on one PostgreSQL-backed Dagster instance (docker/dagster.yaml) and the local RabbitMQ.

    .venv/bin/python benchmarks/executors.py --tier load \\
        --select 'group:id_maps or group:edge_cases or group:master_data or group:replicas'

Prints each wall-clock time (command start to exit), its ratio to the in-process run, and checks that the three
table stores hold the same bytes. Workers run one step at a time each (-c 1), like the docker deployment's.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from kombu import Connection

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crm_mock.defs.executors import CelerySettings  # noqa: E402
from crm_mock_tests.dagster_processes import Process, bin_path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BROKER = os.environ.get("CRM_MOCK_CELERY_BROKER") or "amqp://guest@127.0.0.1:5672//"
DEFAULT_SELECTION = "group:id_maps or group:edge_cases or group:master_data or group:replicas"


def consumers(queue: str) -> int:
    return CelerySettings(broker=BROKER, queue=queue, broker_from_env=False).consumers(timeout=3)


@contextlib.contextmanager
def workers(count: int, env: dict, queue: str, directory: Path):
    started: list[Process] = []
    try:
        for number in range(1, count + 1):
            started.append(Process([bin_path("celery"), "-A", "crm_mock.celery_worker", "worker", "-Q", queue, "-c",
                                    "1", "-n", f"{queue}_{count}_{number}@%h", "--without-gossip", "--without-mingle",
                                    "-l", "warning"], env, directory, directory / f"worker_{count}_{number}.log"))
        deadline = time.monotonic() + 120
        while consumers(queue) < count:
            if time.monotonic() > deadline or not all(w.alive for w in started):
                raise RuntimeError("the workers did not start:\n" + "\n".join(w.tail() for w in started))
            time.sleep(0.5)
        yield
    finally:
        for worker in started:
            worker.stop()


def materialize(env: dict, cwd: Path, tier: str, selection: str, executor: str, data_dir: Path,
                timeout: float) -> float:
    started = time.monotonic()
    done = subprocess.run([bin_path("crm-mock"), "materialize", "--tier", tier, "--select", selection,
                           "--executor", executor, "--data-dir", str(data_dir)],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"{executor} run failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def digests(data_dir: Path) -> dict[str, str]:
    return {str(p.relative_to(data_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(data_dir.rglob("*.parquet"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tier", default="load", choices=("smoke", "staging", "load"))
    parser.add_argument("--select", default=DEFAULT_SELECTION, help=f"default: {DEFAULT_SELECTION!r}")
    parser.add_argument("--timeout", type=float, default=3600, help="per run, seconds")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="crm_mock_bench_executors_"))
    database = f"crm_mock_bench_executors_{uuid.uuid4().hex[:10]}"
    queue = f"crm_mock_bench_{uuid.uuid4().hex[:10]}"
    home = tmp / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "docker" / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "CRM_MOCK_"))}
    env.update({"DAGSTER_HOME": str(home), "DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": "5432",
                "DAGSTER_PG_USER": "postgres", "DAGSTER_PG_PASSWORD": "", "DAGSTER_PG_DB": database,
                "CRM_MOCK_CELERY_BROKER": BROKER, "CRM_MOCK_CELERY_QUEUE": queue})
    admin = psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True)
    admin.execute(f'CREATE DATABASE "{database}"')
    times: dict[str, float] = {}
    stores: dict[str, dict[str, str]] = {}
    try:
        print(f"tier {args.tier}, selection {args.select!r}", flush=True)
        for label, count in (("in process", 0), ("celery, 1 worker", 1), ("celery, 2 workers", 2)):
            data_dir = tmp / f"data_{count}"
            with workers(count, env, queue, tmp) if count else contextlib.nullcontext():
                times[label] = materialize(env, tmp, args.tier, args.select, "celery" if count else "in_process",
                                           data_dir, args.timeout)
            stores[label] = digests(data_dir)
            print(f"  {label:<18} {times[label]:8.1f} s   {times[label] / times['in process']:5.2f}x in-process",
                  flush=True)
        same = all(store == stores["in process"] for store in stores.values())
        print(f"  tables identical in all three runs: {same} ({len(stores['in process'])} Parquet files)")
        print(f"  2 workers / 1 worker: {times['celery, 2 workers'] / times['celery, 1 worker']:.2f}")
        return 0 if same else 1
    finally:
        with Connection(BROKER, connect_timeout=3) as conn:
            for delete in (conn.default_channel.queue_delete, conn.default_channel.exchange_delete):
                with contextlib.suppress(Exception):
                    delete(queue)
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
