"""Re-sync a tier's replicas from their masters in the live databases, regenerating nothing.

Missing replica rows are inserted and drifted ones updated from the master (an upsert of the copied
columns); replica rows without a master are deleted where nothing still references them.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_mock.consistency.live import FETCH, LiveTier, credit_holds_merged, merge_sorted
from crm_mock.model import CATALOG, Kind, Table
from crm_mock.sinks.values import canonical_uuid

# what a replica's own columns start as when a missing row is re-created (Finance then owns them)
OWNED_DEFAULTS = {"credit_status": "GOOD", "credit_limit": 0, "balance": 0}


@dataclass(frozen=True)
class Repair:
    table: str
    upserted: int
    deleted: int
    kept_orphans: int  # replica rows without a master that other rows still reference


def repropagate_replica(live: LiveTier, replica: Table) -> Repair:
    master = CATALOG[replica.replica_of.master]
    key = master.primary_key[0]
    copied = [key, *replica.replica_of.columns]
    owned = list(replica.owned_columns)
    mark = live.placeholder
    columns = copied + owned
    # the master's and the replica's databases may spell UUIDs differently (SQLite storage settings)
    uuid_positions = [i for i, c in enumerate(copied) if master.column(c).kind is Kind.UUID]

    def as_replica_row(row: tuple) -> tuple:
        values = list(row)
        for i in uuid_positions:
            if values[i] is not None:
                values[i] = live.stored_uuid(replica.service, canonical_uuid(values[i]))
        return tuple(values) + tuple(OWNED_DEFAULTS[c] for c in owned)

    update = ", ".join(f"{c} = excluded.{c}" for c in copied[1:])
    statement = (f"INSERT INTO {replica.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))}) "
                 f"ON CONFLICT ({key}) DO UPDATE SET {update}")
    connection = live.connection(replica.service)
    upserted = 0
    batch: list[tuple] = []
    for row in live.rows(master.service, f"SELECT {', '.join(copied)} FROM {master.name} ORDER BY {key}"):
        batch.append(as_replica_row(row))
        if len(batch) >= FETCH:
            connection.cursor().executemany(statement, batch)
            upserted += len(batch)
            batch = []
    if batch:
        connection.cursor().executemany(statement, batch)
        upserted += len(batch)

    orphans = [r[0] for _, m, r in merge_sorted(
        live.rows(master.service, f"SELECT {key} FROM {master.name} ORDER BY {key}"),
        live.rows(replica.service, f"SELECT {key} FROM {replica.name} ORDER BY {key}")) if m is None]
    deleted = kept = 0
    for orphan in orphans:
        try:
            if live.database_url:  # a savepoint, so a refused delete does not abort the repair
                with connection.transaction():
                    connection.execute(f"DELETE FROM {replica.name} WHERE {key} = {mark}", (orphan,))
            else:
                connection.execute(f"DELETE FROM {replica.name} WHERE {key} = {mark}", (orphan,))
            deleted += 1
        except Exception as exc:  # noqa: BLE001 - a foreign key still points at it: leave it, report it
            if "foreign key" not in str(exc).lower():
                raise
            kept += 1
    connection.commit()
    return Repair(replica.qualified_name, upserted, deleted, kept)


def resync_credit_holds(live: LiveTier) -> Repair:
    """Finance owns credit holds: Contact's status follows it (a hold Finance released becomes ACTIVE)."""
    changes = [("ON_HOLD" if f is not None else "ACTIVE", live.stored_uuid("contact", k))
               for k, f, c in credit_holds_merged(live) if (f is None) != (c is None)]
    mark = live.placeholder
    connection = live.connection("contact")
    connection.cursor().executemany(f"UPDATE accounts SET status = {mark} WHERE account_uuid = {mark}", changes)
    connection.commit()
    return Repair("contact.accounts", len(changes), 0, 0)


def repropagate_tier(live: LiveTier) -> list[Repair]:
    """Contact's synced status first (replicas copy it), then every replica from its master."""
    return [resync_credit_holds(live), *(repropagate_replica(live, t) for t in CATALOG if t.replica_of)]
