"""The curated fixtures, one YAML file per theme, validated against the data model when loaded."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

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
    # every other case names the planting it needs
    kind: str | None = None

    @model_validator(mode="after")
    def _check(self) -> "EdgeCase":
        if self.kind:
            return self
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

    def text(self) -> str:
        """The value planted: the literal, or the fill repeated to exactly the column's max length."""
        if self.value is not None:
            return self.value
        length = CATALOG[self.table].column(self.column).max_length
        return (self.fill * (length // len(self.fill) + 1))[:length]


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
    ids = [c.id for c in cases]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise ValueError(f"edge case ids must be unique: {duplicated}")
    return tuple(cases)
