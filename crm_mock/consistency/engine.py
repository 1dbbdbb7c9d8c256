"""The one rule engine: a rule finds offenders through a `Source`, the engine turns what it found into a
`RuleResult`. Within a service a rule is SQL; across services both sides stream in key order and are
merged here, so memory stays flat whatever the table size and wherever the services live."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from crm_mock.consistency.results import SAMPLE_SIZE
from crm_mock.consistency.sources import Source
from crm_mock.consistency.sql import Sql
from crm_mock.scenario import TierPlan
from crm_mock.sinks.values import canonical_uuid


class Tally:
    """How many offenders of one kind, and the first few of them (canonical UUIDs or a short problem)."""

    def __init__(self) -> None:
        self.count = 0
        self.sample: list[str] = []

    def add(self, offender: object) -> None:
        self.count += 1
        if len(self.sample) < SAMPLE_SIZE:
            self.sample.append(str(offender))


@dataclass
class Findings:
    """What a rule found: offenders by kind (a kind names what is wrong) and details for the report."""

    tallies: dict[str, Tally] = field(default_factory=dict)
    details: dict[str, object] = field(default_factory=dict)

    def kind(self, name: str) -> Tally:
        return self.tallies.setdefault(name, Tally())

    def add(self, kind: str, offender: object) -> None:
        self.kind(kind).add(offender)

    def count(self, kind: str, actual: int, expected: int) -> None:
        """An exact count the contract fixes (a quota)."""
        self.kind(kind)
        self.details[kind] = actual
        if actual != expected:
            self.add(kind, f"{actual}, not {expected}")


@dataclass
class RuleContext:
    """What a rule may use: the tier's tables through ``source`` and the tier's plan."""

    source: Source
    plan: TierPlan

    @property
    def sql(self) -> Sql:
        return self.source.sql

    def rows(self, service: str, query: str) -> Iterator[tuple]:
        return self.source.rows(service, query)

    def keys(self, service: str, query: str) -> Iterator[str]:
        """The first column of each row as a canonical key."""
        for row in self.source.rows(service, query):
            yield canonical_uuid(row[0])

    def uuid_storage(self, service: str):
        return self.source.uuid_storage(service)


def merge_sorted(left: Iterator[tuple], right: Iterator[tuple]) -> Iterator[tuple[str, tuple | None, tuple | None]]:
    """Full outer merge of two streams of rows sorted by their first (UUID key) column; yields the canonical
    key and the rows as the sources returned them. Keys repeat on the left only (a child stream against
    its parents): every left row with the same key meets the same right row."""
    a, b = next(left, None), next(right, None)
    while a is not None or b is not None:
        ka = canonical_uuid(a[0]) if a is not None else None
        kb = canonical_uuid(b[0]) if b is not None else None
        if b is None or (a is not None and ka < kb):
            yield ka, a, None
            a = next(left, None)
        elif a is None or kb < ka:
            yield kb, None, b
            b = next(right, None)
        else:
            yield ka, a, b
            a = next(left, None)
            if a is None or canonical_uuid(a[0]) != kb:
                b = next(right, None)
