"""Peak memory of generating each table of a tier on its own, as a step of the multiprocess executor (or a Celery
worker) does: one fresh process per table, which builds the plans the table is drawn from and streams its blocks
without keeping them. Prints rows, seconds and the process's peak RSS per table, largest first.

    .venv/bin/python benchmarks/table_memory.py --tier stress
    .venv/bin/python benchmarks/table_memory.py --tier load --tables orders.order_lines,sales.leads --json peaks.json
    .venv/bin/python benchmarks/table_memory.py --tier stress --plans-dir /tmp/plans

With ``--plans-dir`` the processes share plans through files there, as the steps of a run do
(``crm_mock/generate/shared_plans.py``): one process first builds every plan of the tier into the folder (its
time and peak are printed), then each table's process reads the plans it needs instead of building them.
``--each-plan`` then builds each plan (``crm_mock.generate.PLANS``) in a fresh process of its own, reading only
what it is drawn from from the files: what a step that built one plan would need.

Exit 1 when a table's peak exceeds ``--max-mib`` (none by default). The in-process executor keeps plans between
steps within a budget (``crm_mock/generate/memo.py``), so a whole run's peak is at least the largest of these.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from crm_mock.generate import GENERATORS, PLANS

# the child: build the table's blocks one after another and drop each (what a step does before writing them)
CHILD = """
import sys
from crm_mock.generate import GENERATORS, PLANS, memo
from crm_mock.generate.allocator import map_large_allocations
map_large_allocations()  # as every process that loads the definitions does
from crm_mock.scenario import load_scenario, plan_tier
plan = plan_tier(load_scenario(sys.argv[3] or None), sys.argv[2])
memo.share_plans_through(sys.argv[4] or None)
if sys.argv[1] == "--plans":  # build every plan of the tier
    for build in PLANS.values():
        build(plan)
    print(0)
elif sys.argv[1].startswith("plan:"):
    PLANS[sys.argv[1][5:]](plan)
    print(0)
else:
    print(sum(block.num_rows for block in GENERATORS[sys.argv[1]].blocks(plan).stream()))
"""


def measure(table: str, tier: str, scenario: str, plans_dir: str = "") -> dict:
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", CHILD, table, tier, scenario, plans_dir], stdout=subprocess.PIPE,
                             text=True)
    out = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not the largest of all children so far
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{table}: the generating process failed (exit {child.returncode})")
    return {"table": table, "rows": int(out.strip() or 0), "seconds": time.perf_counter() - started,
            "peak_mib": usage.ru_maxrss / 1024}


def each_plan(tier: str, scenario: str, plans_dir: Path, names: list[str]) -> list[dict]:
    """Each plan built in a fresh process that finds every other plan in files (hard links to the warm folder's)."""
    results = []
    for name in names:
        with tempfile.TemporaryDirectory(dir=plans_dir.parent) as folder:
            for path in plans_dir.glob("*.plan"):
                if path.name.split(".")[1] != name:
                    os.link(path, Path(folder) / path.name)
            result = measure(f"plan:{name}", tier, scenario, folder)
        result["table"] = f"plan {name}"
        print(f"{result['table']:<30} {'':>17} {result['seconds']:7.1f} s  peak {result['peak_mib']:7,.0f} MiB",
              flush=True)
        results.append(result)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", default="load")
    parser.add_argument("--scenario", default="")
    parser.add_argument("--tables", default="", help="comma-separated qualified names (default: every table; "
                        "'none' for none, with --each-plan)")
    parser.add_argument("--max-mib", type=float, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--plans-dir", default="", help="share plans through files in this folder (built first)")
    parser.add_argument("--each-plan", nargs="?", const="", default=None, metavar="PLANS",
                        help="then build each plan (or those named, comma-separated) alone (needs --plans-dir)")
    args = parser.parse_args()
    if args.each_plan is not None and not args.plans_dir:
        parser.error("--each-plan needs --plans-dir")
    plans = [p for p in (args.each_plan or "").split(",") if p] or list(PLANS)
    if unknown := [p for p in plans if p not in PLANS]:
        parser.error(f"unknown plan(s) {unknown}; known: {', '.join(PLANS)}")
    tables = [] if args.tables == "none" else [t for t in args.tables.split(",") if t] or sorted(GENERATORS)
    if unknown := [t for t in tables if t not in GENERATORS]:
        parser.error(f"unknown table(s) {unknown}")
    results = []
    if args.plans_dir:
        warm = measure("--plans", args.tier, args.scenario, args.plans_dir)
        label = f"every plan, into {args.plans_dir}"
        print(f"{label:<30} {warm['seconds']:>20.1f} s  peak {warm['peak_mib']:7,.0f} MiB", flush=True)
    for table in tables:
        results.append(measure(table, args.tier, args.scenario, args.plans_dir))
        r = results[-1]
        print(f"{table:<30} {r['rows']:>12,} rows {r['seconds']:7.1f} s  peak {r['peak_mib']:7,.0f} MiB", flush=True)
    if args.each_plan is not None:
        results += each_plan(args.tier, args.scenario, Path(args.plans_dir), plans)
    print(f"\ntier {args.tier}, largest first:")
    for r in sorted(results, key=lambda r: -r["peak_mib"]):
        print(f"  {r['table']:<30} {r['peak_mib']:7,.0f} MiB")
    if args.json:
        args.json.write_text(json.dumps({"tier": args.tier, "plans_dir": args.plans_dir, "results": results},
                                        indent=1) + "\n")
    over = [r for r in results if args.max_mib is not None and r["peak_mib"] > args.max_mib]
    for r in over:
        print(f"FAIL: {r['table']} peaked at {r['peak_mib']:,.0f} MiB (--max-mib {args.max_mib:g})", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
