"""A tier end to end against the rate at which this machine's SQLite inserts the same rows, in one run.

1. **End to end**: `crm-mock materialize --tier load` in a fresh process, into an empty data directory:
   generation, the table store, the seven SQLite loads, every build and database check and the live report.
   Its step times are summed by kind, so the report says where the time went.
2. **The limit**: the rows that run left in the seven SQLite files, read back a batch at a time (not timed)
   and inserted with ``executemany`` (timed) into empty tables created with the same statements (keys
   included, the foreign-key indexes not), one transaction per service, journal and sync off: SQLite
   doing nothing but inserting those rows.

3. **The CPU budget**: the processor time the end-to-end run used (user + system, every thread), and the rules
   alone run again on the files it left (the build rules on the table store through DuckDB, the live rules on
   the seven SQLite files, two side by side as the report runs them). However the steps were spread over the
   machine's cores, the run could not end before CPU seconds ÷ cores: that bounds the ratio this work can reach
   here, and the rules' share says how much of it is checking.

The ratio is end-to-end rows/s ÷ limit rows/s; the script exits 1 below ``--min-ratio`` (0.5).

    .venv/bin/python benchmarks/load_tier.py                 # load tier, in a temporary directory
    .venv/bin/python benchmarks/load_tier.py --tier staging --min-ratio 0
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import closing
from pathlib import Path

BATCH_ROWS = 50_000
STEP_LINE = re.compile(r"^\s+ok\s+([\d.]+)s\s+\d+ MB peak\s+(\S+)$")


def step_kind(step: str) -> str:
    """Which part of the work a step of `crm-mock materialize` is."""
    group, _, name = step.partition("/")
    if name == "database":
        return "SQLite loads (with their checks)"
    if group == "consistency":
        return "live report"
    if name.endswith("built_checks") or "__shard_" in name or name.endswith("__join"):
        return "generation (with build checks)"
    return {"edge_cases": "edge cases", "profile": "profile", "replay": "replay plan",
            "id_maps": "id maps"}.get(group, "generation (with build checks)")


def end_to_end(tier: str, data_dir: Path, home: Path) -> tuple[float, dict[str, float], int, float]:
    """Wall time, step seconds by kind, peak RSS (kB) and CPU seconds of a whole `crm-mock materialize` run."""
    env = {**os.environ, "DAGSTER_HOME": str(home), "CRM_MOCK_DATA_DIR": str(data_dir)}
    env.pop("CRM_MOCK_DATABASE_URL", None)  # the embedded SQLite default
    command = [str(Path(sys.executable).with_name("crm-mock")), "materialize", "--tier", tier,
               "--data-dir", str(data_dir), "--progress-every", "60"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    finished = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if finished.returncode != 0:
        sys.stderr.write(finished.stdout[-4000:] + finished.stderr[-4000:])
        raise SystemExit(f"crm-mock materialize --tier {tier} failed (exit {finished.returncode})")
    by_kind: dict[str, float] = defaultdict(float)
    for line in finished.stdout.splitlines():
        if match := STEP_LINE.match(line):
            by_kind[step_kind(match.group(2))] += float(match.group(1))
    return wall, dict(by_kind), after.ru_maxrss, cpu


def rules_cpu(tier: str, data_dir: Path) -> dict[str, tuple[float, float]]:
    """(wall, CPU seconds) of every rule run again on what the run left: on the table store (the build checks'
    source) and on the service databases (the live report's, two rules side by side as it runs them)."""
    from crm_mock.consistency.registry import RULE_WORKERS, registry, run_rules, run_rules_side_by_side
    from crm_mock.consistency.sources import DatabaseSource, StoreSource
    from crm_mock.scenario import load_scenario, plan_tier
    from crm_mock.sinks.databases import SqliteDatabases
    from crm_mock.sinks.parquet import TableStore

    plan = plan_tier(load_scenario(), tier)

    def on_store():
        with StoreSource(TableStore(data_dir), tier) as source:
            return run_rules(source, plan, registry())

    spent = {}
    for what, run in (
            ("build rules (table store, DuckDB)", on_store),
            ("live rules (SQLite files)",
             lambda: run_rules_side_by_side(lambda: DatabaseSource(SqliteDatabases(data_dir), tier), plan,
                                            registry(), RULE_WORKERS))):
        wall, cpu = time.perf_counter(), time.process_time()  # every thread of this process, DuckDB's included
        results = run()
        spent[what] = (time.perf_counter() - wall, time.process_time() - cpu)
        if failed := [r for r in results if not r.passed]:
            raise SystemExit(f"{what}: {len(failed)} rules fail on the run's own output")
    return spent


def insert_limit(tier_dir: Path, scratch: Path) -> tuple[int, float, dict[str, tuple[int, float]]]:
    """Rows and seconds SQLite takes to insert every row of the tier's service files into bare copies."""
    per_service: dict[str, tuple[int, float]] = {}
    for source_path in sorted(tier_dir.glob("*.sqlite")):
        target_path = scratch / source_path.name
        target_path.unlink(missing_ok=True)
        rows, seconds = 0, 0.0
        with closing(sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)) as source, \
                closing(sqlite3.connect(target_path)) as target:
            target.execute("PRAGMA journal_mode = OFF")
            target.execute("PRAGMA synchronous = OFF")
            target.execute("PRAGMA cache_size = -131072")  # as the sink
            tables = source.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' "
                                    "AND name NOT LIKE 'sqlite_%' ORDER BY rowid").fetchall()
            for name, statement in tables:
                target.execute(statement)
                cursor = source.execute(f'SELECT * FROM "{name}"')
                width = len(cursor.description)
                insert = f'INSERT INTO "{name}" VALUES ({", ".join("?" * width)})'
                while batch := cursor.fetchmany(BATCH_ROWS):
                    started = time.perf_counter()
                    target.executemany(insert, batch)
                    seconds += time.perf_counter() - started
                    rows += len(batch)
            started = time.perf_counter()
            target.commit()
            seconds += time.perf_counter() - started
        target_path.unlink()
        per_service[source_path.stem] = (rows, seconds)
    return sum(r for r, _ in per_service.values()), sum(s for _, s in per_service.values()), per_service


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", default="load")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="where the run's data and instance go (default: a temporary directory, removed after)")
    parser.add_argument("--min-ratio", type=float, default=0.5)
    args = parser.parse_args()
    if args.work_dir:
        args.work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="crm-mock-bench-", dir=args.work_dir) as work:
        work_dir = Path(work)
        (work_dir / "home").mkdir()
        wall, by_kind, peak_kb, cpu = end_to_end(args.tier, work_dir / "data", work_dir / "home")
        rows, limit_seconds, per_service = insert_limit(work_dir / "data" / args.tier, work_dir)
        rules = rules_cpu(args.tier, work_dir / "data")
    e2e_rate, limit_rate = rows / wall, rows / limit_seconds
    ratio = e2e_rate / limit_rate
    print(f"tier {args.tier}: {rows:,} rows in the service databases")
    print(f"  end to end        {wall:8.1f} s  {e2e_rate:>10,.0f} rows/s   peak RSS {peak_kb / 1024:,.0f} MiB")
    by_kind["outside the steps (start-up, run bookkeeping)"] = wall - sum(by_kind.values())
    for kind, seconds in sorted(by_kind.items(), key=lambda item: -item[1]):
        print(f"    {kind:<34}{seconds:7.1f} s  ({seconds / wall:.0%})")
    print(f"  SQLite insert limit {limit_seconds:6.1f} s  {limit_rate:>10,.0f} rows/s")
    for service, (count, seconds) in per_service.items():
        print(f"    {service:<34}{seconds:7.1f} s  {count:>10,} rows")
    cores = os.cpu_count() or 1
    print(f"  CPU the run used  {cpu:8.1f} s  = {cpu / limit_seconds:.1f}x the limit, {cpu / wall:.2f} of {cores} "
          "cores on average")
    for what, (rules_wall, rules_cpu_s) in rules.items():
        print(f"    {what:<34}{rules_cpu_s:7.1f} s CPU = {rules_cpu_s / limit_seconds:.1f}x the limit  "
              f"({rules_wall:.1f} s wall, run again alone)")
    print(f"  ratio {ratio:.2f} (end-to-end rate ÷ insert limit; --min-ratio {args.min_ratio})")
    # no schedule of this work on these cores ends before its CPU seconds ÷ cores
    print(f"  at most {limit_seconds / (cpu / cores):.2f} for this work on {cores} cores, every core busy throughout")
    if ratio < args.min_ratio:
        print(f"FAIL: end to end runs at {ratio:.2f} of the SQLite insert limit", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
