"""`crm-mock`: runs the same asset graph as the Dagster UI, in process, from the command line."""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import resource
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from crm_mock.mapping.cli import add_mapping_option, add_mapping_parser, apply_mapping_option, mapping_command
from crm_mock.replay.cli import add_replay_parser, replay_command
from crm_mock.scenario import TIERS, ScenarioError, load_scenario, plan_tier

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crm-mock", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("materialize", help="generate a tier and load its service databases")
    run.add_argument("--tier", choices=TIERS, default="staging", help="which tier (default: staging)")
    run.add_argument("--scenario", type=Path, help="scenario YAML (default: the bundled default.yaml)")
    run.add_argument("--data-dir", type=Path,
                     help="where data/<tier>/… goes (default: $CRM_MOCK_DATA_DIR or ./data)")
    run.add_argument("--select", help="a Dagster asset selection, e.g. 'group:master_data' (default: all)")
    run.add_argument("--sqlite-uuid-storage", choices=("text", "hex", "blob"),
                     help="how the SQLite files store UUIDs: text (36 characters), hex (32 digits, for Django's "
                          "UUIDField and SQLAlchemy's Uuid) or blob (16 bytes) (default: "
                          "$CRM_MOCK_SQLITE_UUID_STORAGE, else the scenario's ids.sqlite_uuid_storage)")
    check = commands.add_parser("check", help="run the consistency rules against a tier's live service databases")
    check.add_argument("--tier", choices=TIERS, default="staging")
    check.add_argument("--json", action="store_true", help="print the results as JSON")
    check.add_argument("--list", action="store_true", help="list the rules with a one-line description, and exit")
    check.add_argument("--scenario", type=Path,
                       help="the scenario the tier was built from, for its quotas (default: $CRM_MOCK_SCENARIO "
                            "or the bundled default.yaml)")
    check.add_argument("--data-dir", type=Path, help="default: $CRM_MOCK_DATA_DIR or ./data")
    export = commands.add_parser("export-fixtures", help="write the planted edge-case records of a tier")
    export.add_argument("--tier", choices=TIERS, default="staging")
    export.add_argument("--format", choices=("json", "yaml"), default="json")
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")
    export.add_argument("--data-dir", type=Path, help="default: $CRM_MOCK_DATA_DIR or ./data")
    add_replay_parser(commands)
    add_mapping_parser(commands)
    for command in (run, check, export):
        add_mapping_option(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if (refused := apply_mapping_option(args)) is not None:
        return refused
    if args.command == "mapping":
        return mapping_command(args)
    if args.command == "materialize":
        return materialize(args.tier, args.scenario, args.data_dir, args.select, args.sqlite_uuid_storage)
    if args.command == "check":
        if args.list:
            return list_rules()
        return check_live(args.tier, args.json, args.data_dir, args.scenario)
    if args.command == "export-fixtures":
        return export_fixtures(args.tier, args.format, args.output, args.data_dir)
    if args.command == "replay":
        return replay_command(args)
    raise AssertionError(args.command)


def _data_dir(data_dir: Path | None) -> Path:
    return data_dir or Path(os.environ.get("CRM_MOCK_DATA_DIR") or "data")


def _databases(data_dir: Path | None):
    from crm_mock.mapping.port import with_mapping
    from crm_mock.sinks.databases import service_databases

    return with_mapping(service_databases(os.environ.get("CRM_MOCK_DATABASE_URL", ""), _data_dir(data_dir)))


def list_rules() -> int:
    from crm_mock.consistency.registry import registry

    for rule in registry():
        print(f"{rule.name:<22} {rule.table.qualified_name:<28} {rule.description}")
    return EXIT_OK


def check_live(tier: str, as_json: bool, data_dir: Path | None, scenario: Path | None = None) -> int:
    """0: consistent; 1: drift (rule, service, table, UUIDs listed); 2: cannot check."""
    import json

    from crm_mock.consistency.registry import run_rules
    from crm_mock.consistency.sources import DatabaseSource
    from crm_mock.mapping.rules import rules_for
    from crm_mock.sinks.databases import Unreachable

    try:
        plan = plan_tier(load_scenario(scenario or os.environ.get("CRM_MOCK_SCENARIO") or None), tier)
        databases = _databases(data_dir)
        with DatabaseSource(databases, tier) as source:
            results = run_rules(source, plan, rules_for(databases))
    except (Unreachable, ScenarioError) as exc:
        print(f"crm-mock: cannot check tier {tier!r}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    failed = [r for r in results if not r.passed]
    if as_json:
        print(json.dumps([{"rule": r.rule, "service": r.service, "table": r.table, "passed": r.passed,
                           "offending": r.offending, "sample": list(r.sample), "details": r.details}
                          for r in results], indent=2, default=str))
    else:
        for r in failed:
            print(f"DRIFT {r.rule} {r.service} {r.table}: {r.offending} offending; {', '.join(r.sample)}")
        print(f"crm-mock: tier {tier!r}: {len(results) - len(failed)} of {len(results)} rules consistent")
    return EXIT_FAILED if failed else EXIT_OK


def export_fixtures(tier: str, fmt: str, output: Path | None, data_dir: Path | None) -> int:
    from crm_mock.sinks.databases import Unreachable
    from crm_mock.sinks.fixtures import planted_records, render

    try:
        text = render(planted_records(_databases(data_dir), _data_dir(data_dir), tier), fmt)
    except (FileNotFoundError, Unreachable) as exc:
        print(f"crm-mock: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if output:
        output.write_text(text, encoding="utf-8")
        print(f"crm-mock: wrote the edge-case fixtures of tier {tier!r} to {output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def materialize(tier: str, scenario: Path | None, data_dir: Path | None, selection: str | None = None,
                sqlite_uuid_storage: str | None = None) -> int:
    # refuse a bad scenario before anything is written
    try:
        plan_tier(load_scenario(scenario), tier)
    except ScenarioError as exc:
        print(f"crm-mock: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # the definitions read their configuration from the environment, as a code server would
    from crm_mock.definitions import DATA_DIR_ENV, SCENARIO_ENV, SQLITE_UUID_STORAGE_ENV

    if scenario:
        os.environ[SCENARIO_ENV] = str(scenario.resolve())
    if data_dir:
        os.environ[DATA_DIR_ENV] = str(data_dir.resolve())
    if sqlite_uuid_storage:
        os.environ[SQLITE_UUID_STORAGE_ENV] = sqlite_uuid_storage
    return _run(tier, selection)


SELECTION_ENV = "CRM_MOCK_SELECTION"
CLI_JOB = "crm_mock_cli"


def _step_label(step_key: str) -> str:
    return step_key.replace("__", "/")


class _Progress:
    """Prints one line per finished step: time since the previous one and the process's peak memory."""

    last = time.monotonic()

    @classmethod
    def line(cls, status: str, step_key: str, detail: str = "") -> None:
        now = time.monotonic()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  {status:<4} {now - cls.last:6.1f}s {peak_mb:6.0f} MB peak  {_step_label(step_key)}{detail}",
              flush=True)
        cls.last = now


def cli_job():
    """The graph as one job with progress hooks; module-level so Dagster can reconstruct it. Built once per
    configuration: the in-process executor reconstructs it for every step."""
    from crm_mock.definitions import DATA_DIR_ENV, SCENARIO_ENV, SQLITE_UUID_STORAGE_ENV

    return _build_cli_job(os.environ.get(SELECTION_ENV, ""), os.environ.get(DATA_DIR_ENV, ""),
                          os.environ.get(SCENARIO_ENV, ""), os.environ.get(SQLITE_UUID_STORAGE_ENV, ""))


@functools.cache
def _build_cli_job(selection: str, data_dir: str, scenario: str, sqlite_uuid_storage: str):
    """All but ``selection`` only key the cache: the definitions read them from the environment."""
    import dagster as dg

    from crm_mock.defs.jobs import release_memory
    from crm_mock.definitions import defs

    @dg.success_hook
    def report_success(context: dg.HookContext) -> None:
        _Progress.line("ok", context.step_key)

    @dg.failure_hook
    def report_failure(context: dg.HookContext) -> None:
        _Progress.line("FAIL", context.step_key, f": {context.op_exception}")

    chosen = dg.AssetSelection.from_string(selection) if selection else dg.AssetSelection.all()
    job = dg.define_asset_job(CLI_JOB, selection=chosen, hooks={release_memory, report_success, report_failure})
    return dg.Definitions.merge(defs(), dg.Definitions(jobs=[job])).resolve_job_def(CLI_JOB)


def _run(tier: str, selection: str | None) -> int:
    import dagster as dg

    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    os.environ[SELECTION_ENV] = selection or ""
    started = _Progress.last = time.monotonic()
    print(f"crm-mock: materialising tier {tier!r}", flush=True)
    # execute_job rather than execute_in_process: the latter keeps every asset's value in memory
    # for inspection, which at the load tier is the sum of all tables
    with contextlib.ExitStack() as stack:
        if os.environ.get("DAGSTER_HOME"):
            instance = stack.enter_context(dg.DagsterInstance.get())
        else:
            instance = stack.enter_context(dg.DagsterInstance.ephemeral())
        # Dagster keeps the last reconstructed job per process; a second run in the same process (tests,
        # notebooks) with another selection or data directory must not reuse it
        from dagster._core.definitions.reconstruct import ReconstructableJob

        ReconstructableJob.get_definition.cache_clear()
        ReconstructableJob.get_repository_definition.cache_clear()
        result = dg.execute_job(
            dg.reconstructable(cli_job), instance=instance, tags={"dagster/partition": tier},
            run_config={"execution": {"config": {"in_process": {}}},
                        "loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        )
        failed_checks = [e for e in result.get_asset_check_evaluations() if not e.passed]
        loaded = {key.path[0]: mat.metadata["dagster/row_count"].value
                  for event in result.get_asset_materialization_events()
                  for mat in [event.event_specific_data.materialization]
                  for key in [mat.asset_key] if key.path[-1] == "database"}
        failures = [_step_label(e.step_key) for e in result.get_step_failure_events()]
        success = result.success
    for evaluation in failed_checks:
        sample = evaluation.metadata.get("sample")
        print(f"crm-mock: check failed: {evaluation.asset_key.to_user_string()} {evaluation.check_name}"
              f" (sample: {sample.value if sample else '-'})", file=sys.stderr)
    total = time.monotonic() - started
    if not success or failed_checks:
        print(f"crm-mock: tier {tier!r} FAILED after {total:.1f}s"
              + (f"; failed steps: {', '.join(failures)}" if failures else ""), file=sys.stderr)
        return EXIT_FAILED
    print(f"crm-mock: tier {tier!r} done in {total:.1f}s; service databases: "
          + ", ".join(f"{service} {rows:,} rows" for service, rows in sorted(loaded.items())))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
