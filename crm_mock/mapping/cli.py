"""`crm-mock mapping draft|diff|check`, and ``--mapping`` for materialize, check and export-fixtures: argument
parsing and printing; the work is in the other modules of crm_mock.mapping."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from crm_mock.scenario import TIERS

EXIT_OK, EXIT_DIFFERS, EXIT_USAGE = 0, 1, 2
MAPPING_ENV = "CRM_MOCK_MAPPING"  # also crm_mock.mapping.port.MAPPING_ENV


def add_mapping_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mapping", action="append", type=Path, metavar="FILE",
                        help="load or read the services' own tables through this mapping (repeatable; a folder "
                             f"stands for its YAML files; default: ${MAPPING_ENV})")


def apply_mapping_option(args: argparse.Namespace) -> int | None:
    """Make ``--mapping`` the process's mapping (the Dagster definitions read it from the environment) and
    check the file(s) before anything runs: an exit code when they cannot be used, else None."""
    if getattr(args, "mapping", None) and args.command != "mapping":
        os.environ[MAPPING_ENV] = os.pathsep.join(str(p) for p in args.mapping)
    paths = [p for p in os.environ.get(MAPPING_ENV, "").split(os.pathsep) if p]
    if not paths or args.command == "mapping":
        return None
    from crm_mock.mapping.spec import MappingError, load_mapping

    try:
        load_mapping(paths)
    except MappingError as exc:
        print(f"crm-mock: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return None


def add_mapping_parser(commands: argparse._SubParsersAction) -> None:
    mapping = commands.add_parser("mapping", help="load into the services' own tables: draft a mapping from a "
                                                  "service's schema, compare one with it, check one")
    actions = mapping.add_subparsers(dest="mapping_command", required=True)
    draft = actions.add_parser("draft", help="propose a mapping for one service from its live schema (YAML on "
                                             "standard output, TODOs marked)")
    draft.add_argument("--service", required=True)
    draft.add_argument("--url", required=True, help="the service's database as a SQLAlchemy URL (its password is "
                                                    "never printed)")
    draft.add_argument("--schema", help="PostgreSQL schema of its tables (default: the connection's)")
    draft.add_argument("--output", type=Path, help="write here instead of standard output")
    diff = actions.add_parser("diff", help="how a mapping and the live schemas differ (exit 1 when they do)")
    check = actions.add_parser("check", help="check a mapping against the live databases and a tier's rows, "
                                             "writing nothing (exit 2 with the problems)")
    for p in (diff, check):
        p.add_argument("--mapping", action="append", type=Path, required=True, metavar="FILE")
        p.add_argument("--tier", choices=TIERS, default="staging")
        p.add_argument("--service", help="only this service")
        p.add_argument("--data-dir", type=Path, help="default: $CRM_MOCK_DATA_DIR or ./data")
    diff.add_argument("--url", help="compare with this database (one --service) instead of the tier's")
    bodies = actions.add_parser("replay-bodies", help="the replay target's bodies as the mapping spells the tables "
                                                      "(YAML to paste under a target file's events)")
    bodies.add_argument("--mapping", action="append", type=Path, required=True, metavar="FILE")


def mapping_command(args: argparse.Namespace) -> int:
    from crm_mock.mapping.spec import MappingError
    from crm_mock.sinks.databases import Unreachable

    try:
        if args.mapping_command == "draft":
            return _draft(args)
        if args.mapping_command == "diff":
            return _diff(args)
        if args.mapping_command == "replay-bodies":
            return _replay_bodies(args)
        return _check(args)
    except MappingError as exc:
        print(f"crm-mock: {exc}", file=sys.stderr)
    except Unreachable as exc:
        print(f"crm-mock: {exc}", file=sys.stderr)
    return EXIT_USAGE


def _engine(url: str):
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    try:
        parsed = sa.engine.make_url(url)
    except Exception:  # noqa: BLE001 - the URL may hold a password: never echo it
        raise SystemExit("crm-mock: --url is not a valid SQLAlchemy URL") from None
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return sa.create_engine(parsed, poolclass=NullPool), parsed.render_as_string(hide_password=True)


def _live(url: str, schemas: set):
    import sqlalchemy as sa

    from crm_mock.mapping.live import read_live
    from crm_mock.sinks.databases import Unreachable

    engine, shown = _engine(url)
    try:
        with engine.connect() as connection:
            return read_live(connection, schemas), shown
    except sa.exc.DBAPIError as exc:
        raise Unreachable(f"{shown} is unreachable: {str(exc.orig).strip().splitlines()[0]}") from None
    finally:
        engine.dispose()


def _draft(args: argparse.Namespace) -> int:
    from crm_mock.mapping.draft import draft_service
    from crm_mock.model import SERVICES

    if args.service not in SERVICES:
        print(f"crm-mock: unknown service {args.service!r}; choose one of {', '.join(SERVICES)}", file=sys.stderr)
        return EXIT_USAGE
    live, shown = _live(args.url, {args.schema})
    text = draft_service(args.service, live, args.schema, shown)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"crm-mock: wrote the draft mapping of {args.service} to {args.output} "
              f"({text.count('TODO')} TODO mark(s) to check)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _port(args: argparse.Namespace):
    from crm_mock.mapping.port import MappedDatabases
    from crm_mock.mapping.spec import load_mapping
    from crm_mock.sinks.databases import service_databases

    data_dir = args.data_dir or Path(os.environ.get("CRM_MOCK_DATA_DIR") or "data")
    inner = service_databases(os.environ.get("CRM_MOCK_DATABASE_URL", ""), data_dir)
    return MappedDatabases(inner, load_mapping(args.mapping)), data_dir


def _services(args: argparse.Namespace, mapping) -> list[str]:
    if args.service:
        if args.service not in mapping:
            raise SystemExit(f"crm-mock: the mapping has no service {args.service!r}")
        return [args.service]
    return sorted(mapping.services)


def _diff(args: argparse.Namespace) -> int:
    from crm_mock.mapping.diff import diff_service
    from crm_mock.mapping.live import read_live
    from crm_mock.mapping.spec import load_mapping
    from crm_mock.sinks.databases import Unreachable

    if args.url:
        mapping = load_mapping(args.mapping)
        if not args.service:
            print("crm-mock: --url compares one service: give --service", file=sys.stderr)
            return EXIT_USAGE
        spec = mapping.services.get(args.service)
        live, _ = _live(args.url, {t.schema_ or spec.schema_ for t in spec.tables.values()} if spec else {None})
        diffs = [diff_service(mapping, s, live) for s in _services(args, mapping)]
    else:
        port, _ = _port(args)
        diffs = []
        for service in _services(args, port.mapping):
            spec = port.mapping.services[service]
            try:
                with port.inner.connect(args.tier, service) as connection:
                    live = read_live(connection, {t.schema_ or spec.schema_ for t in spec.tables.values()})
            except Unreachable as exc:
                print(f"crm-mock: {exc}", file=sys.stderr)
                return EXIT_USAGE
            diffs.append(diff_service(port.mapping, service, live))
    for d in diffs:
        print(d.render())
    return EXIT_DIFFERS if any(d.differs for d in diffs) else EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from crm_mock.generate.drift import drift_batches
    from crm_mock.mapping.datacheck import check_rows
    from crm_mock.scenario import load_scenario, plan_tier
    from crm_mock.sinks.parquet import TableStore

    port, data_dir = _port(args)
    plan = plan_tier(load_scenario(os.environ.get("CRM_MOCK_SCENARIO") or None), args.tier)
    store, failed = TableStore(data_dir), False

    def source(name: str):
        return lambda: drift_batches(plan, name, store.model_batches(args.tier, name))

    for service in _services(args, port.mapping):
        resolved = port.resolved(args.tier, service)  # MappingMismatch lists what the schema refuses
        if all(store.exists(args.tier, (service, name)) for name in resolved.tables):
            problems = check_rows(resolved, {t.model.name: source(t.model.qualified_name)
                                             for t in resolved.tables.values()})
            print(f"{service}: " + ("the mapping fits the schema and the rows" if not problems
                                    else f"{len(problems)} problem(s)"))
        else:
            problems = []
            print(f"{service}: the mapping fits the schema (tier {args.tier!r} is not materialised in {data_dir}: "
                  "rows not checked)")
        failed = failed or bool(problems)
        for p in problems:
            print(f"  - {p}")
    return EXIT_USAGE if failed else EXIT_OK


def _replay_bodies(args: argparse.Namespace) -> int:
    import yaml

    from crm_mock.mapping.replay import mapped_bodies
    from crm_mock.mapping.spec import load_mapping

    bodies = mapped_bodies(load_mapping(args.mapping))
    document = {"events": {e: {"body": b.model_dump(exclude_defaults=True)} for e, b in bodies.items()}}
    sys.stdout.write("# bodies from the mapping: put each under the event's http, celery (kwargs) or amqp section\n")
    sys.stdout.write(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120))
    return EXIT_OK
