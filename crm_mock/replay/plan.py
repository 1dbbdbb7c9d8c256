"""The replay plan of a tier: one row per event, in causal order, built from the tier's generated tables.

Each row carries its ``seq``, ``at`` (the event's time, moved forward where the record it follows happened
later, e.g. an order dated the day of its quote's afternoon), ``event_id``, the record's ``key``, the
``keys`` it touches (its own record, the event records it references, the stock it moves), the record in
wire form with its children nested, and an idempotency key ``uuid5(namespace, plan hash/event/key)``.
The plan hash covers every row's content, so the same tables give the same plan, hash and keys.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from crm_mock.model import CATALOG
from crm_mock.replay.events import DRIVE, EVENT_TABLES, EVENT_TYPES, RANK, STOCK_KEY, EventType, Rows, child_join_column
from crm_mock.replay.serialize import as_moment, dumps, records
from crm_mock.sinks.parquet import TableStore

PLAN_KEY = ("replay", "plan")
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "replay.crm-mock.invalid")
HASH_META, TIER_META = b"crm_mock.plan_hash", b"crm_mock.tier"

SCHEMA = pa.schema([
    pa.field("seq", pa.int64(), nullable=False),
    pa.field("at", pa.timestamp("s", tz="UTC"), nullable=False),
    pa.field("event_id", pa.string(), nullable=False),
    pa.field("kind", pa.string(), nullable=False),
    pa.field("key", pa.string(), nullable=False),
    pa.field("keys", pa.list_(pa.string()), nullable=False),
    pa.field("idempotency_key", pa.string(), nullable=False),
    pa.field("record", pa.string(), nullable=False),
])


@dataclass
class _Draft:
    event: EventType
    key: str
    at: dt.datetime | None
    own: str
    refs: list[str]
    stock: list[str]
    body: str  # the record in wire form, written out at once: millions of events as dicts did not fit


@dataclass(frozen=True)
class Plan:
    tier: str
    plan_hash: str
    table: pa.Table

    @property
    def size(self) -> int:
        return self.table.num_rows

    def counts(self) -> dict[str, int]:
        """Events per type, in the catalogue's (causal) order."""
        counted = Counter(self.table.column("event_id").to_pylist())
        return {e.event_id: counted[e.event_id] for e in EVENT_TYPES if counted[e.event_id]}

    def kinds(self) -> dict[str, int]:
        return dict(Counter(self.table.column("kind").to_pylist()))

    def to_arrow(self) -> pa.Table:
        meta = {HASH_META: self.plan_hash.encode(), TIER_META: self.tier.encode()}
        return self.table.replace_schema_metadata(meta)

    @classmethod
    def from_arrow(cls, table: pa.Table) -> "Plan":
        meta = table.schema.metadata or {}
        if HASH_META not in meta:
            raise ValueError("not a replay plan (no plan hash in its metadata)")
        return cls(meta[TIER_META].decode(), meta[HASH_META].decode(), table.cast(SCHEMA))


def _source(store: TableStore, tier: str, event: EventType) -> pa.Table:
    if event.model_table is not None:
        return store.read_model_table(tier, event.table)
    return store.read(tier, event.asset_key)


def _select(event: EventType, data: pa.Table) -> pa.Table:
    if event.rows is Rows.NOT_NULL:
        return data.filter(pc.is_valid(data.column(event.at)))
    if event.rows is Rows.EQUALS:
        column, value = event.where
        return data.filter(pc.equal(data.column(column), value))
    return data


def _children(store: TableStore, tier: str, event: EventType, keys: set[str]) -> dict[str, dict[str, list]]:
    """child table name -> parent key -> the child records in wire form, in the child table's order."""
    nested: dict[str, dict[str, list]] = {}
    for child_name in event.children:
        child = CATALOG[child_name]
        join = child_join_column(event.model_table, child)
        grouped: dict[str, list] = defaultdict(list)
        for row in records(child_name, store.read_model_table(tier, child_name)):
            if row[join] in keys:
                grouped[row[join]].append(row)
        nested[child.name] = grouped
    return nested


def _reference_columns(event: EventType) -> list[tuple[str, str]]:
    """(column, referenced table) for each reference to a table whose records are events."""
    table = event.model_table
    if table is None:
        return []
    return [(c.name, c.references) for c in table.foreign_keys if c.references in EVENT_TABLES
            and c.references != table.qualified_name]


def _drafts(store: TableStore, tier: str, event: EventType) -> list[_Draft]:
    data = _select(event, _source(store, tier, event))
    rows = records(event.table, data)
    at_values = data.column(event.at).to_pylist() if event.at else [None] * data.num_rows
    keys = [str(r[event.key]) for r in rows]
    nested = _children(store, tier, event, set(keys))
    refs = _reference_columns(event)
    own_table = event.table
    drafts = []
    for row, key, at in zip(rows, keys, at_values):
        for child_name, by_parent in nested.items():
            row[child_name] = by_parent.get(key, [])
        stock: set[str] = set()
        if event.stock_column:
            products = [row.get(event.stock_column)] + [
                line.get(event.stock_column) for name in nested for line in row[name]]
            stock = {f"{STOCK_KEY}:{p}" for p in products if p}
        drafts.append(_Draft(
            event, key, as_moment(at) if at is not None else None, f"{own_table}:{key}",
            [f"{target}:{row[column]}" for column, target in refs if row[column] is not None],
            sorted(stock), dumps(row),
        ))
    return drafts


def build_plan(store: TableStore, tier: str) -> Plan:
    """The plan of ``tier`` from its materialised tables in ``store`` (pure: same tables, same plan)."""
    drafts = [d for event in EVENT_TYPES for d in _drafts(store, tier, event)]
    timed = [d.at for d in drafts if d.at is not None]
    start = min(timed) if timed else dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    # an event happens no earlier than the events of the records it follows: dates are midnights, so an
    # order dated the day of its quote would otherwise sort before the quote's afternoon
    latest: dict[str, dt.datetime] = {}
    for d in sorted(drafts, key=lambda d: (RANK[d.event.event_id], d.at or start)):
        at = max([d.at or start, *(latest[r] for r in d.refs if r in latest)])
        d.at = at
        if latest.get(d.own, at) <= at:
            latest[d.own] = at
    drafts.sort(key=lambda d: (d.at, RANK[d.event.event_id], d.key))

    digest = hashlib.sha256(f"crm_mock replay plan v1\n{tier}\n".encode())
    for seq, d in enumerate(drafts):
        keys = [d.own, *d.refs, *d.stock]
        digest.update(f"{seq}\t{d.at.isoformat()}\t{d.event.event_id}\t{d.key}\t{dumps(keys)}\t{d.body}\n".encode())
    plan_hash = digest.hexdigest()
    table = pa.table({
        "seq": pa.array(range(len(drafts)), pa.int64()),
        "at": pa.array([d.at for d in drafts], pa.timestamp("s", tz="UTC")),
        "event_id": [d.event.event_id for d in drafts],
        "kind": [d.event.kind for d in drafts],
        "key": [d.key for d in drafts],
        "keys": pa.array([[d.own, *d.refs, *d.stock] for d in drafts], pa.list_(pa.string())),
        "idempotency_key": [idempotency_key(plan_hash, d.event.event_id, d.key) for d in drafts],
        "record": [d.body for d in drafts],
    }, schema=SCHEMA)
    return Plan(tier, plan_hash, table)


def idempotency_key(plan_hash: str, event_id: str, key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{plan_hash}/{event_id}/{key}"))


def write_plan(store: TableStore, plan: Plan) -> None:
    store.write(plan.tier, PLAN_KEY, plan.to_arrow())


def read_plan(store: TableStore, tier: str) -> Plan:
    return Plan.from_arrow(store.read(tier, PLAN_KEY))


def source_assets() -> list[tuple[str, ...]]:
    """The asset keys a plan is built from (its lineage)."""
    keys = {e.asset_key for e in EVENT_TYPES}
    keys |= {(CATALOG[c].service, CATALOG[c].name) for e in EVENT_TYPES for c in e.children}
    return sorted(keys)


def drive_counts(plan: Plan) -> dict[str, int]:
    return {e: n for e, n in plan.counts().items() if next(t for t in EVENT_TYPES if t.event_id == e).kind == DRIVE}
