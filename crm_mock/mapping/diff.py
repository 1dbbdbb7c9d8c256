"""`crm-mock mapping diff`: how a mapping and a service's live schema differ, table by table: what the
mapping names that is not there or cannot hold the values (the problems a load would refuse with), and
what the service has that the mapping does not say (new columns, tables, left-out columns that now exist)."""

from __future__ import annotations

from dataclasses import dataclass, field

from crm_mock.mapping.live import LiveSchema
from crm_mock.mapping.resolve import Form, MappedColumn, column_form, resolve
from crm_mock.mapping.spec import TargetMapping


@dataclass
class ServiceDiff:
    service: str
    problems: list[str] = field(default_factory=list)  # a load would refuse
    changes: list[str] = field(default_factory=list)  # the mapping no longer says what the schema suggests
    notes: list[str] = field(default_factory=list)  # what the service has and the mapping leaves alone

    @property
    def differs(self) -> bool:
        return bool(self.problems or self.changes)

    def render(self) -> str:
        lines = [f"{self.service}: " + ("the mapping fits" if not self.differs else
                                         f"{len(self.problems)} problem(s), {len(self.changes)} change(s)")]
        lines += [f"  ! {p}" for p in self.problems]
        lines += [f"  ~ {c}" for c in self.changes]
        lines += [f"  · {n}" for n in self.notes]
        return "\n".join(lines)


def diff_service(mapping: TargetMapping, service: str, live: LiveSchema) -> ServiceDiff:
    result = ServiceDiff(service)
    resolved, result.problems = resolve(mapping, service, live)
    spec = mapping.services[service]
    for name, table in sorted(resolved.tables.items()):
        written = set(table.target_columns)
        for column in table.live.columns.values():
            if column.name not in written and (column.nullable or column.has_default):
                result.notes.append(f"{table.qualified}.{column.name} {column.type.text}"
                                    f"{'' if column.nullable else ' NOT NULL'}: not in the mapping "
                                    f"(left to its {'default' if column.has_default else 'default or null'})")
        for column in table.omitted:
            if column.name in table.live.columns and column.name not in written:
                result.changes.append(f"{service}.{name}.{column.name} is left out, but {table.qualified} has a "
                                    f"column {column.name!r} now")
        for column in table.columns:
            inferred = _inferred(column, resolved.dialect)
            if inferred and inferred != column.form:
                result.changes.append(f"{service}.{name}.{column.model.name}: written as {_describe(column.form)}; "
                                    f"{table.qualified}.{column.target} ({column.live.type.text}) suggests "
                                    f"{_describe(inferred)}")
    mapped = {(t.schema, t.name) for t in resolved.tables.values()}
    schemas = {t.schema for t in resolved.tables.values()} or {live.default_schema}
    for schema in sorted(schemas):
        others = sorted(n for (s, n) in live.tables if s == schema and (s, n) not in mapped)
        if others:
            result.notes.append(f"tables in {schema} the mapping does not write: {', '.join(others)}")
    for name in spec.skip:
        result.notes.append(f"{service}.{name} is skipped (not loaded, its rules not run)")
    return result


def _inferred(column: MappedColumn, dialect: str) -> Form | None:
    """The form the live type alone suggests (None where it cannot hold the values or codes are mapped)."""
    form, problems = column_form(column.model, None, column.live, dialect)
    return None if problems or column.form.values is not None else form


def _describe(form: Form) -> str:
    return ", ".join(f"{k}: {getattr(form, k)}" for k in ("uuid", "moment", "money") if getattr(form, k)) or "is"

