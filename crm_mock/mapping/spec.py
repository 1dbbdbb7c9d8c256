"""The mapping file: how crm_mock's model tables land in a service team's own tables.

One YAML file holds one or more services (``crm-mock mapping draft`` writes one per service); several
files combine, each service in one of them. Validation has two stages: here, against the data model
(tables, columns, vocabularies, kinds); in ``resolve``, against the live database. Every problem names
the file, line and column it is about.

    version: 1
    services:
      contact:
        schema: public                 # PostgreSQL schema of the tables (default: the configured one)
        skip: [employee_replica]       # model tables this service does not keep
        tables:
          accounts:
            table: contacts_account
            keep_rows: "origin <> 'crm_mock'"   # the service's own rows, never deleted nor read as ours
            columns:
              account_uuid: id                    # a rename; the form follows the live column's type
              status: {column: status, values: {ACTIVE: active, ON_HOLD: on_hold, ...}}
              created_at: {column: created, moment: aware}
            omit: [website]                       # model columns the service does not keep
            fill:                                 # the service's own columns crm_mock must fill
              is_active: {from: status, values: {ACTIVE: true, ON_HOLD: true, SUSPENDED: false, CLOSED: false}}
              version: 1
              display_name: {template: "{name} ({country_code})"}
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator

from crm_mock.mapping.marks import MarkedDocument, MarkedYamlError, Path_, load_marked
from crm_mock.model import CATALOG, SERVICES, Column, Kind, Table

TODO = "TODO"
Scalar = Union[bool, int, float, str, None]
UuidForm = Literal["native", "text", "hex", "bytes"]
MomentForm = Literal["aware", "naive_utc"]
MoneyForm = Literal["decimal", "cents"]


class MappingError(ValueError):
    """A mapping that cannot be used; ``problems`` each name the file, line and column."""

    def __init__(self, problems: list[str], headline: str = "the mapping cannot be used") -> None:
        self.problems = problems
        super().__init__(f"{headline}:\n" + "\n".join(f"  - {p}" for p in problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ColumnSpec(_Strict):
    column: str
    uuid: UuidForm | None = None
    moment: MomentForm | None = None
    money: MoneyForm | None = None
    # vocabulary word -> the service's spelling; "lower" spells every word in lower case (Django choices)
    values: dict[str, Scalar] | Literal["lower"] | None = None

    def value_map(self, column: Column) -> dict[str, Scalar] | None:
        if self.values == "lower":
            return {word: word.lower() for word in column.vocabulary or ()}
        return self.values


class FromValues(_Strict):
    """A value of the service's column chosen by a model column's code (e.g. a boolean from a status)."""

    from_: str = Field(alias="from")
    values: dict[str, Scalar]


class Copy(_Strict):
    copy_: str = Field(alias="copy")  # a model column, written again in this column


class Template(_Strict):
    template: str  # text with {model_column} placeholders


class Constant(_Strict):
    value: Scalar


def _fill_kind(value: object) -> str:
    """Which way a fill is written, from its keys (so an error speaks of that way only)."""
    if isinstance(value, dict):
        for key, kind in (("from", "FromValues"), ("copy", "Copy"), ("template", "Template")):
            if key in value:
                return kind
        return "Constant"
    return type(value).__name__


Fill = Annotated[Annotated[Constant, Tag("Constant")] | Annotated[FromValues, Tag("FromValues")] | Annotated[Copy, Tag("Copy")] | Annotated[Template, Tag("Template")], Discriminator(_fill_kind)]


class TableSpec(_Strict):
    table: str
    schema_: str | None = Field(default=None, alias="schema")
    columns: dict[str, str | ColumnSpec] = {}
    omit: list[str] = []
    fill: dict[str, Fill] = {}
    keep_rows: str | None = None  # SQL over the service's columns: true for the rows that are the service's own

    @field_validator("fill", mode="before")
    @classmethod
    def _fills(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        # a plain scalar is a constant; a mapping says how the value is derived
        return {k: v if isinstance(v, dict) else {"value": v} for k, v in value.items()}

    def column_spec(self, name: str) -> ColumnSpec:
        spec = self.columns.get(name, name)
        return ColumnSpec(column=spec) if isinstance(spec, str) else spec


class ServiceSpec(_Strict):
    schema_: str | None = Field(default=None, alias="schema")
    tables: dict[str, TableSpec] = {}
    skip: list[str] = []


class MappingFile(_Strict):
    version: Literal[1] = 1
    services: Annotated[dict[str, ServiceSpec], Field(min_length=1)]


@dataclass
class TargetMapping:
    """The services a mapping covers, each with the document it was read from (to locate problems)."""

    services: dict[str, ServiceSpec] = field(default_factory=dict)
    documents: dict[str, MarkedDocument] = field(default_factory=dict)

    def __contains__(self, service: str) -> bool:
        return service in self.services

    def locate(self, service: str, where: Path_ = (), key: bool = False) -> str:
        """file:line:column of a path under ``services.<service>``."""
        return self.documents[service].locate(("services", service, *where), key)

    @property
    def files(self) -> list[Path]:
        return sorted({d.path for d in self.documents.values()})


def _todos(value: object, where: Path_) -> list[Path_]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _todos(v, where + (k,))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _todos(v, where + (i,))]
    return [where] if isinstance(value, str) and value.strip() == TODO else []


def _loc(error: dict) -> Path_:
    """pydantic's location, with the internal names of aliased and wrapped fields as the file spells them."""
    out: list = []
    for part in error["loc"]:
        if part in ("Constant", "FromValues", "Copy", "Template", "str", "ColumnSpec"):
            continue
        out.append({"from_": "from", "copy_": "copy", "schema_": "schema"}.get(part, part))
    return tuple(out)


def parse_document(document: MarkedDocument) -> tuple[MappingFile | None, list[str]]:
    problems = [f"{document.locate(p)}: {'.'.join(map(str, p))} is still {TODO}: fill it in"
                for p in _todos(document.data, ())]
    try:
        parsed = MappingFile.model_validate(document.data)
    except ValidationError as exc:
        for error in exc.errors():
            if error["type"] == "string_type" and isinstance(error.get("input"), dict):
                continue  # the plain-name branch of a column written as a mapping
            where = _loc(error)
            if any(where[:len(p)] == p for p in _todos(document.data, ())):
                continue  # already reported as a TODO
            message = error["msg"]
            if error["type"] == "extra_forbidden":
                message = f"unknown field {where[-1]!r}"
            problems.append(f"{document.locate(where, key=error['type'] == 'extra_forbidden')}: "
                            f"{'.'.join(map(str, where)) or '(top)'}: {message}")
        return None, problems
    return parsed, problems


def load_mapping(paths: list[str | Path] | str | Path) -> TargetMapping:
    """Read and check one or more mapping files against the data model; MappingError lists every problem."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    mapping, problems = TargetMapping(), []
    for path in _expand(paths):
        try:
            document = load_marked(path)
        except MarkedYamlError as exc:
            problems.append(str(exc))
            continue
        parsed, found = parse_document(document)
        problems += found
        if parsed is None:
            continue
        for service, spec in parsed.services.items():
            if service in mapping.services:
                problems.append(f"{document.locate(('services', service), key=True)}: service {service!r} is "
                                f"already mapped in {mapping.documents[service].path}")
                continue
            mapping.services[service], mapping.documents[service] = spec, document
    if not problems:
        for service in mapping.services:
            problems += check_against_model(mapping, service)
    if problems:
        raise MappingError(problems)
    return mapping


def _expand(paths: list[str | Path]) -> list[Path]:
    """Files as given; a directory stands for its *.yaml and *.yml files, in name order."""
    out = []
    for path in map(Path, paths):
        out += sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path]
    return out


def check_against_model(mapping: TargetMapping, service: str) -> list[str]:
    """What the data model alone says is wrong: unknown tables and columns, forms that do not fit a column's
    kind, value maps that miss a code or cannot be read back, fills that name no model column."""
    if service not in SERVICES:
        return [f"{mapping.locate(service, key=True)}: unknown service {service!r}; the model has {', '.join(SERVICES)}"]
    spec = mapping.services[service]
    problems: list[str] = []

    def problem(where: Path_, message: str, key: bool = False) -> None:
        problems.append(f"{mapping.locate(service, where, key)}: {message}")

    names = {t.name for t in CATALOG.service_tables(service)}
    for i, name in enumerate(spec.skip):
        if name not in names:
            problem(("skip", i), f"{service} has no table {name!r}; its tables are {', '.join(sorted(names))}")
    for name in sorted(names - set(spec.tables) - set(spec.skip)):
        problem(("tables",), f"model table {service}.{name} is not mapped: map it under tables, or list it under skip")
    targets: dict[tuple[str | None, str], str] = {}
    for name, table_spec in spec.tables.items():
        where = ("tables", name)
        if name not in names:
            problem(where, f"{service} has no table {name!r}; its tables are {', '.join(sorted(names))}", key=True)
            continue
        if name in spec.skip:
            problem(where, f"{service}.{name} is both mapped and skipped", key=True)
        target = (table_spec.schema_ or spec.schema_, table_spec.table)
        if target in targets:
            problem(where + ("table",), f"{service}.{targets[target]} is already mapped to {table_spec.table}")
        targets[target] = name
        problems += [f"{mapping.locate(service, where + w, k)}: {m}"
                     for w, m, k in check_table(CATALOG[f"{service}.{name}"], table_spec)]
    return problems


def check_table(table: Table, spec: TableSpec) -> list[tuple[Path_, str, bool]]:
    """(path under the table, message, points at a key) for each problem the model alone shows."""
    problems: list[tuple[Path_, str, bool]] = []
    model = set(table.column_names)
    for name in spec.columns:
        if name not in model:
            problems.append((("columns", name), f"{table.qualified_name} has no column {name!r}", True))
    for i, name in enumerate(spec.omit):
        if name not in model:
            problems.append((("omit", i), f"{table.qualified_name} has no column {name!r}", False))
        elif name in table.primary_key:
            problems.append((("omit", i), f"{name} is {table.qualified_name}'s key: it cannot be left out", False))
        elif name in spec.columns:
            problems.append((("omit", i), f"{name} is both mapped and left out", False))
    written: dict[str, str] = {}
    for column in table.columns:
        if column.name in spec.omit:
            continue
        column_spec = spec.column_spec(column.name)
        where = ("columns", column.name)
        if column_spec.column in written:
            problems.append((where, f"{column.name} and {written[column_spec.column]} both map to column "
                                    f"{column_spec.column!r}", False))
        written[column_spec.column] = column.name
        for form, kind in (("uuid", Kind.UUID), ("moment", Kind.TIMESTAMP), ("money", Kind.MONEY)):
            if getattr(column_spec, form) is not None and column.kind is not kind:
                problems.append((where + (form,), f"{column.name} is {column.kind.value}, not {kind.value}: "
                                                  f"{form} does not apply", True))
        if column_spec.values is not None:
            problems += [(where + ("values",) + w, m, k)
                         for w, m, k in _check_values(column, column_spec.value_map(column), True)]
    for name, fill in spec.fill.items():
        where = ("fill", name)
        if name in written:
            problems.append((where, f"column {name!r} is already written from {written[name]}", True))
        for source in fill_sources(fill):
            if source not in model:
                problems.append((where, f"{table.qualified_name} has no column {source!r}", False))
            elif source in spec.omit:
                problems.append((where, f"{source} is left out: it cannot fill {name}", False))
        if isinstance(fill, FromValues) and fill.from_ in model:
            problems += [(where + ("values",) + w, m, k)
                         for w, m, k in _check_values(table.column(fill.from_), fill.values, False)]
    return problems


def fill_sources(fill: Fill) -> list[str]:
    if isinstance(fill, FromValues):
        return [fill.from_]
    if isinstance(fill, Copy):
        return [fill.copy_]
    if isinstance(fill, Template):
        return [f.split(".")[0].split("[")[0] for _, f, _, _ in string.Formatter().parse(fill.template) if f]
    return []


def _check_values(column, values: dict[str, Scalar], readable: bool) -> list[tuple[Path_, str, bool]]:
    """A value map covers the column's whole vocabulary; when the service's column holds the code, every
    spelling must be distinct, so the code can be read back."""
    if column.kind is not Kind.CODE:
        return [((), f"{column.name} is {column.kind.value}, not a code: values does not apply", True)]
    problems = [((word,), f"{word!r} is not in {column.name}'s vocabulary ({', '.join(column.vocabulary)})", True)
                for word in values if word not in column.vocabulary]
    missing = [w for w in column.vocabulary if w not in values]
    if missing:
        problems.append(((), f"no spelling for {', '.join(missing)} of {column.name}", False))
    if readable:
        seen: dict[object, str] = {}
        for word, spelled in values.items():
            key = (type(spelled), spelled)
            if key in seen:
                problems.append(((word,), f"{seen[key]} and {word} are both written {spelled!r}: the code "
                                          f"could not be read back", False))
            seen[key] = word
            if spelled is None:
                problems.append(((word,), f"{word} is written as null: the code could not be read back", False))
    return problems
