"""`crm-mock replay plan|run|status`: argument parsing and printing; the work is in runner.py."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from crm_mock.scenario import TIERS

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_replay_parser(commands: argparse._SubParsersAction) -> None:
    replay = commands.add_parser("replay", help="send a tier's business history to a running system, in order, "
                                                "exactly once, and verify what its pipeline produced")
    actions = replay.add_subparsers(dest="replay_command", required=True)
    plan = actions.add_parser("plan", help="build the tier's replay plan and print its size")
    run = actions.add_parser("run", help="send the plan's events to the target and verify the expected ones")
    state = actions.add_parser("status", help="what the ledger says: events by type and state")
    for p in (plan, run, state):
        p.add_argument("--tier", choices=TIERS, default="staging")
        p.add_argument("--data-dir", type=Path, help="default: $CRM_MOCK_DATA_DIR or ./data")
        p.add_argument("--json", action="store_true", help="print JSON")
    plan.add_argument("--target", type=Path, help="target file (for --validate)")
    plan.add_argument("--validate", action="store_true", help="check every body against the services' OpenAPI documents")
    for p in (run, state):
        p.add_argument("--target", type=Path, required=True, help="target file (YAML)")
    run.add_argument("--dry-run", action="store_true", help="build every request, send nothing")
    run.add_argument("--pace", default="asap", help="asap (default), x<factor> (x3600) or fit:<duration> (fit:30m)")
    run.add_argument("--max-gap", default="5s", help="longest wait between two paced events (default 5s)")
    run.add_argument("--rate", type=float, help="requests/s per service or broker (overrides the target file)")
    run.add_argument("--concurrency", type=int, help="events in flight at once (default: the target file's, 8)")
    resume = run.add_mutually_exclusive_group()
    resume.add_argument("--resume", action="store_true", help="continue a stopped replay (it must exist)")
    resume.add_argument("--restart", action="store_true", help="discard the ledger and replay from the start")
    run.add_argument("--report", type=Path, help="write the report: .json, .md, or both without a suffix")
    run.add_argument("--fail-on", action="append", default=[], metavar="METRIC>N",
                     help="exit 1 when crossed, e.g. 'failed>0', 'p95_ms>500' (repeatable)")
    run.add_argument("--limit", type=int, help="send only the first N events (and verify what they lead to)")
    run.add_argument("--no-verify", action="store_true", help="skip checking the expect events")


def replay_command(args: argparse.Namespace) -> int:
    from crm_mock.replay import runner

    data_dir = args.data_dir or Path(os.environ.get("CRM_MOCK_DATA_DIR") or "data")
    try:
        if args.replay_command == "plan":
            return _plan(runner, args, data_dir)
        if args.replay_command == "status":
            result = runner.status(data_dir, args.tier, args.target)
        else:
            result = runner.run_replay(runner.RunSettings(
                tier=args.tier, target_path=args.target, data_dir=data_dir, dry_run=args.dry_run, pace=args.pace,
                max_gap=args.max_gap, rate=args.rate, concurrency=args.concurrency, resume=args.resume,
                restart=args.restart, report_path=args.report, fail_on=args.fail_on, limit=args.limit,
                verify=not args.no_verify, progress=_progress))
    except runner.ReplayRefused as exc:
        print(f"crm-mock replay: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(result.report, indent=2, ensure_ascii=False) if args.json else result.text)
    return result.exit_code


def _plan(runner, args: argparse.Namespace, data_dir: Path) -> int:
    result = runner.make_plan(data_dir, args.tier, args.target, args.validate)
    plan = result.plan
    if args.json:
        print(json.dumps({"tier": plan.tier, "plan_hash": plan.plan_hash, "events": plan.size, "kinds": plan.kinds(),
                          "by_type": plan.counts(), "violations": [v.__dict__ for v in result.violations]}, indent=2))
    else:
        print(f"replay plan of tier {plan.tier!r}: {plan.size:,} events "
              + ", ".join(f"{n:,} {kind}" for kind, n in plan.kinds().items()) + f"; hash {plan.plan_hash[:16]}…")
        for event_id, n in plan.counts().items():
            print(f"  {event_id:<32} {n:>9,}")
        if args.validate:
            print(f"checked {result.checked:,} bodies against OpenAPI: {len(result.violations)} violation(s)")
            for v in result.violations:
                print(f"  seq {v.seq} {v.event_id} {v.key}: {v.message}")
    return EXIT_FAILED if result.violations else EXIT_OK


def _progress(counts: dict) -> None:
    done = sum(n for states in counts.values() for s, n in states.items() if s not in ("pending", "in flight"))
    total = sum(n for states in counts.values() for n in states.values())
    print(f"  replay: {done:,} of {total:,} events settled", file=sys.stderr, flush=True)
