"""The business events a tier's history consists of, in causal order.

An event type names the table its records come from, the column that says when it happened, which rows
it covers and which child tables travel nested in it. Everything else — the columns of a record, the
keys it touches, its children's join column — is derived from the data model, so a column added to a
table flows into the plan without a change here.

**Drive** events are user actions the replay sends; **expect** events are what the system's own
pipeline must produce from them (replicas, shipment stock movements, invoices, ledger postings, credit
holds). Expect events are never sent; they are verified afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from crm_mock.model import CATALOG, Table

DRIVE, EXPECT = "drive", "expect"

# events that move stock are ordered per product: a shipment never overtakes the receipt it needs
STOCK_KEY = "stock"


class Rows(Enum):
    ALL = "all"
    NOT_NULL = "not null"  # rows whose time column is set
    EQUALS = "equals"


@dataclass(frozen=True)
class EventType:
    event_id: str
    kind: str
    table: str  # a model table ("orders.sales_orders") or a derived asset ("finance/credit_holds")
    at: str | None  # the time column; None: known from the start of the history (replicated masters)
    rows: Rows = Rows.ALL
    where: tuple[str, str] | None = None  # (column, value) for Rows.EQUALS
    children: tuple[str, ...] = ()  # model tables nested in the record, joined on the parent's key
    stock_column: str | None = None  # product column (own or children's) whose stock the event moves
    key_column: str | None = None  # default: the table's primary key

    @property
    def model_table(self) -> Table | None:
        return None if "/" in self.table else CATALOG[self.table]

    @property
    def asset_key(self) -> tuple[str, ...]:
        if "/" in self.table:
            return tuple(self.table.split("/"))
        table = CATALOG[self.table]
        return (table.service, table.name)

    @property
    def key(self) -> str:
        if self.key_column:
            return self.key_column
        table = self.model_table
        assert table is not None and len(table.primary_key) == 1, self.table
        return table.primary_key[0]


def child_join_column(parent: Table, child: Table) -> str:
    """The child's foreign key to ``parent``, from the model."""
    joins = [c.name for c in child.foreign_keys if c.references == parent.qualified_name]
    if len(joins) != 1:
        raise ValueError(f"{child.qualified_name} does not reference {parent.qualified_name} exactly once")
    return joins[0]


_SHIPMENT, _RECEIPT, _ADJUSTMENT = "SHIPMENT", "RECEIPT", "ADJUSTMENT"


def _replica_events() -> tuple[EventType, ...]:
    """One expect event per replica table of the model: the master's record arrived in that service."""
    out = []
    for table in CATALOG:
        if table.replica_of:
            master = CATALOG[table.replica_of.master]
            entity = table.primary_key[0].removesuffix("_uuid")
            out.append(EventType(f"{entity}.replicated.{table.service}", EXPECT, table.qualified_name, None))
            assert master.primary_key == table.primary_key
    return tuple(out)


EVENT_TYPES: tuple[EventType, ...] = (
    EventType("lead.created", DRIVE, "sales.leads", "created_at"),
    EventType("opportunity.created", DRIVE, "sales.opportunities", "created_at"),
    EventType("quote.created", DRIVE, "sales.quotes", "created_at", children=("sales.quote_lines",)),
    EventType("order.created", DRIVE, "orders.sales_orders", "order_date", children=("orders.order_lines",)),
    EventType("stock.received", DRIVE, "inventory.stock_movements", "occurred_at", Rows.EQUALS,
              ("movement_type", _RECEIPT), stock_column="product_uuid"),
    EventType("stock.adjusted", DRIVE, "inventory.stock_movements", "occurred_at", Rows.EQUALS,
              ("movement_type", _ADJUSTMENT), stock_column="product_uuid"),
    EventType("order.shipped", DRIVE, "orders.sales_orders", "shipped_at", Rows.NOT_NULL,
              children=("orders.order_lines",), stock_column="product_uuid"),
    EventType("stock.shipped", EXPECT, "inventory.stock_movements", "occurred_at", Rows.EQUALS,
              ("movement_type", _SHIPMENT), stock_column="product_uuid"),
    EventType("invoice.issued", EXPECT, "finance.invoices", "issue_date", Rows.NOT_NULL,
              children=("finance.invoice_lines",)),
    EventType("payment.received", DRIVE, "finance.payments", "paid_at"),
    EventType("ledger_entry.posted", EXPECT, "finance.ledger_entries", "posted_on"),
    EventType("credit_hold.placed", EXPECT, "finance/credit_holds", "placed_on", key_column="account_uuid"),
    EventType("ticket.created", DRIVE, "support.tickets", "created_at"),
    EventType("ticket.responded", DRIVE, "support.tickets", "first_response_at", Rows.NOT_NULL),
    EventType("ticket.resolved", DRIVE, "support.tickets", "resolved_at", Rows.NOT_NULL),
    *_replica_events(),
)

BY_ID: dict[str, EventType] = {e.event_id: e for e in EVENT_TYPES}
RANK: dict[str, int] = {e.event_id: i for i, e in enumerate(EVENT_TYPES)}

# tables whose records are events: a reference to one of them orders the referring event after it
EVENT_TABLES = frozenset(e.table for e in EVENT_TYPES)


def _validate() -> None:
    for e in EVENT_TYPES:
        table = e.model_table
        if table is None:
            continue
        for column in (e.at, e.where and e.where[0], e.key):
            if column:
                table.column(column)
        for child in e.children:
            child_join_column(table, CATALOG[child])
        if e.stock_column and e.stock_column not in table.column_names:
            if not any(e.stock_column in CATALOG[c].column_names for c in e.children):
                raise ValueError(f"{e.event_id}: no {e.stock_column} in {e.table} or its children")
    if len(BY_ID) != len(EVENT_TYPES):
        raise ValueError("two event types share an id")


_validate()
