"""The curated fixtures, one YAML file per theme, validated against the data model when loaded."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, model_validator

from crm_mock.model import CATALOG, Kind

FIXTURES = Path(__file__).parent
THEMES = ("text", "numbers_and_dates", "business", "golden")
# the tables text is planted into: generated row by row, so a planted row is one index of the table
TEXT_TABLES = ("hr.employees", "contact.accounts", "contact.contacts", "inventory.products", "support.tickets")


class EdgeCase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    description: str
    theme: str = ""
    # text cases: a literal value, or a boundary derived from the column's declared length
    table: str | None = None
    column: str | None = None
    value: str | None = None
    boundary: Literal["max_length"] | None = None
    fill: str | None = None
    # the countries whose rows the value belongs to (a French city, an Indian name); any when unset
    countries: tuple[Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")], ...] | None = None
    # every other case names the planting it needs, and the tables that planting touches (the generators
    # record each planted row; a test holds those records to these tables)
    kind: str | None = None
    tables: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> "EdgeCase":
        if self.kind:
            if not self.tables:
                raise ValueError("a case with a kind names the tables its planting touches (tables)")
            unknown = [t for t in self.tables if t not in CATALOG]
            if unknown:
                raise ValueError(f"tables: {unknown} are not tables of the model")
            return self
        if self.tables:
            raise ValueError("a text case plants into its table; tables is only for cases with a kind")
        if not (self.table and self.column):
            raise ValueError("a text case needs table and column (or a kind)")
        if self.table not in TEXT_TABLES:
            raise ValueError(f"text is planted only into {list(TEXT_TABLES)}, not {self.table}")
        column = CATALOG[self.table].column(self.column)
        if column.kind is not Kind.TEXT:
            raise ValueError(f"{self.table}.{self.column} is not a free-text column")
        if (self.value is None) == (self.boundary is None):
            raise ValueError("give exactly one of value and boundary")
        if self.boundary and not self.fill:
            raise ValueError("a boundary needs the fill text to repeat")
        if self.value is not None and len(self.value) > column.max_length:
            raise ValueError(f"value is {len(self.value)} characters; {self.table}.{self.column} holds "
                             f"{column.max_length}")
        return self

    @property
    def planted_tables(self) -> tuple[str, ...]:
        return (self.table,) if self.table else self.tables

    def text(self, contact_details: str = "reserved") -> str:
        """The value planted: the literal, or the fill repeated to exactly the column's max length (an
        e-mail or web address keeps its shape: the fill pads the part before the domain, and the domain
        obeys the scenario's ``contact_details``)."""
        if self.value is not None:
            return self.value
        length = CATALOG[self.table].column(self.column).max_length
        if self.column == "email":
            return _longest_email(length, DOMAIN_TAILS[contact_details])
        prefix, suffix = _SHAPES.get(self.column, ("", ""))
        if self.column == "website":
            suffix = DOMAIN_TAILS[contact_details]
        room = length - len(prefix) - len(suffix)
        body = (self.fill * (room // len(self.fill) + 1))[:room]
        if self.column == "website" and body.endswith("."):  # an empty label is no host name
            body = body[:-1] + "x"
        return prefix + body + suffix


# where planted addresses end: the reserved top-level domain itself, or example.com (RFC 2606 reserves
# it too) for the realistic mode's real-looking names
DOMAIN_TAILS = {"reserved": ".example", "realistic": ".example.com"}


def _longest_email(length: int, tail: str) -> str:
    """A valid address of exactly ``length`` characters: a 64-character local part (the RFC 5321
    maximum) and a domain of labels of at most 63 characters, ending in ``tail``."""
    local = "x" * min(64, length - 14)
    room = length - len(local) - 1 - len(tail)  # the labels and the dots between them
    labels = []
    while room > 0:
        size = room if room <= 63 else min(63, room - 2)  # leave a dot and a label of at least one
        labels.append("d" * size)
        room -= size + 1
    return f"{local}@{'.'.join(labels)}{tail}"


# columns whose values have a shape a maximal value must keep; the phone pads the extension of a
# fictional (NANPA 555-01xx) number, so it reaches no one in either mode
_SHAPES = {"website": ("https://www.", ""), "phone": ("+1 212-555-0199 ext. ", ""),
           "postal_code": ("", "")}
_FILLS = {"email": "x", "website": "long-subdomain.", "phone": "0123456789", "postal_code": "9", "sku": "MAXSKU"}
SHAPED_ONLY = ("country_code",  # too short to pad without leaving the vocabulary the data relies on
               "ticket_number")  # document numbers stay unique and increasing with time


def derived_boundaries() -> list[EdgeCase]:
    """One case per free-text column of the planted tables: a value at exactly its declared max length."""
    cases = []
    for table in TEXT_TABLES:
        for column in CATALOG[table].columns:
            if column.kind is not Kind.TEXT or column.name in SHAPED_ONLY:
                continue
            cases.append(EdgeCase(
                id=f"max_length.{table}.{column.name}", theme="text", table=table, column=column.name,
                boundary="max_length", fill=_FILLS.get(column.name, f"Max {column.name.replace('_', ' ')} "),
                description=f"{table}.{column.name} at exactly its max length ({column.max_length} characters)",
            ))
    return cases


@cache
def load_catalog() -> tuple[EdgeCase, ...]:
    cases: list[EdgeCase] = []
    for theme in THEMES:
        path = FIXTURES / f"{theme}.yaml"
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if document.get("theme") != theme:
            raise ValueError(f"{path.name}: theme must be {theme!r}")
        for i, raw in enumerate(document.get("cases", [])):
            try:
                cases.append(EdgeCase.model_validate({**raw, "theme": theme}))
            except ValidationError as exc:
                raise ValueError(f"{path.name}: case {raw.get('id', i)!r}: {exc}") from None
    cases += derived_boundaries()
    ids = [c.id for c in cases]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise ValueError(f"edge case ids must be unique: {duplicated}")
    return tuple(cases)


def theme_tables(theme: str) -> list[str]:
    """The tables a theme plants into, so the graph can show where the edge cases enter."""
    return sorted({t for case in load_catalog() if case.theme == theme for t in case.planted_tables})
