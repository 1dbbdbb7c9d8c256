"""`repropagate` through a mapping: the masters read as the model (the mapped port presents them), the
replicas written in the services' own tables and spelling. Unmapped services are repaired as crm_mock's
tables (crm_mock.consistency.repair), so a tier may mix both.

A missing or drifted replica row is upserted from its master (the copied columns, and the service's own
columns derived from them; a new row gets the replica's owned defaults and the mapping's fills). A replica
row without a master is deleted unless a row of the service still references it. Each service's changes
commit together.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from crm_mock.consistency.engine import RuleContext, merge_sorted
from crm_mock.consistency.repair import (
    OWNED_DEFAULTS, Repair, _Writer, repropagate_replica, repropagate_tier, resync_credit_holds,
)
from crm_mock.consistency.rules.synced import credit_holds_merged
from crm_mock.consistency.sources import FETCH, DatabaseSource
from crm_mock.mapping.convert import sqlite_rows, target_batch
from crm_mock.mapping.port import MappedDatabases
from crm_mock.mapping.resolve import Form, MappedService, MappedTable
from crm_mock.mapping.spec import Copy, FromValues, Template, fill_sources
from crm_mock.model import CATALOG, Column, Kind, Table
from crm_mock.model.ddl import arrow_schema
from crm_mock.scenario import TierPlan
from crm_mock.sinks.databases import ServiceDatabases
from crm_mock.sinks.values import canonical_uuid


def model_value(column: Column, value: object) -> object:
    """A value as a rule read it (any database's spelling) in the model's Arrow-ready form."""
    if value is None:
        return None
    match column.kind:
        case Kind.UUID:
            return canonical_uuid(value)
        case Kind.MONEY:
            return float(value)
        case Kind.DATE:
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
        case Kind.TIMESTAMP:
            moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
            return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment
    return value


def stored_key(form: Form, canonical: str, dialect: str) -> object:
    """A canonical UUID as the service's column stores it, to bind in a query."""
    if form.uuid == "hex":
        return canonical.replace("-", "")
    if form.uuid == "bytes":
        return bytes.fromhex(canonical.replace("-", ""))
    return canonical


def _target(table: MappedTable, dialect: str) -> sa.TableClause:
    return sa.table(table.name, *(sa.column(c) for c in table.target_columns),
                    schema=None if dialect == "sqlite" else table.schema)


def _rows(table: MappedTable, model: Table, rows: list[dict], dialect: str) -> list[dict]:
    batch = pa.RecordBatch.from_pylist(rows, schema=arrow_schema(model))
    converted = target_batch(table, batch, dialect)
    if dialect == "sqlite":
        return [dict(zip(table.target_columns, row)) for row in sqlite_rows(converted)]
    return converted.to_pylist()


def _referenced(connection: sa.Connection, service: MappedService, table: MappedTable, column: str,
                key: object) -> bool:
    """Whether a row of the service (mapped or not) still references the row whose ``column`` is ``key``."""
    foreign = [fk for t in service.tables.values() for fk in t.live.foreign_keys if fk.referred == (table.schema, table.name)]
    foreign += service.live.referencing.get((table.schema, table.name), [])
    for fk in {(fk.table, fk.columns, fk.referred_columns) for fk in foreign}:
        (schema, name), columns, referred = fk
        if referred != (column,):
            continue
        source = f'"{name}"' if service.dialect == "sqlite" else f'"{schema}"."{name}"'
        hit = connection.execute(sa.text(f'SELECT 1 FROM {source} WHERE "{columns[0]}" = :key LIMIT 1'), {"key": key})
        if hit.first() is not None:
            return True
    return False


def repropagate_mapped_replica(source: DatabaseSource, connection: sa.Connection, service: MappedService,
                               replica: Table) -> Repair:
    table = service.tables[replica.name]
    master = CATALOG[replica.replica_of.master]
    key = master.primary_key[0]
    present = {c.model.name for c in table.columns}
    copied = [key, *(c for c in replica.replica_of.columns if c in present)]
    updated_from = set(copied[1:])
    dialect = service.dialect
    target = _target(table, dialect)
    insert = (sqlite_insert if dialect == "sqlite" else postgres_insert)(target)
    refreshed = [table.column(c).target for c in copied[1:]]
    # the service's own columns derived from copied ones follow them (a status's boolean, a template)
    refreshed += [f.target for f in table.fills if isinstance(f.fill, (FromValues, Copy, Template))
                  and set(fill_sources(f.fill)) <= updated_from]
    key_target = table.column(key).target
    upsert = insert.on_conflict_do_update(index_elements=[key_target],
                                          set_={c: insert.excluded[c] for c in refreshed})
    owned = {c: OWNED_DEFAULTS[c] for c in replica.owned_columns}
    absent = {c.name: None for c in replica.columns if c.name not in copied and c.name not in owned}
    models = [master.column(c) for c in copied]
    upserted, batch = 0, []
    for row in source.rows(master.service, f"SELECT {', '.join(copied)} FROM {master.name} ORDER BY {key}"):
        batch.append({**absent, **owned, **{c.name: model_value(c, v) for c, v in zip(models, row)}})
        if len(batch) >= FETCH:
            connection.execute(upsert, _rows(table, replica, batch, dialect))
            upserted, batch = upserted + len(batch), []
    if batch:
        connection.execute(upsert, _rows(table, replica, batch, dialect))
        upserted += len(batch)
    key_form = table.column(key).form
    orphans = [k for k, m, _ in merge_sorted(
        source.rows(master.service, f"SELECT {key} FROM {master.name} ORDER BY {key}"),
        source.rows(replica.service, f"SELECT {key} FROM {replica.name} ORDER BY {key}")) if m is None]
    deleted = kept = 0
    statement = sa.delete(target).where(sa.column(key_target) == sa.bindparam("key"))
    for orphan in orphans:
        stored = stored_key(key_form, orphan, dialect)
        if _referenced(connection, service, table, key_target, stored):
            kept += 1
            continue
        connection.execute(statement, {"key": stored})
        deleted += 1
    return Repair(replica.qualified_name, upserted, deleted, kept)


def _resync_mapped_holds(source: DatabaseSource, plan: TierPlan, connection: sa.Connection,
                         service: MappedService) -> Repair:
    """Finance owns credit holds: Contact's status follows it, in the service's spelling."""
    if "accounts" not in service.tables:
        return Repair("contact.accounts", 0, 0, 0)
    table = service.tables["accounts"]
    status = table.column("status")
    changes = [(k, "ON_HOLD" if f is not None else "ACTIVE")
               for k, f, c in credit_holds_merged(RuleContext(source, plan)) if (f is None) != (c is None)]
    key = table.column("account_uuid")
    derived = [f for f in table.fills if isinstance(f.fill, FromValues) and f.fill.from_ == "status"]
    for canonical, wanted in changes:
        values = {status.target: status.form.value_map[wanted] if status.form.values else wanted}
        values.update({f.target: f.fill.values[wanted] for f in derived})
        assignments = ", ".join(f'"{c}" = :v{i}' for i, c in enumerate(values))
        name = f'"{table.name}"' if service.dialect == "sqlite" else f'"{table.schema}"."{table.name}"'
        connection.execute(sa.text(f'UPDATE {name} SET {assignments} WHERE "{key.target}" = :key'),
                           {"key": stored_key(key.form, canonical, service.dialect),
                            **{f"v{i}": v for i, v in enumerate(values.values())}})
    return Repair("contact.accounts", len(changes), 0, 0)


def repropagate_through(databases: ServiceDatabases, plan: TierPlan) -> list[Repair]:
    """Re-sync a tier's replicas from their masters; through the mapping where the port has one."""
    if not isinstance(databases, MappedDatabases):
        return repropagate_tier(databases, plan)
    tier = plan.tier
    with DatabaseSource(databases, tier) as source:
        with databases.connect(tier, "contact", writable=True) as connection:
            if databases.mapped("contact"):
                repairs = [_resync_mapped_holds(source, plan, connection, databases.resolved(tier, "contact"))]
            else:
                repairs = [resync_credit_holds(source, plan, _Writer(databases, tier, "contact", connection))]
            connection.commit()
        for service in sorted({t.service for t in CATALOG if t.replica_of}):
            replicas = [t for t in CATALOG.service_tables(service) if t.replica_of]
            with databases.connect(tier, service, writable=True) as connection:
                if databases.mapped(service):
                    mapped = databases.resolved(tier, service)
                    repairs += [repropagate_mapped_replica(source, connection, mapped, t) for t in replicas
                                if t.name in mapped.tables]
                else:
                    writer = _Writer(databases, tier, service, connection)
                    repairs += [repropagate_replica(source, writer, t) for t in replicas]
                connection.commit()
    return repairs
