"""What only the rows can show about a mapping (values longer than a narrower column, numbers out of a
smaller type's range, nulls where the service says NOT NULL, duplicates under the service's unique
constraints), gathered batch by batch while the rows are converted, each with an example."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from crm_mock.mapping.convert import target_batch
from crm_mock.mapping.resolve import DataCheck, MappedService, MappedTable
from crm_mock.sinks.sqlite import BatchSource

EXAMPLES = 3


@dataclass
class _Tally:
    check: DataCheck
    count: int = 0
    worst: object = None
    examples: list = field(default_factory=list)
    parts: list = field(default_factory=list)  # unique: the checked columns, batch by batch


class DataChecker:
    """Observes target batches of mapped tables; ``problems`` says what would not fit."""

    def __init__(self) -> None:
        self._tallies: dict[str, list[_Tally]] = {}

    def start(self, table: MappedTable) -> None:
        self._tallies[table.qualified] = [_Tally(c) for c in table.checks]

    def observe(self, table: MappedTable, batch: pa.RecordBatch) -> bool:
        """Tally ``batch``; False once any check of the table has failed."""
        ok = True
        for tally in self._tallies[table.qualified]:
            check = tally.check
            column = batch.column(check.columns[0])
            if check.kind == "max_length":
                lengths = pc.utf8_length(column)
                over = pc.greater(lengths, check.limit)
                bad = pc.filter(column, over)
                if len(bad):
                    tally.count += len(bad)
                    tally.worst = max(tally.worst or 0, pc.max(lengths).as_py())
                    tally.examples += bad.slice(0, EXAMPLES - len(tally.examples)).to_pylist()
            elif check.kind == "range":
                low, high = check.limit
                bad = pc.filter(column, pc.or_(pc.less(column, low), pc.greater(column, high)))
                if len(bad):
                    tally.count += len(bad)
                    tally.examples += bad.slice(0, max(0, EXAMPLES - len(tally.examples))).to_pylist()
            elif check.kind == "not_null":
                tally.count += column.null_count
            elif check.kind == "unique":
                tally.parts.append(pa.table([batch.column(c) for c in check.columns], names=list(check.columns)))
            ok = ok and tally.count == 0
        return ok

    def finish(self, table: MappedTable) -> None:
        for tally in self._tallies[table.qualified]:
            if tally.check.kind != "unique" or not tally.parts:
                continue
            rows = pa.concat_tables(tally.parts)
            tally.parts = []
            names = list(tally.check.columns)
            counts = rows.group_by(names).aggregate([([], "count_all")])
            repeated = counts.filter(pc.greater(counts["count_all"], 1))
            tally.count = repeated.num_rows
            tally.examples = [", ".join(str(r[n]) for n in names) for r in repeated.slice(0, EXAMPLES).to_pylist()]

    def problems(self) -> list[str]:
        out = []
        for tallies in self._tallies.values():
            for tally in tallies:
                if tally.count:
                    out.append(_describe(tally))
        return out


def _describe(tally: _Tally) -> str:
    check, examples = tally.check, ", ".join(repr(e) for e in tally.examples)
    if check.kind == "max_length":
        return (f"{check.what}: {tally.count} value(s) longer than {check.limit} characters (the longest has "
                f"{tally.worst}), e.g. {examples}")
    if check.kind == "range":
        low, high = check.limit
        return f"{check.what}: {tally.count} value(s) outside {low}..{high}, e.g. {examples}"
    if check.kind == "not_null":
        return f"{check.what} is NOT NULL, but {tally.count} row(s) have no value for it"
    return f"{check.what} would be violated: {tally.count} value(s) repeat, e.g. {examples}"


def check_rows(service: MappedService, sources: dict[str, BatchSource]) -> list[str]:
    """Every data check of the service's mapped tables over ``sources``, writing nothing."""
    checker = DataChecker()
    for table in service.tables.values():
        checker.start(table)
        for batch in sources[table.model.name]():
            checker.observe(table, target_batch(table, batch, service.dialect))
        checker.finish(table)
    return checker.problems()
