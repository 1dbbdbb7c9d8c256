"""`crm-mock`: runs the same asset graph as the Dagster UI, in process, from the command line."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import warnings
from collections.abc import Sequence
from functools import lru_cache
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
    run.add_argument("--executor", choices=("in_process", "multiprocess", "celery"),
                     help="run the steps in this process, in a process per step on this machine, or on the Celery "
                          "workers that consume $CRM_MOCK_CELERY_QUEUE at $CRM_MOCK_CELERY_BROKER (default: "
                          "$CRM_MOCK_EXECUTOR, else in_process; see the README, 'Running on Celery workers')")
    run.add_argument("--shards", type=int, metavar="N",
                     help="generate each big transaction table in N shard steps that run side by side under the "
                          "multiprocess or Celery executor; the tables are byte-identical whatever N (default: "
                          "$CRM_MOCK_SHARDS, else 1)")
    run.add_argument("--processes", type=int, metavar="N",
                     help="under the multiprocess executor, run at most N steps at once, each in its own process "
                          "(default: $CRM_MOCK_PROCESSES, else one per core; a stress-tier step can need 1 GiB)")
    run.add_argument("--progress-every", type=float, default=10.0, metavar="SECONDS",
                     help="when the output is not a terminal, print a step's progress at most every SECONDS "
                          "(default: 10; a line at least every 30 s while a step runs). On a terminal a bar "
                          "shows it")
    check = commands.add_parser("check", help="run the consistency rules against a tier's live service databases")
    check.add_argument("--tier", choices=TIERS, default="staging")
    check.add_argument("--json", action="store_true", help="print the results as JSON")
    check.add_argument("--list", action="store_true", help="list the rules with a one-line description, and exit")
    check.add_argument("--scenario", type=Path,
                       help="the scenario the tier was built from, for its quotas (default: $CRM_MOCK_SCENARIO "
                            "or the bundled default.yaml)")
    check.add_argument("--data-dir", type=Path, help="default: $CRM_MOCK_DATA_DIR or ./data")
    fixtures = commands.add_parser("export-fixtures", help="write the planted edge-case records of a tier")
    fixtures.add_argument("--tier", choices=TIERS, default="staging")
    fixtures.add_argument("--format", choices=("json", "yaml"), default="json")
    fixtures.add_argument("--output", type=Path, help="file to write (default: standard output)")
    fixtures.add_argument("--data-dir", type=Path, help="default: $CRM_MOCK_DATA_DIR or ./data")
    export = commands.add_parser("export", help="write a tier's tables as Parquet or CSV files for BI tools")
    export.add_argument("--tier", choices=TIERS, default="staging")
    export.add_argument("--format", choices=("parquet", "csv"), default="parquet",
                        help="parquet: service/table/part-NNNNN.parquet; csv: service/table.csv (default: parquet)")
    export.add_argument("--output", type=Path, required=True,
                        help="folder to write: new, empty or a previous export (which is replaced)")
    export.add_argument("--gzip", action="store_true", help="CSV only: write service/table.csv.gz")
    export.add_argument("--data-dir", type=Path, help="default: $CRM_MOCK_DATA_DIR or ./data")
    add_replay_parser(commands)
    ui = commands.add_parser("dev", help="start the Dagster UI and daemon (`dagster dev`) on the instance the "
                                         "CLI records its runs in; extra arguments go to `dagster dev`")
    ui.add_argument("dagster_args", nargs=argparse.REMAINDER, help="e.g. -p 3001")
    add_mapping_parser(commands)
    for command in (run, check, fixtures):
        add_mapping_option(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "dev":  # everything after `dev` is `dagster dev`'s
        return dev([*extra, *args.dagster_args])
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if (refused := apply_mapping_option(args)) is not None:
        return refused
    if args.command == "mapping":
        return mapping_command(args)
    if args.command == "materialize":
        return materialize(args.tier, args.scenario, args.data_dir, args.select, args.sqlite_uuid_storage,
                           args.executor, args.progress_every, args.shards, args.processes)
    if args.command == "check":
        if args.list:
            return list_rules()
        return check_live(args.tier, args.json, args.data_dir, args.scenario)
    if args.command == "export-fixtures":
        return export_fixtures(args.tier, args.format, args.output, args.data_dir)
    if args.command == "export":
        return export_tables(args.tier, args.format, args.output, args.gzip, args.data_dir)
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

    from crm_mock.consistency.registry import RULE_WORKERS, run_rules_side_by_side
    from crm_mock.consistency.sources import DatabaseSource
    from crm_mock.mapping.rules import rules_for
    from crm_mock.sinks.databases import Unreachable

    try:
        plan = plan_tier(load_scenario(scenario or os.environ.get("CRM_MOCK_SCENARIO") or None), tier)
        databases = _databases(data_dir)
        results = run_rules_side_by_side(lambda: DatabaseSource(databases, tier), plan, rules_for(databases),
                                         RULE_WORKERS)
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


def export_tables(tier: str, fmt: str, output: Path, gzip: bool, data_dir: Path | None) -> int:
    """0: written; 1: the tier is not materialised, or the export failed (nothing left behind); 2: refused."""
    import pyarrow as pa

    from crm_mock.sinks.export import ExportRefused, TableExport, TierNotMaterialised, export_tier
    from crm_mock.sinks.parquet import TableStore

    def line(done: TableExport) -> None:
        print(f"  {done.table:<28} {done.rows:>12,} rows {_size(done.bytes):>10} {done.seconds:>7.2f} s", flush=True)

    started = time.perf_counter()
    try:
        done = export_tier(TableStore(_data_dir(data_dir)), tier, output, fmt, gzip=gzip, progress=line)
    except ExportRefused as exc:
        print(f"crm-mock: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TierNotMaterialised as exc:
        print(f"crm-mock: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (OSError, pa.ArrowException) as exc:  # a full disk, a value the export's types refuse
        print(f"crm-mock: export of tier {tier!r} failed, {output} left as it was: {exc}", file=sys.stderr)
        return EXIT_FAILED
    rows, size = sum(d.rows for d in done), sum(d.bytes for d in done)
    print(f"crm-mock: exported tier {tier!r} as {fmt}{' (gzip)' if gzip else ''} to {output}: {len(done)} tables, "
          f"{rows:,} rows, {_size(size)} in {time.perf_counter() - started:.1f} s")
    return EXIT_OK


def _size(count: int) -> str:
    for unit in ("B", "kB", "MB"):
        if count < 1000:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:,.1f} GB"


def materialize(tier: str, scenario: Path | None, data_dir: Path | None, selection: str | None = None,
                sqlite_uuid_storage: str | None = None, executor: str | None = None,
                progress_every: float = 10.0, shards: int | None = None, processes: int | None = None) -> int:
    # refuse a bad scenario before anything is written
    try:
        plan_tier(load_scenario(scenario), tier)
    except ScenarioError as exc:
        print(f"crm-mock: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # the definitions read their configuration from the environment, as a code server would
    from crm_mock.defs.executors import (
        CELERY, EXECUTOR_ENV, PROCESSES_ENV, SHARDS_ENV, CelerySettings, ExecutorChoiceError, executor_choice,
        process_count, shard_count,
    )
    from crm_mock.defs.resources import DATA_DIR_ENV, SCENARIO_ENV, SQLITE_UUID_STORAGE_ENV

    if executor:
        os.environ[EXECUTOR_ENV] = executor
    if shards is not None:
        os.environ[SHARDS_ENV] = str(shards)
    if processes is not None:
        os.environ[PROCESSES_ENV] = str(processes)
    try:
        on_celery = executor_choice() == CELERY
        shard_count()
        process_count()
    except ExecutorChoiceError as exc:
        print(f"crm-mock: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if on_celery and (refused := CelerySettings.from_environment().why_a_run_cannot_start()):
        print(f"crm-mock: {refused}", file=sys.stderr)
        return EXIT_USAGE
    if scenario:
        os.environ[SCENARIO_ENV] = str(scenario.resolve())
    if data_dir or on_celery:  # workers run elsewhere: they get the table store's absolute path
        os.environ[DATA_DIR_ENV] = str(_data_dir(data_dir).resolve())
    if sqlite_uuid_storage:
        os.environ[SQLITE_UUID_STORAGE_ENV] = sqlite_uuid_storage
    return _run(tier, selection, progress_every)


def materialize_all_job(data_dir: str, scenario: str, sqlite_uuid_storage: str = "", selection: str = "",
                        tier: str = "", shards: str = ""):
    """The project's `materialize_all`, as the UI and the schedule run it (module-level: Dagster reconstructs
    it), or the part of it ``selection`` picks. The other arguments are the command's configuration, which
    the definitions read from the environment: they key Dagster's cache of reconstructed jobs (a second run in
    the same process with another configuration gets its own), and a Celery worker, reconstructing the job
    for a step, takes them over, so its steps read and write the tables the command was told to.

    Dagster reconstructs the job again and again in one run (its cache holds one job, and the run alternates
    between the job and its subsets): each job is built once per configuration, environment and scenario text.
    """
    text = Path(scenario).read_bytes() if scenario and Path(scenario).is_file() else b""  # else: refused below
    return _built_job(data_dir, scenario, sqlite_uuid_storage, selection, tier, shards,
                      tuple(sorted(os.environ.items())), text)


@lru_cache(maxsize=4)
def _built_job(data_dir: str, scenario: str, sqlite_uuid_storage: str, selection: str, tier: str, shards: str,
               environment: tuple, scenario_text: bytes):
    """The job for one command; ``environment`` and ``scenario_text`` only key the cache."""
    from crm_mock.definitions import defs
    from crm_mock.defs.jobs import MATERIALIZE_ALL
    from crm_mock.defs.executors import SHARDS_ENV
    from crm_mock.defs.resources import DATA_DIR_ENV, SCENARIO_ENV, SQLITE_UUID_STORAGE_ENV

    # while the definitions bind their resources only: a worker also runs steps of other runs (the UI's); the
    # shard count shapes the graph, so a worker must build the same one as the command
    command = {DATA_DIR_ENV: data_dir, SCENARIO_ENV: scenario, SQLITE_UUID_STORAGE_ENV: sqlite_uuid_storage,
               SHARDS_ENV: shards}
    saved = {name: os.environ.get(name) for name in command}
    try:
        for name, value in command.items():
            os.environ.pop(name, None)
            if value:
                os.environ[name] = value
        job = defs().resolve_job_def(MATERIALIZE_ALL)
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value
    if not selection:
        return job
    assets, checks = _resolve_selection(selection, tier, data_dir)
    return job.get_subset(asset_selection=assets, asset_check_selection=checks)


INVOCATION_TAG = "crm_mock/cli_invocation"


def _run(tier: str, selection: str | None, progress_every: float = 10.0) -> int:
    import dagster as dg

    from crm_mock.defs.executors import shard_count
    from crm_mock.defs.resources import CONFIRM_TAG, DATA_DIR_ENV, GUARDED_TIER, SCENARIO_ENV, SQLITE_UUID_STORAGE_ENV
    from crm_mock.instance import ensure_dagster_home
    from crm_mock.terminal import Display, StepFollower, listening

    if selection:  # before the job is built: building it resolves the selection too, with a traceback
        try:
            _resolve_selection(selection, tier, os.environ.get(DATA_DIR_ENV, ""))
        except Exception as exc:  # noqa: BLE001 - a selection Dagster cannot parse or match
            print(f"crm-mock: bad --select {selection!r}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    home = ensure_dagster_home()
    started = time.monotonic()
    print(f"crm-mock: materialising tier {tier!r} (run history: {home})", flush=True)
    job = dg.build_reconstructable_job(
        "crm_mock.cli", "materialize_all_job",
        reconstructable_args=(os.environ.get(DATA_DIR_ENV, ""), os.environ.get(SCENARIO_ENV, ""),
                              os.environ.get(SQLITE_UUID_STORAGE_ENV, ""), selection or "", tier, str(shard_count())))
    invocation = f"{os.getpid()}-{time.time_ns()}"
    tags = {"dagster/partition": tier, INVOCATION_TAG: invocation, "crm_mock/trigger": "crm-mock materialize"}
    if tier == GUARDED_TIER:  # naming the tier on the command line is the confirmation
        tags[CONFIRM_TAG] = GUARDED_TIER
    with dg.DagsterInstance.get() as instance:
        # execute_job rather than execute_in_process: the latter keeps every asset's value in memory
        # for inspection, which at the load tier is the sum of all tables
        display = Display(sys.stdout, every=progress_every)
        with StepFollower(instance, {INVOCATION_TAG: invocation}, display), listening(display):
            result = dg.execute_job(job, instance=instance, tags=tags,
                                    run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}})
        failed_checks = [e for e in result.get_asset_check_evaluations() if not e.passed]
        loaded = {key.path[0]: mat.metadata["dagster/row_count"].value
                  for event in result.get_asset_materialization_events()
                  for mat in [event.event_specific_data.materialization]
                  for key in [mat.asset_key] if key.path[-1] == "database"}
        failures = [e.step_key.replace("__", "/") for e in result.get_step_failure_events()]
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
    databases = ", ".join(f"{service} {rows:,} rows" for service, rows in sorted(loaded.items()))
    print(f"crm-mock: tier {tier!r} done in {total:.1f}s; "
          + (f"service databases: {databases}" if databases else "no service database in the selection"))
    return EXIT_OK


def _resolve_selection(selection: str, tier: str = "", data_dir: str = "") -> tuple[set, set]:
    """The assets a selection picks and their checks; the live checks only with the live report they read
    (without it they would judge an earlier report, or none), and a build check only when every table it
    reads is selected or already in the tier's table store (`--select 'group:master_data'` on a fresh data
    directory leaves out the checks that read the replicas)."""
    import dagster as dg

    from crm_mock.consistency.registry import registry
    from crm_mock.definitions import defs
    from crm_mock.defs.consistency.checks import LIVE_PREFIX, LIVE_REPORT_KEY
    from crm_mock.defs.tables import table_key
    from crm_mock.sinks.parquet import TableStore

    graph = defs().resolve_asset_graph()
    with warnings.catch_warnings():  # Dagster's own parser of 'group:…' warns about a beta parameter it passes
        warnings.simplefilter("ignore", dg.BetaWarning)
        keys = dg.AssetSelection.from_string(selection).resolve(graph)
    if not keys:
        raise ValueError("it selects no asset")
    store = TableStore(_data_dir(Path(data_dir) if data_dir else None))
    reads = {dg.AssetCheckKey(table_key(rule.table), rule.name): [table_key(t) for t in rule.reads]
             for rule in registry()}

    def readable(check: dg.AssetCheckKey) -> bool:
        return all(key in keys or (tier and store.exists(tier, tuple(key.path))) for key in reads.get(check, ()))

    checks = {c for c in graph.asset_check_keys if c.asset_key in keys
              and (not c.name.startswith(LIVE_PREFIX) or LIVE_REPORT_KEY in keys) and readable(c)}
    return keys, checks


WORKSPACE_YAML = """\
# crm_mock's code location, for `crm-mock dev` outside a checkout (the checkout has its own workspace.yaml)
load_from:
  - python_module:
      module_name: crm_mock.definitions
      location_name: crm_mock
"""
# `dagster dev` says it is superseded by `dg dev` (a separate CLI that needs a dg project layout): we keep
# `dagster dev` on purpose and silence that one message, nothing else
SUPERSEDED_DEV = "ignore:Function `dev_command` is superseded"


def dev_command(args: Sequence[str], home: Path, cwd: Path | None = None) -> list[str]:
    """`dagster dev` on the shared instance: the checkout's workspace.yaml when run from one, else the code
    location `crm_mock` from the installed package."""
    found = Path(sys.executable).with_name("dagster")
    command = [str(found) if found.exists() else shutil.which("dagster") or "dagster", "dev", *args]
    names_code = any(a in ("-w", "--workspace", "-m", "--module-name", "-f", "--python-file") for a in args)
    if not names_code and not ((cwd or Path.cwd()) / "workspace.yaml").is_file():
        workspace = home / "workspace.yaml"
        if not workspace.exists():
            workspace.write_text(WORKSPACE_YAML, encoding="utf-8")
        command += ["-w", str(workspace)]
    return command


def dev(args: Sequence[str]) -> int:
    from crm_mock.instance import ensure_dagster_home

    home = ensure_dagster_home()
    command = dev_command(args, home)
    warnings_filter = os.environ.get("PYTHONWARNINGS")
    os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [warnings_filter, SUPERSEDED_DEV]))
    print(f"crm-mock: {' '.join(command)} (run history: {home})", flush=True)
    os.execv(command[0], command)
    return EXIT_OK  # not reached


if __name__ == "__main__":
    sys.exit(main())
