"""The live rules on threads side by side (`run_rules_side_by_side`), against a real loaded smoke tier: the
same results in the same order as one after another, each thread with connections of its own, and a rule
that raises raised in the caller."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from crm_mock.consistency.registry import run_rules, run_rules_side_by_side
from crm_mock.consistency.sources import DatabaseSource, Unreachable
from crm_mock.defs.consistency.checks import LIVE_RULES
from crm_mock.scenario import load_scenario, plan_tier
from crm_mock.sinks.databases import service_databases


@pytest.fixture(scope="module")
def live(smoke_run):
    databases = service_databases("", str(smoke_run.data_dir))
    plan = plan_tier(load_scenario(), "smoke")
    return databases, plan


def _outcome(results):
    return [(r.rule, r.table, r.passed, r.offending, tuple(r.sample)) for r in results]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_side_by_side_gives_the_results_of_one_after_another(live, workers: int):
    databases, plan = live
    with DatabaseSource(databases, "smoke") as source:
        alone = run_rules(source, plan, LIVE_RULES)
    opened: list[str] = []

    def open_source():
        opened.append(threading.current_thread().name)
        return DatabaseSource(databases, "smoke")

    finished: list[int] = []
    together = run_rules_side_by_side(open_source, plan, LIVE_RULES, workers, on_result=lambda: finished.append(1))
    assert _outcome(together) == _outcome(alone) and len(together) == len(LIVE_RULES) > 30
    assert len(finished) == len(LIVE_RULES)  # each rule heard once as it finishes (the step's progress)
    assert len(opened) == workers  # one source per thread, opened in that thread
    if workers > 1:
        assert threading.main_thread().name not in opened


def test_a_rule_that_raises_is_raised_in_the_caller(live):
    databases, plan = live

    def broken(ctx, found):
        raise RuntimeError("rule broke")

    rules = list(LIVE_RULES)
    rules[3] = dataclasses.replace(rules[3], find=broken)
    with pytest.raises(RuntimeError, match="rule broke"):
        run_rules_side_by_side(lambda: DatabaseSource(databases, "smoke"), plan, rules, 2)


def test_an_unreachable_tier_is_named_as_before(tmp_path, live):
    _, plan = live
    nowhere = service_databases("", str(tmp_path))
    with pytest.raises(Unreachable):
        run_rules_side_by_side(lambda: DatabaseSource(nowhere, "smoke"), plan, LIVE_RULES, 2)
