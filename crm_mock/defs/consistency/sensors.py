"""`service_consistency_sensor`: keeps checking every loaded tier's live databases and reports what changed.

Each tick runs the live rules of every reachable tier and compares each rule's result (pass/fail, count,
sample of offending UUIDs) with the one the cursor remembers. For a tier where something changed (or that
it sees for the first time) it launches a `live_consistency` run for that tier with only the changed
checks: the results are stored by a run, per tier (partition), so they can be stored again on every change
(Dagster 1.13 stores a runless, partitioned check evaluation only once per partition), and the history
shows changes, not the same rows every five minutes. A tick with nothing new is skipped with what it found:
"staging: 2 rules failing: …".
"""


import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg

from crm_mock.consistency.results import RuleResult
from crm_mock.consistency.rule import Rule
from crm_mock.defs.consistency.checks import (LIVE_JOB, LIVE_REPORT_KEY, evaluate_tier, failing_line,
                                              live_check_key, live_consistency)
from crm_mock.defs.consistency.repair import REPROPAGATE, repropagate_job
from crm_mock.defs.resources import ScenarioResource, ServiceDatabaseResource, resources_from_environment
from crm_mock.scenario import TIERS
from crm_mock.sinks.databases import Unreachable

AUTO_REPAIR_ENV = "CRM_MOCK_AUTO_REPROPAGATE"
INTERVAL_ENV = "CRM_MOCK_CONSISTENCY_INTERVAL_SECONDS"
CURSOR_VERSION = 1
REPAIRABLE = ("replica_in_sync", "credit_hold_synced")

TierResults = Sequence[tuple[Rule, RuleResult]]


def result_digest(result: RuleResult) -> str:
    """What makes a result different for a person reading it: pass/fail, how many, which."""
    seen = json.dumps([result.passed, result.offending, list(result.sample)])
    return hashlib.sha256(seen.encode()).hexdigest()[:12]


@dataclass
class Cursor:
    """Per tier: how many changes it has seen (names the runs) and each live check's last result digest."""

    changes: dict[str, int] = field(default_factory=dict)
    digests: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None) -> "Cursor":
        data = json.loads(text) if text else {}
        if data.get("version") != CURSOR_VERSION:
            return cls()  # first tick, or an older layout: everything counts as new
        return cls(dict(data["changes"]), {tier: dict(d) for tier, d in data["digests"].items()})

    def dumps(self) -> str:
        return json.dumps({"version": CURSOR_VERSION, "changes": self.changes, "digests": self.digests},
                          sort_keys=True, separators=(",", ":"))


@dataclass
class TickPlan:
    run_requests: list[dg.RunRequest]
    cursor: Cursor
    lines: list[str]  # what the tick found, one line per tier


def plan_tick(previous: Cursor, found: Mapping[str, TierResults | Unreachable], auto_repair: bool) -> TickPlan:
    """Pure: which runs to request and the next cursor, from what each tier's rules found."""
    cursor = Cursor(dict(previous.changes), {tier: dict(d) for tier, d in previous.digests.items()})
    requests, lines, absent = [], [], []
    for tier in TIERS:
        results = found.get(tier)
        if results is None or isinstance(results, Unreachable):
            absent.append(tier)
            continue
        keys = {live_check_key(rule).to_user_string(): live_check_key(rule) for rule, _ in results}
        current = {name: result_digest(r) for name, (_, r) in zip(keys, results)}
        before = cursor.digests.get(tier, {})
        changed = [key for name, key in keys.items() if before.get(name) != current[name]]
        line = failing_line(tier, results)
        if not changed:
            lines.append(f"{line} (unchanged)")
            continue
        sequence = cursor.changes.get(tier, 0) + 1
        cursor.changes[tier], cursor.digests[tier] = sequence, current
        lines.append(f"{line} ({len(changed)} changed)")
        failing = sum(not r.passed for _, r in results)
        requests.append(dg.RunRequest(
            run_key=f"live-{tier}-{sequence}", job_name=LIVE_JOB, partition_key=tier,
            asset_selection=[LIVE_REPORT_KEY], asset_check_keys=changed,
            tags={"crm_mock/trigger": "service_consistency_sensor", "crm_mock/failing_rules": str(failing)}))
        repairable = [r for _, r in results if not r.passed and r.rule in REPAIRABLE]
        if auto_repair and repairable:
            requests.append(dg.RunRequest(
                run_key=f"repropagate-{tier}-{sequence}", job_name=REPROPAGATE,
                run_config={"ops": {"repropagate_replicas": {"config": {"tier": tier}}}},
                tags={"crm_mock/tier": tier, "crm_mock/trigger": "service_consistency_sensor"}))
    if absent:
        lines.append(f"not loaded or unreachable: {', '.join(absent)}")
    return TickPlan(requests, cursor, lines)


def evaluate(scenario: ScenarioResource, databases: ServiceDatabaseResource) -> dict[str, TierResults | Unreachable]:
    found: dict[str, TierResults | Unreachable] = {}
    for tier in TIERS:
        try:
            found[tier] = evaluate_tier(databases, scenario.plan(tier))
        except Unreachable as exc:
            found[tier] = exc
    return found


def consistency_sensor(jobs: Sequence[object]) -> dg.SensorDefinition:
    interval = int(os.environ.get(INTERVAL_ENV) or 300)

    @dg.sensor(name="service_consistency_sensor", minimum_interval_seconds=interval, jobs=list(jobs),
               default_status=dg.DefaultSensorStatus.STOPPED,
               description=f"Checks every loaded tier's live service databases (every {interval} s; "
                           f"{INTERVAL_ENV}) and, when a rule's result changed, launches live_consistency for "
                           f"that tier with the changed checks. {AUTO_REPAIR_ENV}=1 also launches repropagate "
                           "on replica drift.")
    def service_consistency_sensor(context: dg.SensorEvaluationContext, scenario: ScenarioResource,
                                   databases: ServiceDatabaseResource):
        auto_repair = os.environ.get(AUTO_REPAIR_ENV, "").lower() in ("1", "true", "yes")
        found = evaluate(scenario, databases)
        if all(isinstance(f, Unreachable) for f in found.values()):
            return dg.SkipReason("no tier's databases are reachable: " + "; ".join(str(f) for f in found.values()))
        plan = plan_tick(Cursor.parse(context.cursor), found, auto_repair)
        for line in plan.lines:
            context.log.info(line)
        if not plan.run_requests:
            return dg.SensorResult(skip_reason="; ".join(plan.lines), cursor=plan.cursor.dumps())
        return dg.SensorResult(run_requests=plan.run_requests, cursor=plan.cursor.dumps())

    return service_consistency_sensor


@dg.definitions
def defs() -> dg.Definitions:
    repropagate = repropagate_job(resources_from_environment())
    return dg.Definitions(jobs=[repropagate], sensors=[consistency_sensor([live_consistency, repropagate])])
