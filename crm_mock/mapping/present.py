"""The service's tables read back as the model's: each mapped table becomes a common table expression named
like the model table, with the model's column names, codes, UUID spellings, money and moments, and a query
written against the model (a rule, a fixture export, a row count) runs unchanged in front of them.

A CTE shadows a table of the same name, and the service's table is always named with its schema, so the
two never clash. They are NOT MATERIALIZED: filters and joins reach the service's own indexes.
"""

from __future__ import annotations

import re

from crm_mock.mapping.resolve import MappedColumn, MappedService, MappedTable
from crm_mock.model import Column, Kind
from crm_mock.model.ddl import UuidStorage

_WITH = re.compile(r"\s*WITH(\s+RECURSIVE)?\s", re.IGNORECASE)
_READ = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)
_POSTGRES_NULLS = {Kind.UUID: "uuid", Kind.TEXT: "text", Kind.CODE: "text", Kind.INTEGER: "bigint",
                   Kind.MONEY: "numeric", Kind.DATE: "date", Kind.TIMESTAMP: "timestamptz"}


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: object, dialect: str) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE") if dialect == "postgresql" else str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _canonical_from_hex(expr: str) -> str:
    parts = [f"substr({expr}, {start}, {length})" for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))]
    return "lower(" + " || '-' || ".join(parts) + ")"


def _uuid(column: MappedColumn, expr: str, dialect: str, storage: UuidStorage | None) -> str:
    form = column.form.uuid
    if storage is UuidStorage.TEXT and form != "text":  # forms differ within the service: canonical text
        if form == "native":
            expr = f"CAST({expr} AS text)"
        elif form == "hex":
            expr = _canonical_from_hex(expr)
        else:
            expr = _canonical_from_hex(f"encode({expr}, 'hex')" if dialect == "postgresql" else f"hex({expr})")
    if dialect == "postgresql" and storage in (UuidStorage.TEXT, UuidStorage.HEX):
        expr = f'{expr} COLLATE "C"'  # key order is byte order, as the other services sort theirs
    return expr


def column_expression(column: MappedColumn, dialect: str, storage: UuidStorage | None) -> str:
    """The service column read as the model column."""
    expr = quote(column.target)
    form = column.form
    if form.kind is Kind.UUID:
        return _uuid(column, expr, dialect, storage)
    if form.kind is Kind.TIMESTAMP and form.moment == "naive_utc" and dialect == "postgresql":
        return f"({expr} AT TIME ZONE 'UTC')"
    if form.kind is Kind.MONEY and form.money == "cents":
        return f"({expr} / 100.0)"
    if form.values is not None:
        whens = " ".join(f"WHEN {literal(spelled, dialect)} THEN {literal(word, dialect)}"
                         for word, spelled in form.values if spelled is not None)
        # a spelling outside the map reads as itself: the model's rules then report it
        return f"CASE {expr} {whens} ELSE CAST({expr} AS TEXT) END"
    return expr


def _absent(column: Column, dialect: str, storage: UuidStorage | None) -> str:
    if dialect != "postgresql":
        return "NULL"
    kind = "text" if column.kind is Kind.UUID and storage is not None else _POSTGRES_NULLS[column.kind]
    return f"CAST(NULL AS {kind})"


def presented(table: MappedTable, dialect: str, storage: UuidStorage | None) -> str:
    """SELECT of the service's table with the model table's columns, in the model's order."""
    by_model = {c.model.name: c for c in table.columns}
    columns = []
    for column in table.model.columns:
        mapped = by_model.get(column.name)
        expr = column_expression(mapped, dialect, storage) if mapped else _absent(column, dialect, storage)
        columns.append(f"{expr} AS {quote(column.name)}")
    source = quote(table.name) if dialect == "sqlite" else f"{quote(table.schema)}.{quote(table.name)}"
    if dialect == "sqlite":
        source = f"main.{source}"
    where = f" WHERE ({table.keep_rows}) IS NOT TRUE" if table.keep_rows else ""
    return f"SELECT {', '.join(columns)} FROM {source}{where}"


class Presenter:
    """Rewrites a read written against the model into one over the service's tables."""

    def __init__(self, service: MappedService) -> None:
        storage = service.uuid_storage
        self._ctes = {name: f"{quote(name)} AS NOT MATERIALIZED ({presented(t, service.dialect, storage)})"
                      for name, t in service.tables.items()}
        self._names = {name: re.compile(rf'(?<![\w."]){re.escape(name)}(?![\w"])|"{re.escape(name)}"')
                       for name in self._ctes}

    def rewrite(self, query: str, escape_percent: bool = False) -> str:
        if not _READ.match(query):
            return query
        used = [self._ctes[n] for n, pattern in self._names.items() if pattern.search(query)]
        if not used:
            return query
        ctes = ", ".join(used)
        if escape_percent:  # pyformat parameters follow: a literal % must be doubled
            ctes = ctes.replace("%", "%%")
        match = _WITH.match(query)
        if match:
            return f"{query[:match.end()]}{ctes}, {query[match.end():]}"
        return f"WITH {ctes} {query}"
