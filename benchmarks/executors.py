"""The same selection of a tier in process and on 1 and on 2 Celery workers (or processes), in the same run:
`crm-mock materialize` with --executor in_process (the baseline), then --executor celery with one worker, then
with two, each into a fresh data directory, on one PostgreSQL-backed Dagster instance (docker/dagster.yaml) and
the local RabbitMQ. Every run but the in-process one cuts the transaction tables into `--shards` (2) shard
steps, so the runs with 1 and 2 workers execute the same graph and their ratio is what the second worker gives.
`--runs` picks others, e.g. the multiprocess executor with 1 and 2 step processes at once (--processes):

    .venv/bin/python benchmarks/executors.py --tier load --select 'group:transactions' \\
        --runs in_process,multiprocess_1,multiprocess_2

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
# run name -> (executor, Celery workers or step processes at once)
RUNS = {"in_process": ("in_process", 0), "celery_1": ("celery", 1), "celery_2": ("celery", 2),
        "multiprocess_1": ("multiprocess", 1), "multiprocess_2": ("multiprocess", 2)}


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


def materialize(env: dict, cwd: Path, tier: str, selection: str, executor: str, shards: int, processes: int,
                data_dir: Path, timeout: float) -> float:
    started = time.monotonic()
    done = subprocess.run([bin_path("crm-mock"), "materialize", "--tier", tier, "--select", selection,
                           "--executor", executor, "--shards", str(shards), "--data-dir", str(data_dir),
                           *(["--processes", str(processes)] if processes else [])],
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
    parser.add_argument("--runs", default="in_process,celery_1,celery_2",
                        help=f"comma-separated, the first is the baseline; of {', '.join(RUNS)} (default: "
                             "in_process,celery_1,celery_2; celery_N runs N workers, multiprocess_N N step processes "
                             "at once)")
    parser.add_argument("--shards", type=int, default=2,
                        help="shard steps per transaction table in every run but the in-process one (default: 2)")
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
        runs = [name.strip() for name in args.runs.split(",") if name.strip()]
        unknown = [name for name in runs if name not in RUNS]
        if unknown:
            parser.error(f"unknown runs {unknown}; choose from {', '.join(RUNS)}")
        for label in runs:
            executor, count = RUNS[label]
            data_dir = tmp / f"data_{label}"
            shards = 1 if executor == "in_process" else args.shards
            processes = count if executor == "multiprocess" else 0
            with workers(count, env, queue, tmp) if executor == "celery" else contextlib.nullcontext():
                times[label] = materialize(env, tmp, args.tier, args.select, executor, shards, processes, data_dir,
                                           args.timeout)
            stores[label] = digests(data_dir)
            print(f"  {label:<16} {times[label]:8.1f} s   {times[label] / times[runs[0]]:5.2f}x {runs[0]}", flush=True)
        same = all(store == stores[runs[0]] for store in stores.values())
        print(f"  tables identical in all {len(runs)} runs: {same} ({len(stores[runs[0]])} Parquet files)")
        for kind in ("celery", "multiprocess"):
            if f"{kind}_1" in times and f"{kind}_2" in times:
                print(f"  {kind}: speed-up from 1 to 2 = {times[f'{kind}_1'] / times[f'{kind}_2']:.2f}")
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
