"""The live rules against a tier's service databases: one report per tier (`consistency/live_report`), and each
rule as a check on the table it is about, so drift shows on the replica that drifted.

The report runs every rule of the registry once, through the database port, and keeps the results in the
table store; the checks read them from there (one step for all). A rule's live check is its build check's
name with `live_` before it. The `live_consistency` job (report + checks) is what the consistency sensor
launches for a tier whose results changed.
"""


import json
from collections.abc import Iterable, Sequence

import dagster as dg
import pyarrow as pa

from crm_mock.consistency.registry import RULE_WORKERS, registry, run_rules_side_by_side
from crm_mock.consistency.results import RuleResult
from crm_mock.consistency.rule import Rule
from crm_mock.consistency.sources import DatabaseSource
from crm_mock.defs.checks import check_result
from crm_mock.defs.partitions import TIER_PARTITIONS
from crm_mock.defs.progress import step_tracker
from crm_mock.defs.resources import ScenarioResource, ServiceDatabaseResource
from crm_mock.scenario import TierPlan
from crm_mock.defs.tables import database_key, table_key
from crm_mock.generate.progress import active, phase
from crm_mock.mapping.rules import rules_for
from crm_mock.model import SERVICES

LIVE_REPORT_KEY = dg.AssetKey(["consistency", "live_report"])
LIVE_JOB = "live_consistency"
LIVE_PREFIX = "live_"
LIVE_RULES: tuple[Rule, ...] = registry()
REPORT_SCHEMA = pa.schema([("check", pa.string()), ("rule", pa.string()), ("table", pa.string()),
                           ("passed", pa.bool_()), ("offending", pa.int64()), ("sample", pa.list_(pa.string())),
                           ("details", pa.string())])


def live_check_key(rule: Rule) -> dg.AssetCheckKey:
    """On the table the rule is about: `live_replica_in_sync` on `orders/account_replica`."""
    return dg.AssetCheckKey(table_key(rule.table), LIVE_PREFIX + rule.name)


def evaluate_tier(databases: ServiceDatabaseResource, plan: TierPlan) -> list[tuple[Rule, RuleResult]]:
    """Every rule of a tier on its live databases; raises Unreachable when one is missing or unreachable."""
    port = databases.port()  # through a mapping: the rules on what it loads
    rules = rules_for(port, LIVE_RULES, keep_skipped=True)
    checked = phase("rules", len(rules), unit="rules")  # in a step: rules done of all, rate and ETA
    return list(zip(LIVE_RULES, run_rules_side_by_side(lambda: DatabaseSource(port, plan.tier), plan, rules,
                                                       RULE_WORKERS, on_result=lambda: checked.advance(1))))


def live_metadata(rule: Rule) -> dict:
    if not rule.synced_from:
        return {}
    # the master asset the drifted replica derives from: one click to the source in the lineage
    return {"master_asset": dg.MetadataValue.asset(table_key(rule.synced_from))}


def report_table(results: Iterable[tuple[Rule, RuleResult]]) -> pa.Table:
    rows = [{"check": live_check_key(rule).to_user_string(), "rule": r.rule, "table": r.table, "passed": r.passed,
             "offending": r.offending, "sample": list(r.sample),
             "details": json.dumps(r.details, default=str, sort_keys=True)}
            for rule, r in results]
    return pa.Table.from_pylist(rows, schema=REPORT_SCHEMA)


def results_from_report(report: pa.Table) -> dict[str, RuleResult]:
    """By check (a rule's name repeats across services: three `account_replica`s)."""
    return {row["check"]: RuleResult(row["rule"], row["table"], row["passed"], row["offending"], tuple(row["sample"]),
                                    json.loads(row["details"]))
            for row in report.to_pylist()}


def failing_line(tier: str, results: Sequence[tuple[Rule, RuleResult]]) -> str:
    """What a tier's rules found, in one line: "staging: 2 rules failing: live_… on orders/… (1 row), …"."""
    failed = [(rule, r) for rule, r in results if not r.passed]
    if not failed:
        return f"{tier}: all {len(results)} rules pass"
    named = ", ".join(f"{live_check_key(rule).name} on {table_key(rule.table).to_user_string()} "
                      f"({r.offending} row{'s' if r.offending != 1 else ''})" for rule, r in failed)
    return f"{tier}: {len(failed)} rule{'s' if len(failed) != 1 else ''} failing: {named}"


def _markdown(results: Sequence[tuple[Rule, RuleResult]]) -> str:
    lines = ["| check | asset | offending | sample |", "|---|---|---:|---|"]
    for rule, r in results:
        if not r.passed:
            lines.append(f"| {live_check_key(rule).name} | {table_key(rule.table).to_user_string()} | "
                         f"{r.offending} | {', '.join(r.sample)} |")
    return "\n".join(lines) if len(lines) > 2 else "Every rule passes."


@dg.asset(
    key=LIVE_REPORT_KEY, group_name="consistency", partitions_def=TIER_PARTITIONS, kinds={"sql"},
    deps=[database_key(s) for s in SERVICES], io_manager_key="table_io_manager", tags={"service": "all"},
    description="Every live consistency rule run once against the tier's service databases as they are now "
                "(replicas in sync, references resolve, credit holds mirrored, money/time/stock invariants). "
                "Each rule is also a `live_…` check on the table it is about. Rematerialised by "
                "service_consistency_sensor when a result changes, so its history is the history of the drift.",
)
def live_report(context: dg.AssetExecutionContext, scenario: ScenarioResource,
                databases: ServiceDatabaseResource) -> dg.MaterializeResult:
    tier = context.partition_key
    # rules done of all, with rate and ETA, in the run's logs and the CLI while they read the databases
    with step_tracker(context) as tracker, active(tracker):
        results = evaluate_tier(databases, scenario.plan(tier))
    failing = [(rule, r) for rule, r in results if not r.passed]
    return dg.MaterializeResult(value=report_table(results), metadata={
        "dagster/row_count": len(results),
        "failing_rules": len(failing),
        "found": failing_line(tier, results),
        "failing": dg.MetadataValue.md(_markdown(results)),
    })


def _description(rule: Rule) -> str:
    where = ", ".join(f"{s}/database" for s in rule.services)
    return f"{rule.description} Checked on the live databases ({where}); from consistency/live_report."


@dg.multi_asset_check(
    name="live_rules", can_subset=True,
    specs=[dg.AssetCheckSpec(live_check_key(rule).name, asset=table_key(rule.table), description=_description(rule),
                             partitions_def=TIER_PARTITIONS, additional_deps=[LIVE_REPORT_KEY])
           for rule in LIVE_RULES],
    ins={"report": dg.AssetIn(key=LIVE_REPORT_KEY)},
)
def live_rule_checks(context: dg.AssetCheckExecutionContext, report: pa.Table):
    results = results_from_report(report)
    for rule in LIVE_RULES:
        key = live_check_key(rule)
        if key in context.selected_asset_check_keys:
            yield check_result(results[key.to_user_string()], key, live_metadata(rule))


LIVE_CHECK_KEYS = tuple(live_check_key(rule) for rule in LIVE_RULES)

live_consistency = dg.define_asset_job(
    LIVE_JOB, selection=dg.AssetSelection.assets(LIVE_REPORT_KEY).without_checks()
    | dg.AssetSelection.checks(*LIVE_CHECK_KEYS),
    description="Run the live consistency rules against a tier's service databases (report + live_… checks); "
                "changes nothing. The consistency sensor launches it with only the checks whose result changed.",
)

@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[live_report], asset_checks=[live_rule_checks], jobs=[live_consistency])
