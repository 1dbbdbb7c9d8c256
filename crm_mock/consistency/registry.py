"""The registry of named rules. The build checks, the database checks, the consistency sensor and
`crm-mock check` all read it, so they report the same rule names."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable
from functools import cache

from crm_mock.consistency.results import RuleResult
from crm_mock.consistency.rule import Rule
from crm_mock.consistency.rules import all_rules
from crm_mock.consistency.sources import Source
from crm_mock.scenario import TierPlan


RULE_WORKERS = max(2, min(4, os.cpu_count() or 2))  # threads that run live rules side by side


@cache
def registry() -> tuple[Rule, ...]:
    """Every rule, in a stable order: the model's per table first, then the contract's business rules."""
    rules = tuple(all_rules())
    keys = [r.key for r in rules]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise ValueError(f"rules declared twice: {duplicated}")
    return rules


def rules_on(table: str) -> tuple[Rule, ...]:
    return tuple(r for r in registry() if r.table.qualified_name == table)


def run_rules(source: Source, plan: TierPlan, rules: Iterable[Rule] | None = None,
              on_result: Callable[[], None] = lambda: None) -> list[RuleResult]:
    """The rules one after another; ``on_result`` is called as each finishes."""
    results = []
    for rule in registry() if rules is None else rules:
        results.append(rule.run(source, plan))
        on_result()
    return results


def run_rules_side_by_side(open_source: Callable[[], Source], plan: TierPlan, rules: Iterable[Rule],
                           workers: int = 2, on_result: Callable[[], None] = lambda: None) -> list[RuleResult]:
    """``run_rules`` on ``workers`` threads, each with a source of its own (its own connections), taking the
    next rule as it finishes one; the results come back in the rules' order. The databases do the heavy part
    of most rules (scans, joins, sorts) without holding the interpreter, so two cores check about twice as
    fast. A rule that raises stops the others after their current rule and is raised here. ``on_result`` is
    called (from the worker's thread) as each rule finishes."""
    rules = list(rules)
    if workers <= 1 or len(rules) <= 1:
        with open_source() as source:
            return run_rules(source, plan, rules, on_result)
    pending: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(rules)):
        pending.put(index)
    results: list[RuleResult | None] = [None] * len(rules)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            with open_source() as source:  # opened in its thread: SQLite connections stay in their thread
                while not failures:
                    try:
                        index = pending.get_nowait()
                    except queue.Empty:
                        return
                    results[index] = rules[index].run(source, plan)
                    on_result()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread below
            failures.append(exc)

    threads = [threading.Thread(target=work, name=f"crm-mock-rules-{n}") for n in range(min(workers, len(rules)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    assert all(result is not None for result in results)
    return results  # type: ignore[return-value]
