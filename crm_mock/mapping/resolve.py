"""A mapping resolved against the live database: for every model table, the service's table and, for every
column, the service's column and how values are written in it (the form), read from the live types where the
file does not say. Everything that can be checked without the data is checked here; what needs the data is
left as `DataCheck`s for the load (crm_mock.mapping.datacheck)."""

from __future__ import annotations

import datetime as dt
import difflib
import uuid as uuid_module
from dataclasses import dataclass, field

from crm_mock.mapping.live import LiveColumn, LiveSchema, LiveTable, LiveType
from crm_mock.mapping.spec import Constant, Copy, Fill, FromValues, Scalar, TableSpec, TargetMapping, Template
from crm_mock.model import CATALOG, Column, Kind, Table
from crm_mock.model.ddl import UuidStorage
from crm_mock.model.schema import MONEY_PRECISION, MONEY_SCALE

MONEY_DIGITS = MONEY_PRECISION - MONEY_SCALE  # whole digits the model's money may have


@dataclass(frozen=True)
class Form:
    """How one model column's values are written in a service column."""

    kind: Kind
    uuid: str | None = None  # native, text, hex, bytes
    moment: str | None = None  # aware, naive_utc
    money: str | None = None  # decimal, cents
    values: tuple[tuple[str, Scalar], ...] | None = None  # code -> the service's spelling

    @property
    def value_map(self) -> dict[str, Scalar] | None:
        return dict(self.values) if self.values is not None else None


@dataclass(frozen=True)
class MappedColumn:
    model: Column
    target: str
    form: Form
    live: LiveColumn


@dataclass(frozen=True)
class FilledColumn:
    """One of the service's own columns, filled by a constant or from model columns."""

    target: str
    fill: Fill
    live: LiveColumn
    form: Form | None = None  # for a copy: the copied column's form in this column


@dataclass(frozen=True)
class DataCheck:
    """A property of the rows to be loaded that only the data can show, and what it guards."""

    kind: str  # max_length, range, not_null, unique, fill_length
    columns: tuple[str, ...]  # target columns
    limit: object = None  # max length, (low, high), ...
    what: str = ""  # e.g. "public.contacts_account.name varchar(10)"


@dataclass
class MappedTable:
    model: Table
    schema: str
    name: str
    columns: list[MappedColumn]
    omitted: list[Column]
    fills: list[FilledColumn]
    keep_rows: str | None
    live: LiveTable
    checks: list[DataCheck] = field(default_factory=list)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def target_columns(self) -> list[str]:
        return [c.target for c in self.columns] + [f.target for f in self.fills]

    def column(self, model_name: str) -> MappedColumn | None:
        return next((c for c in self.columns if c.model.name == model_name), None)


@dataclass
class MappedService:
    service: str
    dialect: str
    tables: dict[str, MappedTable]  # model table name -> where it lands
    skipped: tuple[str, ...]
    live: LiveSchema

    @property
    def uuid_storage(self) -> UuidStorage | None:
        """How the model's UUIDs read through this mapping are spelled (None: the database's uuid type);
        columns written in different forms are read as canonical text."""
        forms = {c.form.uuid for t in self.tables.values() for c in t.columns if c.form.uuid}
        if forms == {"native"} or not forms:
            return None
        if len(forms) > 1:
            return UuidStorage.TEXT
        return {"text": UuidStorage.TEXT, "hex": UuidStorage.HEX, "bytes": UuidStorage.BLOB}[forms.pop()]


def resolve(mapping: TargetMapping, service: str, live: LiveSchema) -> tuple[MappedService, list[str]]:
    """The service's mapping against its live schema, and every problem found (empty: usable)."""
    spec = mapping.services[service]
    problems: list[str] = []
    tables: dict[str, MappedTable] = {}
    for name, table_spec in spec.tables.items():
        where = ("tables", name)
        schema = live.default_schema if live.dialect == "sqlite" else (table_spec.schema_ or spec.schema_
                                                                       or live.default_schema)
        live_table = live.table(schema, table_spec.table)
        if live_table is None:
            near = difflib.get_close_matches(table_spec.table, live.names.get(schema, []), n=3)
            problems.append(f"{mapping.locate(service, where + ('table',))}: {service}.{name} maps to "
                            f"{schema}.{table_spec.table}, which does not exist"
                            + (f" (did you mean {', '.join(near)}?)" if near else ""))
            continue
        mapped, found = _resolve_table(CATALOG[f"{service}.{name}"], table_spec, live_table, live.dialect)
        problems += [f"{mapping.locate(service, where + w, k)}: {m}" for w, m, k in found]
        tables[name] = mapped
    resolved = MappedService(service, live.dialect, tables, tuple(spec.skip), live)
    if not problems:
        problems += [f"{mapping.locate(service, ('tables', t.model.name))}: {m}" for t, m in _foreign_keys(resolved)]
    return resolved, problems


Found = list[tuple[tuple, str, bool]]  # (path under the table, message, points at a key)


def _resolve_table(model: Table, spec: TableSpec, live: LiveTable, dialect: str) -> tuple[MappedTable, Found]:
    found: Found = []
    columns: list[MappedColumn] = []
    omitted = [model.column(n) for n in spec.omit]
    for column in model.columns:
        if column.name in spec.omit:
            continue
        column_spec = spec.column_spec(column.name)
        where = ("columns", column.name) if column.name in spec.columns else ("columns",)
        live_column = live.columns.get(column_spec.column)
        if live_column is None:
            near = difflib.get_close_matches(column_spec.column, list(live.columns), n=3)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            if column.name in spec.columns:
                found.append((where, f"{model.qualified_name}.{column.name} maps to column {column_spec.column!r}, "
                                     f"which {live.qualified} does not have{hint}", False))
            else:
                found.append((where, f"{model.qualified_name}.{column.name} is not mapped and {live.qualified} has no "
                                     f"column {column.name!r}{hint}: map it under columns, or list it under omit", True))
            continue
        form, messages = column_form(column, column_spec, live_column, dialect)
        what = f"{model.qualified_name}.{column.name} → {live.qualified}.{live_column.name} {live_column.type.text}"
        found += [(where, f"{what}: {m}", False) for m in messages]
        columns.append(MappedColumn(column, live_column.name, form, live_column))
    fills: list[FilledColumn] = []
    for name, fill in spec.fill.items():
        live_column = live.columns.get(name)
        if live_column is None:
            near = difflib.get_close_matches(name, list(live.columns), n=3)
            found.append((("fill", name), f"{live.qualified} has no column {name!r}"
                          + (f" (did you mean {', '.join(near)}?)" if near else ""), True))
            continue
        form = None
        if isinstance(fill, Copy):
            source = model.column(fill.copy_)
            form, messages = column_form(source, None, live_column, dialect)
        else:
            messages = _fill_messages(fill, live_column)
        found += [(("fill", name), f"{live.qualified}.{name} {live_column.type.text}: {m}", False) for m in messages]
        fills.append(FilledColumn(name, fill, live_column, form))
    mapped = MappedTable(model, live.schema, live.name, columns, omitted, fills, spec.keep_rows, live)
    written = set(mapped.target_columns)
    for column in live.columns.values():
        if column.name not in written and not column.nullable and not column.has_default:
            found.append((("fill",) if spec.fill else (), f"{live.qualified}.{column.name} ({column.type.text}) is NOT "
                          f"NULL without a default and nothing fills it: map a model column to it or add it under fill "
                          f"(a constant, {{from: column, values: {{...}}}}, {{copy: column}} or {{template: \"...\"}})", True))
    mapped.checks = _data_checks(mapped)
    return mapped, found


def column_form(column: Column, spec, live: LiveColumn, dialect: str) -> tuple[Form, list[str]]:
    """The form of ``column``'s values in ``live`` (``spec`` may fix it), and why it cannot hold them."""
    t = live.type
    problems: list[str] = []
    kind = column.kind
    if kind is Kind.UUID:
        wanted = spec.uuid if spec else None
        inferred = {"uuid": "native", "binary": "bytes"}.get(t.family) or (
            "hex" if t.family == "string" and t.length == 32 else "text" if t.family == "string" else None)
        form = wanted or inferred
        if form is None:
            problems.append("cannot hold UUIDs (crm_mock's keys and references are UUIDs)"
                            + (": an integer key cannot be mapped; map the table's UUID column" if t.family == "integer" else ""))
            form = "text"
        elif form == "native" and t.family != "uuid":
            problems.append("uuid: native needs a uuid column")
        elif form in ("text", "hex") and (t.family != "string" or (t.length or 99) < (36 if form == "text" else 32)):
            problems.append(f"uuid: {form} needs text of at least {36 if form == 'text' else 32} characters")
        elif form == "bytes" and (t.family != "binary" or (t.length or 16) < 16):
            problems.append("uuid: bytes needs a binary column of 16 bytes or more")
        return Form(kind, uuid=form), problems
    if kind is Kind.TIMESTAMP:
        wanted = spec.moment if spec else None
        if t.family == "datetime" or (t.family == "string" and (t.length or 99) >= 19):
            form = wanted or ("aware" if t.timezone else "naive_utc")
            if form == "aware" and dialect == "postgresql" and not t.timezone:
                problems.append("moment: aware needs a column with a time zone (timestamptz); use naive_utc")
        else:
            problems.append("cannot hold a moment (a timestamp column, or text of at least 19 characters)")
            form = "naive_utc"
        return Form(kind, moment=form), problems
    if kind is Kind.MONEY:
        wanted = spec.money if spec else None
        form = wanted or ("cents" if t.family == "integer" else "decimal")
        if form == "cents" and t.family != "integer":
            problems.append("money: cents needs an integer column")
        elif form == "decimal" and t.family not in ("numeric", "float"):
            problems.append("cannot hold money (a numeric column, or an integer one with money: cents)")
        elif form == "decimal" and t.family == "numeric" and t.scale is not None and t.scale < MONEY_SCALE:
            problems.append(f"keeps {t.scale} decimal places: amounts would be rounded (use numeric(p,2) or cents)")
        return Form(kind, money=form), problems
    values = spec.value_map(column) if spec else None
    if kind is Kind.CODE and values is not None:
        return Form(kind, values=tuple(values.items())), _value_problems(values, t, live.nullable)
    if kind in (Kind.TEXT, Kind.CODE):
        if t.family != "string":
            problems.append("cannot hold text")
        elif kind is Kind.CODE:
            long = [w for w in column.vocabulary if t.length is not None and len(w) > t.length]
            if long:
                problems.append(f"holds {t.length} characters; {', '.join(long)} are longer")
            if t.labels is not None and set(column.vocabulary) - set(t.labels):
                problems.append(f"takes only {', '.join(t.labels)}: add values for "
                                f"{', '.join(sorted(set(column.vocabulary) - set(t.labels)))}")
    elif kind is Kind.INTEGER and t.family not in ("integer", "numeric"):
        problems.append("cannot hold integers")
    elif kind is Kind.DATE and not (t.family in ("date", "datetime") or (t.family == "string" and (t.length or 99) >= 10)):
        problems.append("cannot hold a date")
    return Form(kind), problems


def _value_problems(values: dict[str, Scalar], t: LiveType, nullable: bool) -> list[str]:
    problems = []
    present = [v for v in values.values() if v is not None]
    if len(present) < len(values) and not nullable:
        problems.append("is NOT NULL, and some codes are written as null")
    types = {type(v) for v in present}
    if types == {bool}:
        if t.family not in ("boolean", "integer"):
            problems.append("the values are booleans; the column is not boolean")
    elif types <= {int} and present:
        if t.family not in ("integer", "numeric"):
            problems.append("the values are integers; the column is not numeric")
        elif t.family == "integer":
            low, high = t.integer_range()
            out = [v for v in present if not low <= v <= high]
            if out:
                problems.append(f"cannot hold {', '.join(map(str, out))}")
    elif types <= {str}:
        if t.family != "string":
            problems.append("the values are text; the column is not")
        else:
            long = [v for v in present if t.length is not None and len(v) > t.length]
            if long:
                problems.append(f"holds {t.length} characters; {', '.join(map(repr, long))} are longer")
            if t.labels is not None and set(present) - set(t.labels):
                problems.append(f"takes only {', '.join(t.labels)}, not {', '.join(sorted(set(present) - set(t.labels)))}")
    elif present:
        problems.append("the values mix types; write them all as text, integers or booleans")
    return problems


def _fill_messages(fill: Fill, live: LiveColumn) -> list[str]:
    t = live.type
    if isinstance(fill, FromValues):
        return _value_problems(fill.values, t, live.nullable)
    if isinstance(fill, Template):
        return [] if t.family == "string" else ["a template writes text; the column is not text"]
    assert isinstance(fill, Constant)
    return _constant_problems(fill.value, t, live.nullable)


def _constant_problems(value: Scalar, t: LiveType, nullable: bool) -> list[str]:
    if value is None:
        return [] if nullable else ["is NOT NULL: null cannot fill it"]
    if isinstance(value, bool):
        return [] if t.family in ("boolean", "integer") else [f"{value!r} is a boolean; the column is not"]
    if isinstance(value, int):
        if t.family == "integer":
            low, high = t.integer_range()
            return [] if low <= value <= high else [f"cannot hold {value}"]
        return [] if t.family in ("numeric", "float") else [f"{value!r} is a number; the column is not numeric"]
    if isinstance(value, float):
        return [] if t.family in ("numeric", "float") else [f"{value!r} is a number; the column is not numeric"]
    parse = {"date": dt.date.fromisoformat, "datetime": dt.datetime.fromisoformat, "uuid": uuid_module.UUID}.get(t.family)
    if parse is not None:
        try:
            parse(value)
        except ValueError:
            return [f"{value!r} is not a {t.family}"]
        return []
    if t.family != "string":
        return [f"{value!r} is text; the column is not"]
    if t.length is not None and len(value) > t.length:
        return [f"holds {t.length} characters; {value!r} has {len(value)}"]
    if t.labels is not None and value not in t.labels:
        return [f"takes only {', '.join(t.labels)}"]
    return []


def _data_checks(table: MappedTable) -> list[DataCheck]:
    """What the types cannot promise but the rows may still satisfy: narrower text, smaller integers,
    fewer whole digits, NOT NULL where the model allows null, the service's unique constraints."""
    checks = []
    for c in table.columns:
        t, where = c.live.type, f"{table.qualified}.{c.target} {c.live.type.text}"
        if c.model.kind is Kind.TEXT and t.family == "string" and t.length is not None and t.length < c.model.max_length:
            checks.append(DataCheck("max_length", (c.target,), t.length, where))
        if c.model.kind is Kind.INTEGER and t.family == "integer" and (t.bits or 64) < 64:
            checks.append(DataCheck("range", (c.target,), t.integer_range(), where))
        if c.form.money == "cents" and (t.bits or 64) < 64:
            checks.append(DataCheck("range", (c.target,), t.integer_range(), where))
        if c.form.money == "decimal" and t.family == "numeric" and t.precision is not None \
                and t.precision - (t.scale or 0) < MONEY_DIGITS:
            limit = 10 ** (t.precision - (t.scale or 0))
            checks.append(DataCheck("range", (c.target,), (-limit, limit), where))
        if c.model.nullable and not c.live.nullable:
            checks.append(DataCheck("not_null", (c.target,), None, where))
    for f in table.fills:
        t = f.live.type
        if isinstance(f.fill, Template) and t.length is not None:
            checks.append(DataCheck("max_length", (f.target,), t.length, f"{table.qualified}.{f.target} {t.text}"))
        if isinstance(f.fill, Copy) and f.form is not None and f.form.kind is Kind.TEXT and t.length is not None:
            checks.append(DataCheck("max_length", (f.target,), t.length, f"{table.qualified}.{f.target} {t.text}"))
    by_target = {c.target: c for c in table.columns}
    model_keys = {frozenset(table.model.primary_key)} | {frozenset([c.name]) for c in table.model.columns if c.unique}
    for name, columns in [("primary key", table.live.primary_key), *table.live.uniques]:
        if not columns:
            continue
        mapped = [by_target[c].model.name for c in columns if c in by_target]
        if len(mapped) == len(columns) and any(k <= set(mapped) for k in model_keys):
            continue  # the model keeps these unique already
        if any(c not in by_target and c not in {f.target for f in table.fills} for c in columns):
            continue  # a column the database numbers or leaves null: not ours to collide
        checks.append(DataCheck("unique", tuple(columns), name, f"{table.qualified} {name} ({', '.join(columns)})"))
    return checks


def _foreign_keys(service: MappedService) -> list[tuple[MappedTable, str]]:
    """The service's foreign keys between mapped tables must follow the model's references, which the rows
    keep; any other foreign key is checked by the database while loading."""
    problems = []
    by_live = {(t.schema, t.name): t for t in service.tables.values()}
    for table in service.tables.values():
        by_target = {c.target: c for c in table.columns}
        for fk in table.live.foreign_keys:
            referred = by_live.get(fk.referred)
            if referred is None or len(fk.columns) != 1:
                continue
            column = by_target.get(fk.columns[0])
            if column is None:
                continue
            key = referred.column(referred.model.primary_key[0])
            if key is None or (key.target,) != fk.referred_columns:
                problems.append((table, f"foreign key {fk.name or fk.columns[0]} on {table.qualified}."
                                        f"{fk.columns[0]} references {referred.qualified}"
                                        f"({', '.join(fk.referred_columns)}), not the column the model's key "
                                        f"{referred.model.primary_key[0]} is mapped to"))
                continue
            reference = next((r for r in CATALOG.references(table.model) if r.column.name == column.model.name), None)
            if reference is None or reference.resolving_table.qualified_name != referred.model.qualified_name:
                problems.append((table, f"foreign key {fk.name or fk.columns[0]}: {table.qualified}.{fk.columns[0]} "
                                        f"holds {column.model.name}, which the model does not resolve in "
                                        f"{referred.model.qualified_name}: its rows would not satisfy it"))
    return problems
