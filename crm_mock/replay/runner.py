"""`replay plan|run|status`: what the command line and the Dagster job call. Exit codes: 0 done,
1 failures or thresholds crossed, 2 a bad target file, an unreachable preflight or a ledger that belongs
to another plan or target."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from crm_mock.replay.broker import BrokerDriver
from crm_mock.replay.engine import Driver, Engine, Options, dry_run, plan_items
from crm_mock.replay.http import HttpDriver, secrets_of
from crm_mock.replay.ledger import Ledger, LedgerMismatch, ledger_path
from crm_mock.replay.openapi import validate_bodies
from crm_mock.replay.pacing import Pace
from crm_mock.replay.plan import PLAN_KEY, Plan, build_plan, read_plan, write_plan
from crm_mock.replay.redact import Redactor
from crm_mock.replay.report import Threshold, build_report, crossed, failed_by_default, markdown
from crm_mock.replay.target import Target, TargetError, load_target
from crm_mock.sinks.parquet import TableStore

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class ReplayRefused(RuntimeError):
    """The replay cannot start (bad target, unreachable system, foreign ledger): exit 2, nothing sent."""


def plan_for(store: TableStore, tier: str, rebuild: bool = False) -> Plan:
    """The tier's stored plan (the replay/plan asset); built and stored when there is none."""
    if not rebuild and store.exists(tier, PLAN_KEY):
        return read_plan(store, tier)
    try:
        plan = build_plan(store, tier)
    except FileNotFoundError as exc:
        raise ReplayRefused(f"{exc}; materialise the tier first (crm-mock materialize --tier {tier})") from None
    write_plan(store, plan)
    return plan


@dataclass
class PlanResult:
    plan: Plan
    violations: list = field(default_factory=list)
    checked: int = 0


def make_plan(data_dir: Path, tier: str, target_path: Path | None = None, validate: bool = False) -> PlanResult:
    plan = plan_for(TableStore(data_dir), tier, rebuild=True)
    result = PlanResult(plan)
    if validate:
        if target_path is None:
            raise ReplayRefused("--validate needs --target")
        target, base = _target(target_path)
        result.violations, result.checked = validate_bodies(target, base, plan_items(plan, target, None))
    return result


def _target(path: Path) -> tuple[Target, Path]:
    try:
        return load_target(path)
    except TargetError as exc:
        raise ReplayRefused(str(exc)) from None


@dataclass
class RunSettings:
    tier: str
    target_path: Path
    data_dir: Path
    dry_run: bool = False
    pace: str = "asap"
    max_gap: str = "5s"
    rate: float | None = None
    concurrency: int | None = None
    resume: bool = False  # require a ledger to resume from
    restart: bool = False
    report_path: Path | None = None
    fail_on: list[str] = field(default_factory=list)
    limit: int | None = None
    crash_after: int = 0
    verify: bool = True
    progress: Callable[[dict], None] | None = None


@dataclass
class RunResult:
    exit_code: int
    report: dict
    text: str


def _drivers(target: Target, redactor: Redactor, concurrency: int, rate: float | None) -> dict[str, Driver]:
    drivers: dict[str, Driver] = {}
    kinds = {e.driver for e in target.events.values()}
    if kinds & {"http", "expect"}:
        http = HttpDriver(target, redactor, concurrency, rate)
        drivers["http"] = drivers["expect"] = http
    if kinds & {"celery", "amqp"}:
        broker = BrokerDriver(target, redactor, concurrency, rate)
        drivers["celery"] = drivers["amqp"] = broker
    return drivers


async def _close(drivers: dict[str, Driver]) -> None:
    for driver in {id(d): d for d in drivers.values()}.values():
        await driver.aclose()


def run_replay(settings: RunSettings) -> RunResult:
    try:
        thresholds = [Threshold.parse(t) for t in settings.fail_on]
        pace = Pace.parse(settings.pace, settings.max_gap)
    except ValueError as exc:
        raise ReplayRefused(str(exc)) from None
    target, _ = _target(settings.target_path)
    redactor = Redactor(secrets_of(target), [s.auth.header for s in target.services.values() if s.auth])
    plan = plan_for(TableStore(settings.data_dir), settings.tier)
    items = plan_items(plan, target, settings.limit)
    concurrency = settings.concurrency or target.concurrency
    if settings.dry_run:
        drivers = _drivers(target, redactor, concurrency, settings.rate)
        try:
            summary = dry_run(items, drivers)
        finally:
            asyncio.run(_close(drivers))
        report = json.loads(redactor.text(json.dumps({"dry_run": True, "plan_hash": plan.plan_hash, **summary},
                                                     default=str), None))
        text = (f"dry run: nothing sent. Would send {sum(summary['would_send'].values())} events "
                f"({', '.join(f'{k} {v}' for k, v in summary['would_send'].items())}) and verify "
                f"{sum(summary['would_verify'].values())}.\n" + json.dumps(report["first"], indent=2, ensure_ascii=False))
        return RunResult(EXIT_OK, report, text)

    path = ledger_path(settings.data_dir, settings.tier, target.name)
    if settings.resume and not path.exists():
        raise ReplayRefused(f"--resume: there is no ledger to resume from ({path})")
    ledger = Ledger(path)
    try:
        try:
            resumed = ledger.bind(plan.plan_hash, target.fingerprint(), settings.tier, target.name, settings.restart)
        except LedgerMismatch as exc:
            raise ReplayRefused(str(exc)) from None
        ledger.add_events((it.seq, it.event_id, it.kind, it.key, it.idempotency_key)
                          for it in items if it.spec is not None)
        options = Options(concurrency=concurrency, pace=pace, limit=settings.limit, crash_after=settings.crash_after,
                          progress=settings.progress, verify=settings.verify)
        timing = asyncio.run(_drive(target, items, ledger, options, redactor, settings.rate))
        report = build_report(ledger, redactor, {"resumed": resumed, "ledger": str(path), "timing": timing})
    finally:
        ledger.close()
    report["thresholds_crossed"] = crossed(report, thresholds)
    failed = failed_by_default(report) or bool(report["thresholds_crossed"])
    text = markdown(report)
    if settings.report_path:
        _write_report(settings.report_path, report, text)
    return RunResult(EXIT_FAILED if failed else EXIT_OK, report, text)


async def _drive(target: Target, items, ledger: Ledger, options: Options, redactor: Redactor, rate) -> dict:
    """Preflight, the drive phase, the verify phase; returns their durations and the send rate."""
    drivers = _drivers(target, redactor, options.concurrency, rate)
    try:
        problems = [p for d in {id(d): d for d in drivers.values()}.values() for p in await d.preflight()]
        if problems:
            raise ReplayRefused("preflight failed, nothing sent:\n" + "\n".join(f"  {p}" for p in problems))
        engine = Engine(target, items, drivers, ledger, options)
        if "http" in drivers:
            drivers["http"].bind_captures(engine.captures)
        started = time.perf_counter()
        await engine.run()
        drive_s = time.perf_counter() - started
        if options.verify:
            await engine.verify()
        return {"drive_s": round(drive_s, 3), "sent": engine.sends_finished,
                "sent_per_s": round(engine.sends_finished / drive_s, 1) if drive_s > 0 else None,
                "verify_s": round(time.perf_counter() - started - drive_s, 3)}
    finally:
        await _close(drivers)


def _write_report(path: Path, report: dict, text: str) -> None:
    """``--report x.json`` writes JSON, anything else Markdown; both when the path has no suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    elif path.suffix:
        path.write_text(text, encoding="utf-8")
    else:
        path.with_suffix(".json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
        path.with_suffix(".md").write_text(text, encoding="utf-8")


def status(data_dir: Path, tier: str, target_path: Path) -> RunResult:
    target, _ = _target(target_path)
    path = ledger_path(data_dir, tier, target.name)
    if not path.exists():
        raise ReplayRefused(f"no replay of tier {tier!r} against {target.name!r} yet (no {path})")
    redactor = Redactor(secrets_of(target))
    with Ledger(path) as ledger:
        report = build_report(ledger, redactor, {"ledger": str(path)})
    return RunResult(EXIT_FAILED if failed_by_default(report) else EXIT_OK, report, markdown(report))
