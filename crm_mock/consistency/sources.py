"""What the rules read: the tier's Parquet table store during the build (through DuckDB, which sorts and
aggregates out of core) or the live service databases afterwards (through the database port). Both
answer SQL per service, in key order when asked, streaming in batches."""

from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import ExitStack

import duckdb
import psycopg.types.string
import sqlalchemy as sa

from crm_mock.consistency.sql import Sql
from crm_mock.model import CATALOG, SERVICES
from crm_mock.model.ddl import UuidStorage
from crm_mock.sinks.databases import ServiceDatabases, Unreachable
from crm_mock.sinks.parquet import TableStore

FETCH = 10_000
STORE_MEMORY_LIMIT = "256MB"


class Source(ABC):
    """One tier's tables, per service; ``rows`` streams the result of a query run in a service's namespace."""

    dialect: str
    tier: str

    @property
    def sql(self) -> Sql:
        return Sql(self.dialect)

    @abstractmethod
    def rows(self, service: str, query: str) -> Iterator[tuple]:
        ...

    def uuid_storage(self, service: str) -> UuidStorage | None:
        return None

    def describe(self) -> str:
        return self.dialect

    def close(self) -> None:
        pass

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class StoreSource(Source):
    """The Parquet table store as one DuckDB database with a schema per service; memory is capped, larger
    sorts spill to a temporary directory."""

    dialect = "duckdb"

    def __init__(self, store: TableStore, tier: str) -> None:
        self.tier = tier
        self._spill = tempfile.TemporaryDirectory(prefix="crm-mock-rules-")
        self._db = duckdb.connect(config={"memory_limit": STORE_MEMORY_LIMIT, "threads": 2,
                                          "temp_directory": self._spill.name, "preserve_insertion_order": False})
        for service in SERVICES:
            self._db.execute(f'CREATE SCHEMA "{service}"')
            for table in CATALOG.service_tables(service):
                path = store.path(tier, table.service, table.name)
                if path.is_file():
                    literal = str(path).replace("'", "''")
                    self._db.execute(f'CREATE VIEW "{service}"."{table.name}" AS SELECT * FROM read_parquet(\'{literal}\')')

    def rows(self, service: str, query: str) -> Iterator[tuple]:
        cursor = self._db.cursor()
        try:
            cursor.execute(f'SET schema = \'{service}\'')
            reader = cursor.sql(query).to_arrow_reader(FETCH)
            for batch in reader:
                yield from zip(*(column.to_pylist() for column in batch.columns))
        finally:
            cursor.close()

    def describe(self) -> str:
        return f"the {self.tier} table store"

    def close(self) -> None:
        self._db.close()
        self._spill.cleanup()


class DatabaseSource(Source):
    """A tier's live service databases, opened through the port (read-only)."""

    def __init__(self, databases: ServiceDatabases, tier: str, services: tuple[str, ...] = SERVICES) -> None:
        self.tier = tier
        self.databases = databases
        self.dialect = databases.dialect
        self._stack = ExitStack()
        self._connections: dict[str, sa.Connection] = {}
        self._storage: dict[str, UuidStorage | None] = {}
        self._cursors = 0
        try:
            for service in services:  # all reachable, or nothing is checked
                self._connection(service)
        except BaseException:
            self.close()
            raise

    def _connection(self, service: str) -> sa.Connection:
        if service not in self._connections:
            self._connections[service] = self._stack.enter_context(self.databases.connect(self.tier, service))
            self._storage[service] = self.databases.uuid_storage(self.tier, service)
        return self._connections[service]

    def rows(self, service: str, query: str) -> Iterator[tuple]:
        # the driver's own cursor: its rows are tuples already, where SQLAlchemy's result would wrap each row
        # in an object the rules unpack again (without it the load tier's report took 1.3x as long on SQLite,
        # 2x on PostgreSQL)
        driver = self._connection(service).connection.driver_connection
        if self.dialect == "postgresql":
            self._cursors += 1
            # a server-side cursor: rows arrive in batches, never all at once; UUIDs as PostgreSQL prints them
            # (canonical text), not as uuid.UUID objects the rules would turn back into text
            cursor = driver.cursor(name=f"crm_mock_rows_{self._cursors}")
            cursor.adapters.register_loader("uuid", psycopg.types.string.TextLoader)
        else:
            cursor = driver.cursor()
        try:
            cursor.execute(self.databases.read_statement(self.tier, service, query))
            while batch := cursor.fetchmany(FETCH):
                yield from batch
        finally:
            cursor.close()

    def uuid_storage(self, service: str) -> UuidStorage | None:
        self._connection(service)
        return self._storage[service]

    def describe(self) -> str:
        return f"the {self.tier} service databases ({self.dialect})"

    def close(self) -> None:
        self._stack.close()


__all__ = ["DatabaseSource", "Source", "StoreSource", "Unreachable"]
