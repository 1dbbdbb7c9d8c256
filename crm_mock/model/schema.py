"""The vocabulary the data model is written in: column kinds, columns, tables, references.

Everything downstream (DDL, Parquet schemas, Dagster column schemas, checks, lineage, boundary values)
reads these objects; nothing restates a table's columns by hand.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Kind(enum.Enum):
    UUID = "uuid"
    TEXT = "text"
    CODE = "code"  # an upper-case code from a closed vocabulary
    INTEGER = "integer"
    MONEY = "money"  # decimal with 2 places, NUMERIC(12,2)
    DATE = "date"
    TIMESTAMP = "timestamp"


UUID_TEXT_LENGTH = 36
MONEY_PRECISION = 12
MONEY_SCALE = 2


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    max_length: int | None = None
    nullable: bool = False
    references: str | None = None  # "service.table" of the master record this column points to
    vocabulary: tuple[str, ...] | None = None
    description: str = ""
    # (asset key path, column) of the record another service owns and this value is synced from
    synced_from: tuple[str, str] | None = None
    unique: bool = False  # a unique constraint in the service database (beyond the primary key)

    def __post_init__(self) -> None:
        if self.kind in (Kind.TEXT, Kind.CODE) and not self.max_length:
            raise ValueError(f"column {self.name}: text needs a max_length")
        if self.kind is Kind.CODE and not self.vocabulary:
            raise ValueError(f"column {self.name}: a code column needs its vocabulary")
        if self.vocabulary and self.max_length and max(map(len, self.vocabulary)) > self.max_length:
            raise ValueError(f"column {self.name}: a vocabulary word is longer than max_length")

    @property
    def length(self) -> int | None:
        return UUID_TEXT_LENGTH if self.kind is Kind.UUID else self.max_length


@dataclass(frozen=True)
class ReplicaOf:
    """Which master a replica table copies, and which of the master's columns it carries."""

    master: str  # "service.table"
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    service: str
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    description: str
    replica_of: ReplicaOf | None = None
    owned_columns: tuple[str, ...] = field(default=())  # replica columns the replica's service owns

    @property
    def qualified_name(self) -> str:
        return f"{self.service}.{self.name}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.qualified_name} has no column {name!r}")

    @property
    def foreign_keys(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.references)

    @property
    def is_replica(self) -> bool:
        return self.replica_of is not None


@dataclass(frozen=True)
class Reference:
    """A foreign key resolved against the service that holds it.

    ``local_table`` is where it resolves inside the service (the master itself or the service's replica
    of it); None means a cross-service reference that resolves in the owning service's database.
    """

    table: Table
    column: Column
    master: Table
    local_table: Table | None

    @property
    def target_key(self) -> str:
        return self.master.primary_key[0]

    @property
    def is_cross_service(self) -> bool:
        return self.local_table is None

    @property
    def resolving_table(self) -> Table:
        return self.local_table or self.master
