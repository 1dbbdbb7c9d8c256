"""`crm-mock mapping draft`: a first mapping for one service, proposed from its live schema.

Tables are matched by name (the model's name, or Django's ``<app>_<model>``), columns by name (exact,
``<name>_id`` for references, without ``_at``/``_uuid``, close spellings) and by the service's own foreign
keys; forms come from the live types. Every guess carries a ``# TODO check`` comment; every NOT NULL
column without a default that nothing fills, and every code column whose spelling cannot be read from the
schema (a boolean or integer column), is written as ``TODO``, which the mapping refuses until it is filled.
"""

from __future__ import annotations

import difflib
import re

import yaml

from crm_mock.mapping.live import LiveColumn, LiveSchema, LiveTable
from crm_mock.mapping.resolve import column_form
from crm_mock.model import CATALOG, Column, Kind, Table

GUESS = "TODO check: guessed"


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes")):
        return word[:-2]
    return word.removesuffix("s")


def entity_names(table: Table) -> list[str]:
    """What a service would call the model table's entity, most specific first."""
    parts = table.name.split("_")
    names = [_norm(table.name), _norm("_".join([*parts[:-1], _singular(parts[-1])]))]
    if table.replica_of:
        master = CATALOG[table.replica_of.master]
        names.append(_norm("_".join([*master.name.split("_")[:-1], _singular(master.name.split("_")[-1])])))
    if len(parts) > 1:
        names.append(_norm(_singular(parts[-1])))  # sales_orders -> order
    return list(dict.fromkeys(names))


def _table_score(table: Table, name: str) -> int:
    if name == table.name:
        return 100
    if _norm(name) == _norm(table.name):
        return 90
    entities = entity_names(table)
    prefix, _, rest = name.partition("_")
    service = table.service
    related = bool(prefix) and (prefix.startswith(service[:4]) or service.startswith(prefix[:4]))
    for rank, entity in enumerate(entities):
        if rest and _norm(rest) == entity:
            return 80 - rank * 5 + (5 if related else 0)
    for rank, entity in enumerate(entities):
        if _norm(name).endswith(entity):
            return 40 - rank * 5 + (5 if related else 0)
    return 0


def match_tables(live: LiveSchema, schema: str, service: str) -> dict[str, tuple[LiveTable | None, list[str]]]:
    """model table -> (chosen live table, other candidates), greedily by score."""
    tables = [t for (s, _), t in live.tables.items() if s == schema]
    scored = sorted(((_table_score(m, t.name), m.name, t.name) for m in CATALOG.service_tables(service)
                     for t in tables), key=lambda x: (-x[0], x[1], x[2]))
    chosen: dict[str, tuple[LiveTable | None, list[str]]] = {}
    used: set[str] = set()
    for score, model, name in scored:
        if score <= 0 or model in chosen or name in used:
            continue
        others = [n for s, m, n in scored if m == model and n != name and s > 0 and n not in used][:3]
        chosen[model] = (live.tables[(schema, name)], others)
        used.add(name)
    for model in CATALOG.service_tables(service):
        chosen.setdefault(model.name, (None, []))
    return chosen


def _column_candidates(column: Column) -> list[str]:
    name = column.name
    out = [name]
    base = name.removesuffix("_uuid")
    if name.endswith("_uuid"):
        out += [f"{base}_id", base]
        parts = base.split("_")
        if len(parts) > 1:  # owner_employee_uuid -> owner_id, employee_id
            out += [f"{parts[0]}_id", f"{parts[-1]}_id", parts[0]]
    if name.endswith("_at"):
        out += [name[:-3], f"{name[:-3]}_on"]
    if name.endswith("_code"):
        out.append(name[:-5])
    if column.kind is Kind.MONEY:
        out.append(f"{name}_cents")
    return list(dict.fromkeys(out))


def match_columns(model: Table, table: LiveTable, tables: dict[str, LiveTable | None]) -> dict[str, tuple[str, bool]]:
    """model column -> (live column, certain); certain only for identical names."""
    out: dict[str, tuple[str, bool]] = {}
    used: set[str] = set()
    references = {r.column.name: r.resolving_table.name for r in CATALOG.references(model) if not r.is_cross_service}

    def take(column: str, live: str, certain: bool) -> None:
        out[column] = (live, certain)
        used.add(live)

    for c in model.columns:
        if c.name in table.columns:
            take(c.name, c.name, True)
    key = model.primary_key
    if len(key) == 1 and key[0] not in out and len(table.primary_key) == 1 and table.primary_key[0] not in used:
        take(key[0], table.primary_key[0], False)
    for c in model.columns:  # the service's own foreign keys name what they reference
        target = tables.get(references.get(c.name, ""))
        if c.name in out or target is None:
            continue
        fks = [fk for fk in table.foreign_keys if fk.referred == (target.schema, target.name)
               and len(fk.columns) == 1 and fk.columns[0] not in used]
        if len(fks) == 1:
            take(c.name, fks[0].columns[0], False)
    for c in model.columns:
        if c.name in out:
            continue
        free = [n for n in table.columns if n not in used]
        found = next((n for n in _column_candidates(c) if n in free), None)
        if found is None:
            suffix = [n for n in free if len(n) > 2 and c.name.endswith("_" + n)]  # job_title -> title
            close = difflib.get_close_matches(_norm(c.name), [_norm(n) for n in free], n=1, cutoff=0.8)
            found = suffix[0] if suffix else next((n for n in free if _norm(n) in close), None)
        if found is not None:
            take(c.name, found, False)
    return out


def _flow(value: object) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, allow_unicode=True).strip()
    return text[:-4].strip() if text.endswith("\n...") else text


def _form(column: Column, live: LiveColumn, dialect: str) -> dict:
    """The form the live type suggests, written out so the file says how values are stored."""
    form, _ = column_form(column, None, live, dialect)
    return {k: getattr(form, k) for k in ("uuid", "moment", "money") if getattr(form, k)}


def _values(column: Column, live: LiveColumn) -> tuple[object, str | None]:
    """(values to write or None, comment)."""
    t = live.type
    if t.labels is not None:
        by_lower = {label.lower(): label for label in t.labels}
        guessed = {w: by_lower.get(w.lower(), "TODO") for w in column.vocabulary}
        return guessed, GUESS + f" from the type's labels ({', '.join(t.labels)})"
    if t.family in ("boolean", "integer", "numeric"):
        return "TODO", f"TODO: how does the service write {', '.join(column.vocabulary)} as {t.text}? e.g. {{{column.vocabulary[0]}: ...}}"
    return None, (f"TODO check: written as crm_mock spells them ({', '.join(column.vocabulary[:4])}"
                  f"{', …' if len(column.vocabulary) > 4 else ''}); add values: lower, or values: {{...}}, "
                  "if the service spells them otherwise")


def _fill_hint(model: Table, live: LiveColumn) -> str:
    hint = f"TODO: {live.type.text} NOT NULL without a default: a constant"
    codes = [c for c in model.columns if c.kind is Kind.CODE]
    if live.type.family == "boolean" and codes:
        status = next((c for c in codes if c.name.endswith("status")), codes[0])
        example = ", ".join(f"{w}: ..." for w in status.vocabulary)
        return f"{hint}, or {{from: {status.name}, values: {{{example}}}}}"
    return f"{hint}, {{from: column, values: {{...}}}}, {{copy: column}} or {{template: \"...\"}}"


_FITS = {"date": (Kind.DATE,), "datetime": (Kind.TIMESTAMP,), "string": (Kind.TEXT, Kind.CODE),
         "integer": (Kind.INTEGER, Kind.MONEY, Kind.CODE), "numeric": (Kind.MONEY, Kind.INTEGER),
         "boolean": (Kind.CODE,), "uuid": (Kind.UUID,)}


def _tables_by_foreign_keys(service: str, chosen: dict[str, LiveTable | None],
                            live: LiveSchema) -> dict[str, tuple[LiveTable, str]]:
    """Model tables no name matched, found through a matched table's foreign key: accounts.owner_id
    references crm_person, and the model's owner resolves in employee_replica, so crm_person is it."""
    found: dict[str, tuple[LiveTable, str]] = {}
    used = {t.name for t in chosen.values() if t is not None}
    for model in CATALOG.service_tables(service):
        table = chosen[model.name]
        if table is None:
            continue
        columns = match_columns(model, table, chosen)
        for reference in CATALOG.references(model):
            target = reference.resolving_table
            if reference.is_cross_service or chosen.get(target.name) is not None or target.name in found \
                    or reference.column.name not in columns:
                continue
            live_column = columns[reference.column.name][0]
            for fk in table.foreign_keys:
                if fk.columns == (live_column,) and fk.referred[1] not in used and fk.referred in live.tables:
                    found[target.name] = (live.tables[fk.referred], f"{table.name}.{live_column}")
                    used.add(fk.referred[1])
    return found


def draft_service(service: str, live: LiveSchema, schema: str | None = None, source: str = "") -> str:
    """The drafted mapping of ``service`` as YAML text, with its TODOs."""
    schema = schema or live.default_schema
    matched = match_tables(live, schema, service)
    chosen = {m: t for m, (t, _) in matched.items()}
    inferred = _tables_by_foreign_keys(service, chosen, live)
    for model, (table, through) in inferred.items():
        chosen[model] = table
        matched[model] = (table, [])
    lines = [f"# crm_mock mapping for the {service} service, drafted from {source or 'its database'} (schema {schema}).",
             "# Check every TODO; crm_mock refuses the file while a value is still TODO.", "version: 1",
             "services:", f"  {service}:"]
    if schema != live.default_schema:
        lines.append(f"    schema: {_flow(schema)}")
    skipped = [m for m, t in chosen.items() if t is None]
    if skipped:
        lines.append(f"    skip: {_flow(skipped)}  # TODO check: no table found for them")
    lines.append("    tables:")
    for model in CATALOG.service_tables(service):
        table, others = matched[model.name]
        if table is None:
            continue
        note = "" if table.name == model.name else f"  # {GUESS}" + (f"; also {', '.join(others)}" if others else "")
        if model.name in inferred:
            note = f"  # {GUESS} from the foreign key {inferred[model.name][1]}"
        lines += [f"      {model.name}:", f"        table: {_flow(table.name)}{note}"]
        columns = match_columns(model, table, chosen)
        entries, omitted = [], []
        for c in model.columns:
            if c.name not in columns:
                omitted.append(c)
                continue
            name, certain = columns[c.name]
            spec = {"column": name, **_form(c, table.columns[name], live.dialect)}
            comments = [] if certain else [GUESS]
            if c.kind is Kind.CODE:
                values, comment = _values(c, table.columns[name])
                if values is not None:
                    spec["values"] = values
                comments.append(comment)
            text = _flow(name) if len(spec) == 1 else _flow(spec)
            entries.append(f"          {c.name}: {text}" + (f"  # {'; '.join(comments)}" if comments else ""))
        lines += ["        columns:", *entries] if entries else []
        if omitted:
            lines.append(f"        omit: {_flow([c.name for c in omitted])}  # TODO check: no column found for them")
        written = {n for n, _ in columns.values()}
        fills = [c for c in table.columns.values() if c.name not in written and not c.nullable and not c.has_default]
        if fills:
            lines.append("        fill:")
            for c in fills:
                hint = _fill_hint(model, c)
                fitting = [o.name for o in omitted if o.kind in _FITS.get(c.type.family, ())][:3]
                if fitting:  # hired_on may well be hire_date under another name
                    hint += f"; or map {' or '.join(fitting)} to it under columns"
                lines.append(f"          {c.name}: TODO  # {hint}")
        rest = [c.name for c in table.columns.values() if c.name not in written and c not in fills]
        if rest:
            lines.append(f"        # left to the service's defaults (or null): {', '.join(rest)}")
    matched_names = {t.name for t in chosen.values() if t is not None}
    unmatched = sorted(n for (s, n) in live.tables if s == schema and n not in matched_names)
    if unmatched:
        lines.append(f"# the service's other tables (crm_mock does not write them): {', '.join(unmatched)}")
    return "\n".join(lines) + "\n"
