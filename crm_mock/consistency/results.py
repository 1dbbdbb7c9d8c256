"""What a rule reports: pass/fail, how many rows offend, and which, so a tester can find them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

SAMPLE_SIZE = 10


@dataclass(frozen=True)
class RuleResult:
    rule: str
    table: str  # "service.table"
    passed: bool
    offending: int = 0
    sample: tuple[str, ...] = ()
    details: dict[str, object] = field(default_factory=dict)

    @property
    def service(self) -> str:
        return self.table.split(".")[0]


def rule_result(rule: str, table: str, offenders: Iterable[object], **details: object) -> RuleResult:
    """A result from the offending keys (or problem descriptions) of a rule; none means it passed."""
    offenders = list(offenders)
    return RuleResult(rule, table, not offenders, len(offenders),
                      tuple(str(o) for o in offenders[:SAMPLE_SIZE]), dict(details))


def combine(rule: str, table: str, results: Iterable[RuleResult]) -> RuleResult:
    results = list(results)
    failed = [r for r in results if not r.passed]
    sample = tuple(s for r in failed for s in r.sample)[:SAMPLE_SIZE]
    details = {r.rule: r.offending for r in results}
    return RuleResult(rule, table, not failed, sum(r.offending for r in failed), sample, details)
