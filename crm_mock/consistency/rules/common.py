"""What the business rules share: the contract's workflow vocabulary, money in whole cents, one scan that
flags each offending row with every kind it breaks, and dates and moments in one spelling whatever the
source returned (DuckDB and PostgreSQL give date/datetime objects, SQLite ISO-8601 text)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from crm_mock.consistency.engine import Findings, RuleContext
from crm_mock.sinks.values import canonical_uuid

ISSUED = ("UNPAID", "PARTIALLY_PAID", "PAID", "OVERDUE")
TERMS_DAYS = {"NET_15": 15, "NET_30": 30, "NET_60": 60, "DUE_ON_RECEIPT": 0}
# the invoice statuses each order status allows
ORDER_INVOICE = {"PENDING": ("DRAFT",), "CONFIRMED": ("DRAFT",), "BACKORDERED": ("DRAFT",),
                 "SHIPPED": ISSUED, "DELIVERED": ISSUED, "CANCELLED": ("VOID",)}
RESOLVED_TICKET = ("RESOLVED", "CLOSED")


def cents(expr: str) -> str:
    """A money amount as whole cents: exact in every engine (PostgreSQL NUMERIC, DOUBLE and SQLite REAL)."""
    return f"CAST(ROUND({expr} * 100) AS BIGINT)"


def count_where(condition: str) -> str:
    """How many rows of the query meet ``condition`` (0 for none)."""
    return f"COALESCE(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), 0)"


def flag_rows(ctx: RuleContext, found: Findings, service: str, key: str, source: str,
              checks: Mapping[str, str]) -> None:
    """One scan of ``source`` (a FROM clause): each row breaking any of ``checks`` (kind → SQL condition,
    true where broken) is reported, by its ``key``, under every kind it breaks."""
    for kind in checks:
        found.kind(kind)
    flags = " || ".join(f"CASE WHEN {condition} THEN '{kind} ' ELSE '' END" for kind, condition in checks.items())
    where = " OR ".join(f"({condition})" for condition in checks.values())
    for row_key, kinds in ctx.rows(service, f"SELECT {key}, {flags} FROM {source} WHERE {where} ORDER BY {key}"):
        for kind in kinds.split():
            found.add(kind, canonical_uuid(row_key))


def add_keys(ctx: RuleContext, found: Findings, kind: str, service: str, query: str) -> None:
    """Every key the query returns (its first column) is an offender of ``kind``."""
    tally = found.kind(kind)
    for key in ctx.keys(service, query):
        tally.add(key)


def scalar(ctx: RuleContext, service: str, query: str):
    return next(ctx.rows(service, query))[0]


def day(value: object) -> str | None:
    """A date, or a moment's (UTC) calendar day, as 'YYYY-MM-DD'."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return _utc(value).strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)[:10]


def moment(value: object) -> str | None:
    """A moment (UTC) as 'YYYY-MM-DD HH:MM:SS'; sorts and compares as the moments do."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return _utc(value).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)[:19].replace("T", " ")


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is None else value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def numbers_increase(ctx: RuleContext, found: Findings, kind: str, service: str, table: str, key: str, number: str,
                     when: str) -> None:
    """Documents whose number repeats another's, or that are dated before a document with a lower number:
    numbers are unique per type and increase with time (rows without a number are skipped)."""
    add_keys(ctx, found, kind, service,
             f"SELECT {key} FROM (SELECT {key}, {when} AS dated, MAX({when}) OVER (ORDER BY {number} ROWS BETWEEN "
             f"UNBOUNDED PRECEDING AND 1 PRECEDING) AS latest, COUNT(*) OVER (PARTITION BY {number}) AS uses "
             f"FROM {table} WHERE {number} IS NOT NULL) numbered WHERE dated < latest OR uses > 1 ORDER BY {key}")
