"""The database port through a mapping: the same `ServiceDatabases` questions, answered in the services' own
tables for the services the mapping covers (the others are loaded and read as crm_mock's tables).

Loads go through crm_mock.mapping.load. Read-only connections present the model: every SELECT is rewritten
in front of the service's tables (crm_mock.mapping.present), so the consistency rules, the fixture export
and row counts run unchanged and report in the model's names. Writable connections are the service's
database as it is (repairs write through crm_mock.mapping.repair).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

import sqlalchemy as sa

from crm_mock.mapping.live import read_live
from crm_mock.mapping.load import load_postgres, load_sqlite
from crm_mock.mapping.present import Presenter
from crm_mock.mapping.resolve import MappedService, resolve
from crm_mock.mapping.spec import TargetMapping, load_mapping
from crm_mock.model.ddl import UuidStorage
from crm_mock.sinks.databases import ServiceDatabases, SqliteDatabases, Unreachable
from crm_mock.sinks.sqlite import BatchSource

MAPPING_ENV = "CRM_MOCK_MAPPING"


class MappingMismatch(Unreachable):
    """The mapping does not fit the service's live database, so its tables cannot be read as the model's."""


class MappedDatabases(ServiceDatabases):
    def __init__(self, inner: ServiceDatabases, mapping: TargetMapping) -> None:
        self.inner = inner
        self.mapping = mapping
        self.dialect = inner.dialect
        self._resolved: dict[tuple[str, str], MappedService] = {}
        self._presenters: dict[tuple[str, str], Presenter] = {}

    def mapped(self, service: str) -> bool:
        return service in self.mapping

    def location(self, tier: str, service: str) -> str:
        where = self.inner.location(tier, service)
        if self.mapped(service):
            return f"{where} through {self.mapping.documents[service].path}"
        return where

    def load(self, tier: str, service: str, sources: Mapping[str, BatchSource], uuid_storage: UuidStorage,
             notify: Callable[[str], None] | None = None) -> dict[str, int]:
        if not self.mapped(service):
            return self.inner.load(tier, service, sources, uuid_storage, notify)
        self._resolved.pop((tier, service), None)
        sources = {name: source for name, source in sources.items()
                   if name not in self.mapping.services[service].skip}
        if isinstance(self.inner, SqliteDatabases):
            return load_sqlite(self.inner.path(tier, service), self.mapping, service, sources, notify)
        engine = self.inner._engine(tier, service, writable=True)
        try:
            return load_postgres(engine, self.mapping, service, self.inner.location(tier, service), sources, notify)
        except sa.exc.OperationalError as exc:
            raise Unreachable(f"{service} database of tier {tier!r} is unreachable: "
                              f"{str(exc.orig).strip().splitlines()[0]}") from None
        finally:
            engine.dispose()

    def resolved(self, tier: str, service: str) -> MappedService:
        """The service's mapping against its live schema (read once); MappingMismatch lists what does not fit."""
        key = (tier, service)
        if key not in self._resolved:
            engine = self.inner._engine(tier, service, writable=False)
            try:
                with engine.connect() as connection:
                    spec = self.mapping.services[service]
                    live = read_live(connection, {t.schema_ or spec.schema_ for t in spec.tables.values()})
            except sa.exc.DBAPIError as exc:
                raise Unreachable(f"{service} database of tier {tier!r} is unreachable: "
                                  f"{str(exc.orig).strip().splitlines()[0]}") from None
            finally:
                engine.dispose()
            service_map, problems = resolve(self.mapping, service, live)
            if problems:
                raise MappingMismatch(f"{service} database of tier {tier!r} does not fit the mapping:\n"
                                      + "\n".join(f"  - {p}" for p in problems))
            self._resolved[key] = service_map
        return self._resolved[key]

    def uuid_storage(self, tier: str, service: str) -> UuidStorage | None:
        if self.mapped(service):
            return self.resolved(tier, service).uuid_storage
        return self.inner.uuid_storage(tier, service)

    def read_statement(self, tier: str, service: str, query: str) -> str:
        return self._presenter(tier, service).rewrite(query) if self.mapped(service) else query

    def _presenter(self, tier: str, service: str) -> Presenter:
        if (tier, service) not in self._presenters:
            self._presenters[tier, service] = Presenter(self.resolved(tier, service))
        return self._presenters[tier, service]

    def _engine(self, tier: str, service: str, writable: bool) -> sa.Engine:
        engine = self.inner._engine(tier, service, writable)
        if self.mapped(service) and not writable:
            presenter = self._presenter(tier, service)
            pyformat = engine.dialect.paramstyle == "pyformat"

            def rewrite(conn, cursor, statement, parameters, context, executemany):
                return presenter.rewrite(statement, escape_percent=pyformat and bool(parameters)), parameters

            sa.event.listen(engine, "before_cursor_execute", rewrite, retval=True)
        return engine

    def count_rows(self, tier: str, service: str, table: str) -> int:
        if self.mapped(service) and table in self.mapping.services[service].skip:
            return 0
        return super().count_rows(tier, service, table)


def with_mapping(databases: ServiceDatabases, mapping: str | Path | list | None = None) -> ServiceDatabases:
    """``databases`` through the mapping file(s) given, or named by $CRM_MOCK_MAPPING (files or folders,
    separated by the path separator); unchanged when there is none. MappingError lists a bad file's problems."""
    if mapping is None:
        mapping = os.environ.get(MAPPING_ENV, "")
    if isinstance(mapping, str):
        mapping = [p for p in mapping.split(os.pathsep) if p]
    elif isinstance(mapping, Path):
        mapping = [mapping]
    if not mapping:
        return databases
    return MappedDatabases(databases, load_mapping(list(mapping)))
