"""Rules every table obeys, derived from the data model: keys, conformance, references, replicas, synced copies."""

from __future__ import annotations

from crm_mock.consistency.engine import Findings, RuleContext, merge_sorted
from crm_mock.consistency.rule import Rule
from crm_mock.model import CATALOG, Kind, Reference, Table
from crm_mock.sinks.values import canonical_text, canonical_uuid

MONEY_LIMIT = 10_000_000_000  # NUMERIC(12,2) holds less than 10^10
MANY_VALUES = 1_000  # offending values of a reference column named in one IN list at most


def _key_label(row: tuple, width: int) -> str:
    return "|".join(canonical_uuid(v) for v in row[:width])


def primary_key_unique(table: Table) -> Rule:
    keys = ", ".join(table.primary_key)
    missing = " OR ".join(f"{k} IS NULL" for k in table.primary_key)

    def find(ctx: RuleContext, found: Findings) -> None:
        duplicated = f"SELECT {keys} FROM {table.name} GROUP BY {keys} HAVING COUNT(*) > 1 ORDER BY {keys}"
        for row in ctx.rows(table.service, duplicated):
            found.add("duplicated", _key_label(row, len(table.primary_key)))
        nulls = next(ctx.rows(table.service, f"SELECT COUNT(*) FROM {table.name} WHERE {missing}"))[0]
        for _ in range(nulls):
            found.add("null_key", "<null key>")

    return Rule("primary_key_unique", table, f"{keys} unique and present.", find, blocking=True)


def _offending_values(ctx: RuleContext, table: Table, column: str, offends: str,
                      join: str = "") -> str | None:
    """On SQLite, the distinct values of a reference column within the service that ``offends`` (SQL on
    ``value``, with the parent table of ``join`` as ``p``), as an IN list ("" for none); None elsewhere, or
    where there are more than ``MANY_VALUES`` or a value no literal spells: the caller then tests every row.

    A row-by-row test of such a column costs SQLite about a microsecond a row (a UUID's spelling, a probe of the
    parent's key), while the column repeats few values (the load tier's 1.6 M stock movements name 500
    warehouses) and the sink indexes it: read through that index, each value is tested once, and the rows are
    then found by the few values that offend."""
    if ctx.sql.dialect != "sqlite":
        return None
    # LIMIT -1 keeps SQLite from pushing the test down into the scan, where it would test every row again
    query = (f"SELECT value FROM (SELECT DISTINCT {column} AS value FROM {table.name} LIMIT -1) d {join} "
             f"WHERE value IS NOT NULL AND ({offends}) LIMIT {MANY_VALUES + 1}")
    literals = [ctx.sql.literal(value) for (value,) in ctx.rows(table.service, query)]
    if len(literals) > MANY_VALUES or None in literals:
        return None
    return ", ".join(literals)  # type: ignore[arg-type]


def _same_service_uuid_references(table: Table) -> list[Reference]:
    return [r for r in CATALOG.references(table) if not r.is_cross_service and r.column.kind is Kind.UUID]


def _violations(ctx: RuleContext, table: Table) -> list[tuple[str, str]]:
    """(column, SQL that is true where the column's value breaks the model)."""
    sql, storage = ctx.sql, ctx.uuid_storage(table.service)
    malformed = {ref.column.name: _offending_values(ctx, table, ref.column.name, sql.uuid_malformed("value", storage))
                 for ref in _same_service_uuid_references(table)}
    checks = []
    for c in table.columns:
        parts = [] if c.nullable else [f"{c.name} IS NULL"]
        if malformed.get(c.name) is not None:  # tested by value: the rows holding a malformed one
            parts += [f"{c.name} IN ({malformed[c.name]})"] if malformed[c.name] else []
        elif c.kind is Kind.UUID:
            parts.append(f"({c.name} IS NOT NULL AND {sql.uuid_malformed(c.name, storage)})")
        elif c.kind in (Kind.TEXT, Kind.CODE):
            parts.append(f"length({c.name}) > {c.max_length}")
            if c.vocabulary:
                parts.append(f"{c.name} NOT IN ({sql.quoted(c.vocabulary)})")
        elif c.kind is Kind.MONEY:
            # relative: an amount of hundreds of millions (yen, rupees) is a few float64 ulps off the cent grid
            parts.append(f"ABS({c.name} * 100 - ROUND({c.name} * 100)) > 0.000001 + ABS({c.name}) * 0.0000000001 "
                         f"OR ABS({c.name}) >= {MONEY_LIMIT}")
        checks.append((c.name, " OR ".join(f"({p})" for p in parts)))
    return [(name, condition) for name, condition in checks if condition]


def conforms_to_model(table: Table) -> Rule:
    def find(ctx: RuleContext, found: Findings) -> None:
        violations = _violations(ctx, table)
        # one scan: each offending row says which of its columns break the model
        flags = " || ".join(f"CASE WHEN {cond} THEN '{name} ' ELSE '' END" for name, cond in violations)
        keys = ", ".join(table.primary_key)
        where = " OR ".join(f"({cond})" for _, cond in violations)
        query = (f"SELECT {keys}, {flags} FROM {table.name} WHERE {where} "
                 f"ORDER BY {ctx.sql.order_of_few(*table.primary_key)}")
        for row in ctx.rows(table.service, query):
            label = _key_label(row, len(table.primary_key))
            for column in row[-1].split():
                found.add(column, label)

    return Rule("conforms_to_model", table, "Nulls only where nullable, text within max length, codes from the "
                "vocabulary, canonical UUIDs, money with 2 decimals in range.", find)


def references_resolve(table: Table) -> Rule:
    references = CATALOG.references(table)
    key = table.primary_key[0]

    def find(ctx: RuleContext, found: Findings) -> None:
        for ref in references:
            target, fk, pk = ref.resolving_table, ref.column.name, ref.target_key
            tally = found.kind(fk)
            if target.service == table.service:
                dangling = _offending_values(ctx, table, fk, f"p.{pk} IS NULL",
                                             join=f"LEFT JOIN {target.name} p ON d.value = p.{pk}")
                if dangling == "":
                    continue
                query = (f"SELECT c.{key} FROM {table.name} c LEFT JOIN {target.name} p ON c.{fk} = p.{pk} "
                         f"WHERE c.{fk} IS NOT NULL AND p.{pk} IS NULL" if dangling is None else
                         f"SELECT c.{key} FROM {table.name} c WHERE c.{fk} IN ({dangling})")
                for row_key in ctx.keys(table.service, f"{query} ORDER BY {ctx.sql.order_of_few(f'c.{key}')}"):
                    tally.add(row_key)
                continue
            # across services: the distinct references against the owner's keys (the load tier's 1.6 M stock
            # movements point at 177 k orders), then the children of those that dangle, in reference order
            referenced = ctx.rows(table.service, f"SELECT DISTINCT {fk} FROM {table.name} WHERE {fk} IS NOT NULL "
                                                 f"ORDER BY {fk}")
            parents = ctx.rows(target.service, f"SELECT {pk} FROM {target.name} ORDER BY {pk}")
            dangling = {k for k, child, parent in merge_sorted(referenced, parents) if parent is None}
            if not dangling:
                continue
            children = ctx.rows(table.service, f"SELECT {fk}, {key} FROM {table.name} WHERE {fk} IS NOT NULL "
                                               f"ORDER BY {fk}, {key}")
            for child in children:
                if canonical_uuid(child[0]) in dangling:
                    tally.add(canonical_uuid(child[1]))

    described = ", ".join(f"{r.column.name} → {r.resolving_table.qualified_name}"
                          + (" (cross-service)" if r.is_cross_service else "") for r in references)
    reads = tuple(sorted({r.resolving_table.qualified_name for r in references} - {table.qualified_name}))
    return Rule("references_resolve", table, f"Every reference resolves: {described}.", find, reads, blocking=True)


def replica_in_sync(replica: Table) -> Rule:
    master = CATALOG[replica.replica_of.master]
    key = master.primary_key[0]
    columns = [key, *replica.replica_of.columns]
    models = [master.column(c) for c in columns]
    select = f"SELECT {', '.join(columns)} FROM {{}} ORDER BY {key}"

    def find(ctx: RuleContext, found: Findings) -> None:
        for kind in ("missing", "orphaned", "drifted"):
            found.kind(kind)
        drifted_columns: dict[str, int] = {}
        for k, m, r in merge_sorted(ctx.rows(master.service, select.format(master.name)),
                                    ctx.rows(replica.service, select.format(replica.name))):
            if r is None:
                found.add("missing", k)
            elif m is None:
                found.add("orphaned", k)
            else:
                differ = [c.name for c, x, y in zip(models[1:], m[1:], r[1:])
                          if canonical_text(c, x) != canonical_text(c, y)]
                if differ:
                    found.add("drifted", k)
                    for name in differ:
                        drifted_columns[name] = drifted_columns.get(name, 0) + 1
        found.details.update(master=master.qualified_name, columns=drifted_columns)

    return Rule("replica_in_sync", replica, f"Every {master.qualified_name} row has its replica here, none extra, "
                "copied fields equal.", find, (master.qualified_name,), blocking=True,
                synced_from=master.qualified_name)


def model_rules() -> list[Rule]:
    rules = []
    for table in CATALOG:
        rules += [primary_key_unique(table), conforms_to_model(table)]
        if table.foreign_keys:
            rules.append(references_resolve(table))
        if table.replica_of:
            rules.append(replica_in_sync(table))
    return rules
