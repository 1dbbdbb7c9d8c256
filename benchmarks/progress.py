"""What progress reporting costs: generating tables and loading a service database with a step's tracker
counting (a log outlet every 10 s, the CLI's bar fed every 0.5 s and drawn into a terminal stream, the
heartbeat thread) against the same work with nobody listening (loads: with plain batches, not counted),
measured in the same run, alternately, best of ``--repeat``.

Usage: python benchmarks/progress.py [--tier load] [--repeat 3] [--max-ratio 1.05]
Exits 1 when counted work takes more than ``--max-ratio`` times the quiet work.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from crm_mock.generate import GENERATORS, project_replica
from crm_mock.generate.progress import LIVE_EVERY_SECONDS, Outlet, Tracker, active, counted, phase
from crm_mock.model import CATALOG
from crm_mock.model.ddl import UuidStorage
from crm_mock.scenario import TIERS, load_scenario, plan_tier
from crm_mock.sinks.parquet import TableStore
from crm_mock.sinks.sqlite import load_service
from crm_mock.terminal import Display

TABLES = ("contact.accounts", "contact.contacts", "orders.order_lines", "finance.ledger_entries")
SERVICE = "contact"


def _tracker(step: str) -> Tracker:
    """As a CLI run on a terminal has it: the run's log line (here: kept in a list) and the bar."""
    display = Display(io.StringIO(), tty=True, width=lambda: 120)
    logged: list = []
    return Tracker(step, [Outlet(logged.append, every=10.0, phase_ends=False),
                          Outlet(display.report, every=LIVE_EVERY_SECONDS)])


def _timed(work: Callable[[], object], step: str | None) -> float:
    started = time.perf_counter()
    with ExitStack() as stack:
        if step is not None:
            tracker = stack.enter_context(_tracker(step))
            stack.enter_context(active(tracker))
        work()
    return time.perf_counter() - started


def _compare(name: str, work: Callable[[], object], repeat: int,
             baseline: Callable[[], object] | None = None) -> float:
    quiet, counting = [], []
    baseline = baseline or work
    baseline()  # warm: plans and pools are cached per process
    for _ in range(repeat):
        quiet.append(_timed(baseline, None))
        counting.append(_timed(work, name))
    ratio = min(counting) / min(quiet)
    print(f"{name:<28} quiet {min(quiet):7.2f}s   counted {min(counting):7.2f}s   ratio {ratio:5.3f}", flush=True)
    return ratio


def _contact_store(plan, root: Path) -> TableStore:
    store = TableStore(root)
    employees = GENERATORS["hr.employees"](plan)
    replica = CATALOG["contact.employee_replica"]
    master = CATALOG[replica.replica_of.master]
    copied = employees.select([master.primary_key[0], *replica.replica_of.columns])
    store.write(plan.tier, ("contact", "employee_replica"), project_replica(replica, copied))
    for name in ("contact.accounts", "contact.contacts"):
        store.write(plan.tier, tuple(name.split(".")), GENERATORS[name](plan))
    return store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", choices=TIERS, default="load")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-ratio", type=float, default=1.05)
    args = parser.parse_args(argv)
    plan = plan_tier(load_scenario(None), args.tier)
    ratios = {name: _compare(name, lambda name=name: GENERATORS[name](plan), args.repeat) for name in TABLES}
    with tempfile.TemporaryDirectory(prefix="crm_mock_progress_bench_") as root:
        store = _contact_store(plan, Path(root))
        tables = list(CATALOG.service_tables(SERVICE))
        total = sum(store.num_rows(plan.tier, (SERVICE, t.name)) for t in tables)

        def load(count: bool) -> None:
            loaded = phase("load", total)
            sources = {t.name: (lambda t=t: store.model_batches(plan.tier, t.qualified_name)) for t in tables}
            if count:
                sources = {name: (lambda source=source: counted(source(), loaded)) for name, source in sources.items()}
            load_service(Path(root) / "contact.sqlite", SERVICE, sources, UuidStorage.TEXT)

        ratios[f"{SERVICE} sqlite load"] = _compare(f"{SERVICE} sqlite load ({total:,} rows)", lambda: load(True),
                                                    args.repeat, baseline=lambda: load(False))
    worst = max(ratios, key=ratios.get)
    print(f"worst: {worst} {ratios[worst]:.3f} (limit {args.max_ratio})")
    return 1 if ratios[worst] > args.max_ratio else 0


if __name__ == "__main__":
    sys.exit(main())
