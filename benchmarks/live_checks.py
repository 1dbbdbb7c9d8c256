"""The live consistency rules one after another against the same rules on threads side by side, in the same
run, on a tier already loaded (`crm-mock materialize --tier load` first):

    .venv/bin/python benchmarks/live_checks.py --tier load --data-dir data

Prints both wall-clock times (best of --repeat), their ratio, and whether both gave the same results (exit 1
if not).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crm_mock.consistency.registry import RULE_WORKERS, run_rules, run_rules_side_by_side  # noqa: E402
from crm_mock.consistency.sources import DatabaseSource  # noqa: E402
from crm_mock.defs.consistency.checks import LIVE_RULES  # noqa: E402
from crm_mock.scenario import load_scenario, plan_tier  # noqa: E402
from crm_mock.sinks.databases import service_databases  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tier", default="load")
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("CRM_MOCK_DATA_DIR") or "data"))
    parser.add_argument("--workers", type=int, default=RULE_WORKERS)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    databases = service_databases(os.environ.get("CRM_MOCK_DATABASE_URL", ""), str(args.data_dir))
    plan = plan_tier(load_scenario(os.environ.get("CRM_MOCK_SCENARIO") or None), args.tier)
    timings: dict[str, float] = {}
    outcomes = {}
    for label in ("one after another", f"{args.workers} side by side"):
        best = float("inf")
        for _ in range(args.repeat):
            started = time.monotonic()
            if label == "one after another":
                with DatabaseSource(databases, args.tier) as source:
                    results = run_rules(source, plan, LIVE_RULES)
            else:
                results = run_rules_side_by_side(lambda: DatabaseSource(databases, args.tier), plan, LIVE_RULES,
                                                 args.workers)
            best = min(best, time.monotonic() - started)
        timings[label] = best
        outcomes[label] = [(r.rule, r.table, r.passed, r.offending) for r in results]
        print(f"  {label:<20} {best:7.1f} s  ({len(results)} rules, {sum(not r.passed for r in results)} failing)",
              flush=True)
    first, second = timings
    same = outcomes[first] == outcomes[second]
    print(f"  ratio {timings[second] / timings[first]:.2f}; same results: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
