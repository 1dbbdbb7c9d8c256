"""Re-sync a tier's replicas from their masters in the live databases, regenerating nothing.

Missing replica rows are inserted and drifted ones updated from the master (an upsert of the copied
columns); replica rows without a master are deleted where no foreign key still references them (the
database says so: IntegrityError, inside a savepoint). Everything goes through the database port.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from crm_mock.consistency.engine import RuleContext, merge_sorted
from crm_mock.consistency.rules.synced import credit_holds_merged
from crm_mock.consistency.sources import FETCH, DatabaseSource
from crm_mock.model import CATALOG, Kind, Table
from crm_mock.model.ddl import UuidStorage, service_metadata
from crm_mock.scenario import TierPlan
from crm_mock.sinks.databases import ServiceDatabases
from crm_mock.sinks.values import canonical_uuid, stored_uuid

# what a replica's own columns start as when a missing row is re-created (Finance then owns them)
OWNED_DEFAULTS = {"credit_status": "GOOD", "credit_limit": 0, "balance": 0}


@dataclass(frozen=True)
class Repair:
    table: str
    upserted: int
    deleted: int
    kept_orphans: int  # replica rows without a master that other rows still reference


class _Writer:
    """A writable connection to one service's database, with the service's tables as SQLAlchemy Core."""

    def __init__(self, databases: ServiceDatabases, tier: str, service: str, connection: sa.Connection) -> None:
        self.connection = connection
        self.storage = databases.uuid_storage(tier, service)
        self.metadata = service_metadata(service, uuid_storage=self.storage or UuidStorage.TEXT)
        self.insert = sqlite_insert if databases.dialect == "sqlite" else postgres_insert

    def uuid(self, canonical: str):
        return canonical if self.storage is None else stored_uuid(canonical, self.storage)


def repropagate_replica(source: DatabaseSource, writer: _Writer, replica: Table) -> Repair:
    master = CATALOG[replica.replica_of.master]
    key = master.primary_key[0]
    copied = [key, *replica.replica_of.columns]
    owned = list(replica.owned_columns)
    table = writer.metadata.tables[replica.name]
    uuid_columns = {c for c in copied if master.column(c).kind is Kind.UUID}
    insert = writer.insert(table)
    upsert = insert.on_conflict_do_update(index_elements=[key], set_={c: insert.excluded[c] for c in copied[1:]})

    def replica_row(row: tuple) -> dict:
        # the master's and the replica's databases may spell UUIDs differently (SQLite storage settings)
        values = {c: writer.uuid(canonical_uuid(v)) if c in uuid_columns and v is not None else v
                  for c, v in zip(copied, row)}
        return {**values, **{c: OWNED_DEFAULTS[c] for c in owned}}

    upserted, batch = 0, []
    for row in source.rows(master.service, f"SELECT {', '.join(copied)} FROM {master.name} ORDER BY {key}"):
        batch.append(replica_row(row))
        if len(batch) >= FETCH:
            writer.connection.execute(upsert, batch)
            upserted, batch = upserted + len(batch), []
    if batch:
        writer.connection.execute(upsert, batch)
        upserted += len(batch)

    orphans = [k for k, m, _ in merge_sorted(
        source.rows(master.service, f"SELECT {key} FROM {master.name} ORDER BY {key}"),
        source.rows(replica.service, f"SELECT {key} FROM {replica.name} ORDER BY {key}")) if m is None]
    deleted = kept = 0
    for orphan in orphans:
        try:
            with writer.connection.begin_nested():  # a refused delete does not abort the repair
                writer.connection.execute(sa.delete(table).where(table.c[key] == writer.uuid(orphan)))
            deleted += 1
        except sa.exc.IntegrityError:  # a foreign key still points at it: leave it, report it
            kept += 1
    return Repair(replica.qualified_name, upserted, deleted, kept)


def resync_credit_holds(source: DatabaseSource, plan: TierPlan, writer: _Writer) -> Repair:
    """Finance owns credit holds: Contact's status follows it (a hold Finance released becomes ACTIVE)."""
    accounts = writer.metadata.tables["accounts"]
    changes = [{"wanted": "ON_HOLD" if f is not None else "ACTIVE", "key": writer.uuid(k)}
               for k, f, c in credit_holds_merged(RuleContext(source, plan)) if (f is None) != (c is None)]
    if changes:
        statement = (sa.update(accounts).where(accounts.c.account_uuid == sa.bindparam("key"))
                     .values(status=sa.bindparam("wanted")))
        writer.connection.execute(statement, changes)
    return Repair("contact.accounts", len(changes), 0, 0)


def repropagate_tier(databases: ServiceDatabases, plan: TierPlan) -> list[Repair]:
    """Contact's synced status first (replicas copy it), then every replica from its master; each service's
    changes commit together."""
    tier = plan.tier
    with DatabaseSource(databases, tier) as source:
        with databases.connect(tier, "contact", writable=True) as connection:
            repairs = [resync_credit_holds(source, plan, _Writer(databases, tier, "contact", connection))]
            connection.commit()
        for service in sorted({t.service for t in CATALOG if t.replica_of}):
            with databases.connect(tier, service, writable=True) as connection:
                writer = _Writer(databases, tier, service, connection)
                repairs += [repropagate_replica(source, writer, t) for t in CATALOG.service_tables(service)
                            if t.replica_of]
                connection.commit()
    return repairs
