"""What a rule is: a name for what it asserts, the table it reports on, the tables it reads, and how it
finds offenders. Written once, run by one engine (crm_mock.consistency.engine) on any `Source`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from crm_mock.consistency.engine import Findings, RuleContext
from crm_mock.consistency.results import SAMPLE_SIZE, RuleResult
from crm_mock.consistency.sources import Source
from crm_mock.model import CATALOG, Table
from crm_mock.scenario import TierPlan

Find = Callable[[RuleContext, Findings], None]


@dataclass(frozen=True)
class Rule:
    name: str  # what it asserts, e.g. "money_adds_up"; (name, table) is unique
    table: Table  # where it reports: the table whose rows offend
    description: str  # one line
    find: Find
    reads: tuple[str, ...] = ()  # the other tables ("service.table") it looks at
    blocking: bool = False  # a failure stops what builds on the table
    synced_from: str | None = None  # the master a replica or synced copy derives from, for the lineage

    @property
    def key(self) -> str:
        """Unique across the registry: "<name> <service>.<table>"."""
        return f"{self.name} {self.table.qualified_name}"

    @property
    def check_name(self) -> str:
        """Unique within a service: "<name>__<table>" (the check's name on the service's database)."""
        return f"{self.name}__{self.table.name}"

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(sorted({self.table.service, *(CATALOG[t].service for t in self.reads)}))

    @property
    def tables(self) -> tuple[str, ...]:
        return (self.table.qualified_name, *self.reads)

    def run(self, source: Source, plan: TierPlan) -> RuleResult:
        findings = Findings()
        self.find(RuleContext(source, plan), findings)
        offending = sum(t.count for t in findings.tallies.values())
        sample = tuple(s for t in findings.tallies.values() for s in t.sample)[:SAMPLE_SIZE]
        details = {kind: t.count for kind, t in findings.tallies.items()}
        details.update(findings.details)
        return RuleResult(self.name, self.table.qualified_name, offending == 0, offending, sample, details)


def rule(name: str, table: str, description: str, reads: Iterable[str] = (), blocking: bool = False,
         synced_from: str | None = None) -> Callable[[Find], Rule]:
    """Declare a rule on ``table`` from the function that finds its offenders."""
    def declare(find: Find) -> Rule:
        return Rule(name, CATALOG[table], description, find, tuple(reads), blocking, synced_from)
    return declare
