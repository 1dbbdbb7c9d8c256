"""The one database port: where a tier's service databases live, chosen once from configuration.

`SqliteDatabases` (the embedded default, data/<tier>/<service>.sqlite) and `PostgresDatabases` (a
SQLAlchemy URL template with {tier} and {service}) answer the same questions: load a service, open it
through SQLAlchemy (read-only for rules, writable for repairs), say where it is without secrets, and
how it spells UUIDs. Loads, rules, repairs, fixtures and the CLI all go through it.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path

import psycopg
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from crm_mock.model.ddl import UuidStorage
from crm_mock.sinks.postgres import SESSION_OPTIONS, DatabaseTargetError, PostgresTarget, load_service_postgres
from crm_mock.sinks.sqlite import BatchSource, load_service, sqlite_path, uuid_storage_of


class Unreachable(RuntimeError):
    """A service database that is missing or cannot be reached (the message never holds a password)."""


class ServiceDatabases(ABC):
    """A tier's service databases."""

    dialect: str  # "sqlite" or "postgresql"

    @abstractmethod
    def location(self, tier: str, service: str) -> str:
        """Where a service's tables are, fit to show: never a password."""

    @abstractmethod
    def load(self, tier: str, service: str, sources: Mapping[str, BatchSource], uuid_storage: UuidStorage,
             notify: Callable[[str], None] | None = None) -> dict[str, int]:
        """Replace the service's model tables with exactly ``sources`` (atomic, idempotent)."""

    @abstractmethod
    def _engine(self, tier: str, service: str, writable: bool) -> sa.Engine:
        ...

    def uuid_storage(self, tier: str, service: str) -> UuidStorage | None:
        """How the service's database spells UUIDs; None where the database has a uuid type."""
        return None

    def read_statement(self, tier: str, service: str, query: str) -> str:
        """``query`` (a read of the model's tables) as the service's database answers it; a mapping rewrites it
        onto the service's own tables. For a reader that runs it on the driver's cursor, past SQLAlchemy."""
        return query

    @contextmanager
    def connect(self, tier: str, service: str, writable: bool = False) -> Iterator[sa.Connection]:
        """A SQLAlchemy connection to the service's database (its schema on the search path, moments in UTC)."""
        engine = self._engine(tier, service, writable)
        try:
            try:
                connection = engine.connect()
            except sa.exc.DBAPIError as exc:
                raise Unreachable(f"{service} database of tier {tier!r} is unreachable: {_first_line(exc.orig)}") from None
            with connection:
                yield connection
        finally:
            engine.dispose()

    def count_rows(self, tier: str, service: str, table: str) -> int:
        with self.connect(tier, service) as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class SqliteDatabases(ServiceDatabases):
    dialect = "sqlite"

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir)

    def path(self, tier: str, service: str) -> Path:
        return sqlite_path(self.data_dir, tier, service)

    def location(self, tier: str, service: str) -> str:
        return str(self.path(tier, service))

    def load(self, tier, service, sources, uuid_storage, notify=None):
        return load_service(self.path(tier, service), service, sources, uuid_storage, notify)

    def uuid_storage(self, tier: str, service: str) -> UuidStorage:
        path = self._existing(tier, service)
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            return uuid_storage_of(conn, service)

    def _existing(self, tier: str, service: str) -> Path:
        path = self.path(tier, service)
        if not path.is_file():
            raise Unreachable(f"{service} database of tier {tier!r} does not exist ({path})")
        return path

    def _engine(self, tier: str, service: str, writable: bool) -> sa.Engine:
        path = self._existing(tier, service)
        mode = "rw" if writable else "ro"
        engine = sa.create_engine(f"sqlite+pysqlite:///file:{path}?mode={mode}&uri=true", poolclass=NullPool)
        if writable:  # SQLite enforces the declared foreign keys only when asked, per connection
            sa.event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA foreign_keys = ON"))
        return engine


class PostgresDatabases(ServiceDatabases):
    dialect = "postgresql"

    def __init__(self, template: str) -> None:
        self.template = template

    def target(self, tier: str, service: str) -> PostgresTarget:
        return PostgresTarget.resolve(self.template, tier, service)

    def location(self, tier: str, service: str) -> str:
        target = self.target(tier, service)
        return f"{target.display} (schema {target.schema})"

    def load(self, tier, service, sources, uuid_storage, notify=None):
        return load_service_postgres(self.template, tier, service, sources, notify)

    def _engine(self, tier: str, service: str, writable: bool) -> sa.Engine:
        try:
            target = self.target(tier, service)
        except DatabaseTargetError as exc:
            raise Unreachable(str(exc)) from None
        options = f'{SESSION_OPTIONS} -c search_path="{target.schema}"'
        if not writable:
            options += " -c default_transaction_read_only=on"
        conninfo = psycopg.conninfo.make_conninfo(target.conninfo, options=options, connect_timeout=10)
        return sa.create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(conninfo),
                                poolclass=NullPool)


def service_databases(database_url: str, data_dir: str | Path) -> ServiceDatabases:
    """PostgreSQL when a URL template is configured, else the embedded SQLite files."""
    return PostgresDatabases(database_url) if database_url else SqliteDatabases(data_dir)
