"""The few SQL spellings that differ between the engines the rules run on (DuckDB over the Parquet store,
SQLite, PostgreSQL). Everything else a rule says is the portable core: joins, GROUP BY, CASE, window sums."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from crm_mock.model.ddl import UuidStorage
from crm_mock.sinks.values import stored_uuid

_UUID_REGEX = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_HEX = "[0-9a-f]"
_CANONICAL_UUID = re.compile(_UUID_REGEX)
_UUID_GLOB = "-".join(_HEX * n for n in (8, 4, 4, 4, 12))


@dataclass(frozen=True)
class Sql:
    dialect: str  # "duckdb", "sqlite" or "postgresql"

    def as_date(self, expr: str) -> str:
        """The calendar day (UTC) of a moment."""
        if self.dialect == "sqlite":
            return f"substr({expr}, 1, 10)"
        return f"CAST({expr} AS DATE)"

    def add_days(self, date_expr: str, days_expr: str) -> str:
        if self.dialect == "sqlite":
            return f"date({date_expr}, '+' || ({days_expr}) || ' days')"
        return f"({date_expr} + CAST({days_expr} AS INTEGER))"

    @staticmethod
    def date(day: dt.date) -> str:
        return f"'{day.isoformat()}'"

    @staticmethod
    def moment(at: dt.datetime) -> str:
        return f"'{at.strftime('%Y-%m-%d %H:%M:%S')}'"

    def uuid_malformed(self, expr: str, storage: UuidStorage | None) -> str:
        """True where a stored UUID is not in the storage's canonical spelling."""
        if self.dialect == "postgresql":
            return "FALSE"  # the uuid type admits nothing else
        if self.dialect == "duckdb":
            return f"NOT regexp_full_match({expr}, '{_UUID_REGEX}')"
        match storage:
            case UuidStorage.HEX:
                return f"NOT (length({expr}) = 32 AND {expr} GLOB '{_HEX * 32}')"
            case UuidStorage.BLOB:
                return f"NOT (typeof({expr}) = 'blob' AND length({expr}) = 16)"
        return f"NOT ({expr} GLOB '{_UUID_GLOB}')"

    def uuid_literals(self, canonical: Iterable[str], storage: UuidStorage | None) -> str:
        """Canonical UUIDs as SQL literals spelled as ``storage`` keeps them, for ``IN (…)``; PostgreSQL casts the
        text to its uuid type. A malformed one is left out where the storage could not hold it (16 bytes, the
        uuid type), so it matches nothing rather than failing the query."""
        literals = []
        for key in canonical:
            if storage is None:
                if self.dialect != "postgresql" or _CANONICAL_UUID.match(key):
                    literals.append(self.quoted([key]))
                continue
            try:
                stored = stored_uuid(key, storage)
            except ValueError:  # not hex: no 16 bytes hold it
                continue
            literals.append(self.literal(stored) if isinstance(stored, bytes) else self.quoted([stored]))
        return ", ".join(literals)

    def order_of_few(self, *exprs: str) -> str:
        """ORDER BY terms for a query that keeps few of the rows it scans. SQLite would walk the key's index
        and fetch every row through it (the load tier's 1.6 M stock movements: 1.6 M random reads); a plain scan
        and a sort of the rows kept takes a quarter of the time. A unary '+' keeps it from the index."""
        return ", ".join(f"+{e}" if self.dialect == "sqlite" else e for e in exprs)

    @staticmethod
    def literal(value: object) -> str | None:
        """A value as the driver returned it (text, bytes, a number) as a literal equal to it in SQLite; None where
        no literal would be (an infinite or NaN REAL, text holding a NUL, which no statement may contain)."""
        if isinstance(value, str) and "\x00" not in value:
            return Sql.quoted([value])
        if isinstance(value, bytes):
            return f"X'{value.hex()}'"
        if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
            return repr(value)
        return None

    @staticmethod
    def quoted(values) -> str:
        return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)
