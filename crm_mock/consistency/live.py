"""Consistency rules run as SQL against the live service databases (SQLite files or PostgreSQL).

Within a service a rule is one query. Across services (a replica and its master, a cross-service
reference, a synced status) both sides are read in key order and merged as they stream, so memory stays
flat whatever the table size, and it works whether the services share a server or not.

Keys are compared and reported in canonical UUID text, whatever the database returns (PostgreSQL's uuid,
SQLite's 36- or 32-character text or 16-byte blobs, see ``ids.sqlite_uuid_storage``): the three SQLite
spellings sort in the same order as the canonical text, so key-ordered streams still merge.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from crm_mock.consistency.results import SAMPLE_SIZE, RuleResult
from crm_mock.model import CATALOG, SERVICES, Table
from crm_mock.model.ddl import UuidStorage
from crm_mock.sinks.sqlite import uuid_storage_of
from crm_mock.sinks.values import canonical_text, canonical_uuid, stored_uuid

FETCH = 10_000


class Unreachable(RuntimeError):
    """A service database that is missing or cannot be reached: the rules cannot say anything."""


@dataclass
class LiveTier:
    """Connections to one tier's service databases, opened on first use."""

    tier: str
    data_dir: Path
    database_url: str = ""
    writable: bool = False  # repairs write; rules only read
    _stack: ExitStack = field(default_factory=ExitStack)
    _open: dict = field(default_factory=dict)
    _uuid_storage: dict[str, UuidStorage] = field(default_factory=dict)
    _cursors: int = 0

    def __enter__(self) -> "LiveTier":
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def connection(self, service: str):
        if service not in self._open:
            self._open[service] = self._connect(service)
        return self._open[service]

    def _connect(self, service: str):
        if self.database_url:
            import psycopg

            from crm_mock.sinks.postgres import DatabaseTargetError, connect

            try:
                conn, schema = connect(self.database_url, self.tier, service)
            except (psycopg.Error, DatabaseTargetError) as exc:
                raise Unreachable(f"{service} database of tier {self.tier!r} is unreachable: "
                                  f"{str(exc).strip().splitlines()[0] if str(exc).strip() else exc}") from None
            self._stack.callback(conn.close)
            conn.read_only = not self.writable
            conn.execute(f'SET search_path TO "{schema}"')
            return conn
        path = Path(self.data_dir) / self.tier / f"{service}.sqlite"
        if not path.is_file():
            raise Unreachable(f"{service} database of tier {self.tier!r} does not exist ({path})")
        conn = sqlite3.connect(f"file:{path}?mode={'rw' if self.writable else 'ro'}", uri=True)
        self._stack.callback(conn.close)
        self._uuid_storage[service] = uuid_storage_of(conn, service)
        return conn

    @property
    def placeholder(self) -> str:
        return "%s" if self.database_url else "?"

    def stored_uuid(self, service: str, canonical: str) -> str | bytes:
        """A canonical UUID as a parameter for the service's database (PostgreSQL casts text to uuid)."""
        self.connection(service)
        storage = self._uuid_storage.get(service)
        return canonical if storage is None else stored_uuid(canonical, storage)

    def rows(self, service: str, query: str, params: tuple = ()) -> Iterator[tuple]:
        connection = self.connection(service)
        if self.database_url:  # a server-side cursor: rows arrive in batches, never all at once
            self._cursors += 1
            cursor = connection.cursor(name=f"crm_mock_rule_{self._cursors}")
        else:
            cursor = connection.cursor()
        cursor.execute(query, params)
        while batch := cursor.fetchmany(FETCH):
            yield from batch

    def scalar(self, service: str, query: str):
        return next(self.rows(service, query))[0]


def merge_sorted(left: Iterator[tuple], right: Iterator[tuple]) -> Iterator[tuple[str, tuple | None, tuple | None]]:
    """Full outer merge of two streams of rows sorted by their first (UUID key) column; yields the canonical
    key and the rows as the databases returned them."""
    a, b = next(left, None), next(right, None)
    while a is not None or b is not None:
        ka = canonical_uuid(a[0]) if a is not None else None
        kb = canonical_uuid(b[0]) if b is not None else None
        if b is None or (a is not None and ka < kb):
            yield ka, a, None
            a = next(left, None)
        elif a is None or kb < ka:
            yield kb, None, b
            b = next(right, None)
        else:
            yield ka, a, b
            a, b = next(left, None), next(right, None)


class _Tally:
    def __init__(self) -> None:
        self.count = 0
        self.sample: list[str] = []

    def add(self, key: str) -> None:
        self.count += 1
        if len(self.sample) < SAMPLE_SIZE:
            self.sample.append(key)


def _result(rule: str, table: Table, tallies: dict[str, _Tally], **details) -> RuleResult:
    offending = sum(t.count for t in tallies.values())
    sample = tuple(s for t in tallies.values() for s in t.sample)[:SAMPLE_SIZE]
    return RuleResult(rule, table.qualified_name, offending == 0, offending, sample,
                      {**{k: t.count for k, t in tallies.items()}, **details})


def replica_in_sync(live: LiveTier, replica: Table) -> RuleResult:
    """Every master row has its replica, no replica row lacks a master, copied fields are equal."""
    master = CATALOG[replica.replica_of.master]
    key = master.primary_key[0]
    columns = [key, *replica.replica_of.columns]
    select = f"SELECT {', '.join(columns)} FROM {{}} ORDER BY {key}"
    models = [master.column(c) for c in columns]
    tallies = {"missing": _Tally(), "orphaned": _Tally(), "drifted": _Tally()}
    drifted_columns: dict[str, int] = {}
    for k, m, r in merge_sorted(live.rows(master.service, select.format(master.name)),
                          live.rows(replica.service, select.format(replica.name))):
        if r is None:
            tallies["missing"].add(k)
        elif m is None:
            tallies["orphaned"].add(k)
        else:
            differ = [c.name for c, x, y in zip(models[1:], m[1:], r[1:]) if canonical_text(c, x) != canonical_text(c, y)]
            if differ:
                tallies["drifted"].add(k)
                for name in differ:
                    drifted_columns[name] = drifted_columns.get(name, 0) + 1
    return _result("replica_in_sync", replica, tallies, master=master.qualified_name, columns=drifted_columns)


def references_resolve(live: LiveTier, table: Table) -> RuleResult:
    """Every reference resolves: inside the service through its replica, or in the owning service."""
    tallies: dict[str, _Tally] = {}
    key = table.primary_key[0]
    for ref in CATALOG.references(table):
        target = ref.resolving_table
        fk, pk = ref.column.name, ref.target_key
        tally = tallies.setdefault(fk, _Tally())
        if target.service == table.service:
            query = (f"SELECT c.{key} FROM {table.name} c LEFT JOIN {target.name} p ON c.{fk} = p.{pk} "
                     f"WHERE c.{fk} IS NOT NULL AND p.{pk} IS NULL ORDER BY c.{key}")
            for (row_key,) in live.rows(table.service, query):
                tally.add(canonical_uuid(row_key))
            continue
        children = live.rows(table.service, f"SELECT DISTINCT {fk} FROM {table.name} WHERE {fk} IS NOT NULL ORDER BY {fk}")
        parents = live.rows(target.service, f"SELECT {pk} FROM {target.name} ORDER BY {pk}")
        for _, child, parent in merge_sorted(children, parents):
            if child is not None and parent is None:
                query = f"SELECT {key} FROM {table.name} WHERE {fk} = {live.placeholder}"
                for (row_key,) in live.rows(table.service, query, (child[0],)):
                    tally.add(canonical_uuid(row_key))
    return _result("references_resolve", table, tallies)


def credit_holds_merged(live: LiveTier) -> Iterator[tuple[str, tuple | None, tuple | None]]:
    """Finance's and Contact's ON_HOLD accounts side by side, in key order."""
    finance = live.rows("finance", "SELECT account_uuid FROM customer_accounts WHERE credit_status = 'ON_HOLD' "
                                   "ORDER BY account_uuid")
    contact = live.rows("contact", "SELECT account_uuid FROM accounts WHERE status = 'ON_HOLD' ORDER BY account_uuid")
    return merge_sorted(finance, contact)


def credit_holds_synced(live: LiveTier) -> RuleResult:
    """Finance's ON_HOLD accounts are exactly Contact's ON_HOLD accounts."""
    table = CATALOG["finance.customer_accounts"]
    tallies = {"held_in_finance_only": _Tally(), "held_in_contact_only": _Tally()}
    for k, f, c in credit_holds_merged(live):
        if c is None:
            tallies["held_in_finance_only"].add(k)
        elif f is None:
            tallies["held_in_contact_only"].add(k)
    return _result("credit_hold_synced", table, tallies, master="finance.credit_holds")


def _numbers_increase(table: str, key: str, number: str, moment: str) -> str:
    """Documents whose number repeats, or that are dated before a document with a lower number."""
    return (f"SELECT {key} FROM (SELECT {key}, {moment} AS dated, MAX({moment}) OVER (ORDER BY {number} ROWS BETWEEN "
            f"UNBOUNDED PRECEDING AND 1 PRECEDING) AS latest, COUNT(*) OVER (PARTITION BY {number}) AS uses "
            f"FROM {table} WHERE {number} IS NOT NULL) numbered WHERE dated < latest OR uses > 1")


# invariants inside one service: (rule, table, query returning the offending keys)
INVARIANTS = (
    ("money_adds_up", "orders.sales_orders",
     "SELECT o.order_uuid FROM sales_orders o LEFT JOIN (SELECT order_uuid, SUM(line_total) AS s FROM order_lines "
     "GROUP BY order_uuid) l ON l.order_uuid = o.order_uuid WHERE ABS(o.total_amount - COALESCE(l.s, 0)) > 0.005"),
    ("money_adds_up", "finance.invoices",
     "SELECT i.invoice_uuid FROM invoices i LEFT JOIN (SELECT invoice_uuid, SUM(line_total) AS s FROM invoice_lines "
     "GROUP BY invoice_uuid) l ON l.invoice_uuid = i.invoice_uuid LEFT JOIN (SELECT invoice_uuid, SUM(amount) AS p "
     "FROM payments GROUP BY invoice_uuid) p ON p.invoice_uuid = i.invoice_uuid "
     "WHERE ABS(i.total_amount - i.tax_amount - COALESCE(l.s, 0)) > 0.005 "
     "OR ABS(i.amount_paid - COALESCE(p.p, 0)) > 0.005 "
     "OR (i.status = 'PAID' AND ABS(i.amount_paid - i.total_amount) > 0.005) "
     "OR (i.status = 'UNPAID' AND i.amount_paid <> 0)"),
    ("ledger_balanced", "finance.ledger_entries",
     "SELECT journal_uuid FROM ledger_entries GROUP BY journal_uuid "
     "HAVING ABS(SUM(debit) - SUM(credit)) > 0.005 OR SUM(CASE WHEN debit IS NULL OR credit IS NULL THEN 1 ELSE 0 END) > 0 "
     "OR COUNT(DISTINCT currency_code) > 1"),
    ("stock_never_negative", "inventory.stock_levels",
     "SELECT s.product_uuid FROM stock_levels s LEFT JOIN (SELECT product_uuid, warehouse_uuid, SUM(quantity) AS q "
     "FROM stock_movements GROUP BY product_uuid, warehouse_uuid) m ON m.product_uuid = s.product_uuid "
     "AND m.warehouse_uuid = s.warehouse_uuid WHERE s.quantity_on_hand < 0 "
     "OR s.quantity_reserved > s.quantity_on_hand OR COALESCE(m.q, 0) <> s.quantity_on_hand"),
    ("time_moves_forward", "orders.sales_orders",
     "SELECT order_uuid FROM sales_orders WHERE shipped_at IS NOT NULL AND shipped_at < order_date"),
    ("time_moves_forward", "finance.payments",
     "SELECT p.payment_uuid FROM payments p JOIN invoices i ON i.invoice_uuid = p.invoice_uuid "
     "WHERE i.issue_date IS NULL OR p.paid_at < i.issue_date"),
    ("time_moves_forward", "support.tickets",
     "SELECT ticket_uuid FROM tickets WHERE first_response_at < created_at OR resolved_at < first_response_at"),
    # every quote, order, invoice and payment is in its account's currency
    ("account_currency", "sales.quotes", "SELECT q.quote_uuid FROM quotes q JOIN account_replica a "
     "ON a.account_uuid = q.account_uuid WHERE q.currency_code <> a.currency_code"),
    ("account_currency", "orders.sales_orders", "SELECT o.order_uuid FROM sales_orders o JOIN account_replica a "
     "ON a.account_uuid = o.account_uuid WHERE o.currency_code <> a.currency_code"),
    ("account_currency", "finance.invoices", "SELECT i.invoice_uuid FROM invoices i JOIN customer_accounts c "
     "ON c.account_uuid = i.account_uuid WHERE i.currency_code <> c.currency_code"),
    ("account_currency", "finance.payments", "SELECT p.payment_uuid FROM payments p JOIN invoices i "
     "ON i.invoice_uuid = p.invoice_uuid WHERE p.currency_code <> i.currency_code"),
    *(("document_numbers", table, _numbers_increase(name, key, number, moment)) for table, name, key, number, moment in (
        ("sales.quotes", "quotes", "quote_uuid", "quote_number", "created_at"),
        ("orders.sales_orders", "sales_orders", "order_uuid", "order_number", "order_date"),
        ("finance.invoices", "invoices", "invoice_uuid", "invoice_number", "issue_date"),
        ("support.tickets", "tickets", "ticket_uuid", "ticket_number", "created_at"),
    )),
)


def invariant(live: LiveTier, rule: str, table: str, query: str) -> RuleResult:
    model = CATALOG[table]
    tally = _Tally()
    for (key,) in live.rows(model.service, query):
        tally.add(canonical_uuid(key))
    return _result(rule, model, {rule: tally})


@dataclass(frozen=True)
class LiveRule:
    """One rule on one table, reported as an asset check on the database of the table's service."""

    name: str  # the check name: "<rule>__<table>"
    table: Table
    reads: tuple[str, ...]  # the services whose databases it reads
    master: str | None  # the master asset a replica derives from, for the lineage
    run: Callable[[LiveTier], RuleResult]

    @property
    def service(self) -> str:
        return self.table.service


def live_rules() -> list[LiveRule]:
    rules = []
    for t in CATALOG:
        if t.replica_of:
            master = CATALOG[t.replica_of.master]
            rules.append(LiveRule(f"replica_in_sync__{t.name}", t, (master.service, t.service), master.qualified_name,
                                  partial(replica_in_sync, replica=t)))
    for t in CATALOG:
        if t.foreign_keys:
            reads = tuple(sorted({r.resolving_table.service for r in CATALOG.references(t)} | {t.service}))
            rules.append(LiveRule(f"references_resolve__{t.name}", t, reads, None, partial(references_resolve, table=t)))
    rules.append(LiveRule("credit_hold_synced__customer_accounts", CATALOG["finance.customer_accounts"],
                          ("contact", "finance"), "contact.accounts", credit_holds_synced))
    for rule, table, query in INVARIANTS:
        model = CATALOG[table]
        rules.append(LiveRule(f"{rule}__{model.name}", model, (model.service,), None,
                              partial(invariant, rule=rule, table=table, query=query)))
    return rules


def check_tier(live: LiveTier, services: tuple[str, ...] = SERVICES) -> list[RuleResult]:
    """Every live rule of a tier whose databases are all reachable (raises Unreachable otherwise)."""
    for service in services:
        live.connection(service)
    return [rule.run(live) for rule in live_rules()]
