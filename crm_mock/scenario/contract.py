"""The data contract as a document (docs/data-contract.md), rendered from the data model and the default
scenario so the tables, columns, vocabularies, volumes and quotas it lists can never disagree with the code.

    python -m crm_mock.scenario.contract > docs/data-contract.md
"""

from __future__ import annotations

import sys

from crm_mock.model import CATALOG, SERVICES, Kind, Table
from crm_mock.scenario.loading import load_scenario
from crm_mock.scenario.spec import TIERS, Scenario

_KIND_NAMES = {
    Kind.UUID: "uuid", Kind.INTEGER: "integer", Kind.MONEY: "money (numeric 12,2)", Kind.DATE: "date",
    Kind.TIMESTAMP: "moment (UTC)", Kind.CODE: "code",
}

INTRODUCTION = """\
# crm_mock data contract

What crm_mock promises about the data it writes. Tests and outside checks rely on every name, code and
count below; they change only with a release note. The tables, columns and vocabularies are rendered from
the data model (`crm_mock/model/`) and the counts from the default scenario
(`crm_mock/scenario/default.yaml`), so this page and the code cannot disagree
(`python -m crm_mock.scenario.contract > docs/data-contract.md` renders it; a test checks it is current).

## Tiers

Every asset is partitioned by tier. Volumes and quotas scale with the tier, rounded half up and never
below 1; where a quota is split between two kinds each keeps at least 1; warehouses never go below 5.
A scenario file can override every number.

| tier | scale vs staging |
|---|---|
{tiers}

## Identifiers and references

- Every key is a UUID in canonical lower-case text, derived from (seed, entity, row index): the same
  scenario and seed give the same UUIDs and the same rows on any machine, run, worker count or Python
  version. The same entity has the same UUID in every service that holds it.
- The primary key of a table is `<entity>_uuid` (`stock_levels`: the pair `product_uuid`, `warehouse_uuid`).
  A foreign key has the name of the key it points to, or `<role>_employee_uuid` for employees.
- A reference to an entity the service replicates (accounts, products, employees) resolves inside the
  service, through its replica, and is a real foreign key there. A reference to another service's
  record (order → quote, invoice → order, invoice line → product, ticket → contact, stock movement →
  order) holds the other record's UUID and resolves in the owning service's database.
- Replicas keep the master's key and copy the listed master columns under the master's names; every
  master row has its replica in every service that replicates it.

## Values

- Money: a decimal with 2 places (`numeric(12,2)` in PostgreSQL) in the document's currency: the
  account's (ISO 4217, from its country), whole units for currencies without a minor unit (JPY). Product
  costs and list prices are in the base currency; documents convert them.
- Dates: `date` in PostgreSQL, `YYYY-MM-DD` text in SQLite. Moments: `timestamptz` in UTC in
  PostgreSQL, `YYYY-MM-DD HH:MM:SS` UTC text in SQLite.
- Dates derive from the scenario's reference date: a fixed date, or `today`, resolved once when the
  scenario is loaded (the staging schedule passes its tick's date). The data is the world as of 00:00 UTC
  on that day; the same date always gives the same bytes.
- Document numbers (`Q-…`, `SO-…`, `INV-…` once issued, `TKT-…`) are unique per type and increase with
  time.
- Contact details: with `contact_details: reserved` (the default) every e-mail and website domain ends
  in the reserved `.example` top-level domain (RFC 2606) and phones come from the ranges regulators set
  aside for fiction where the country has one (elsewhere well-formed numbers for the country), so
  nothing generated reaches a real person; `realistic` is opt-in. In both modes phones are valid for
  the account's country and no two contacts share one.

## Services and tables

Staging volumes of the master tables: {volumes}.
"""

QUOTAS = """\
## Quotas (exact counts at staging)

{quotas}

## Invariants (every tier)

- Keys unique; every reference resolves (inside the service or in the owning service).
- An invoice's account is its order's account; a ticket's contact belongs to the ticket's account.
- Every order has exactly one invoice (`finance.invoices.order_uuid` is unique): SHIPPED and DELIVERED
  orders an issued invoice (UNPAID, PARTIALLY_PAID, PAID or OVERDUE) issued on or after shipment;
  PENDING, CONFIRMED and BACKORDERED orders a DRAFT invoice without issue or due date; CANCELLED
  orders a VOID invoice.
- Every master row has its replica in each service that replicates it, with equal copied columns
  (unless drift is planted on purpose: off by default, recorded in the edge-case manifest when on).
- Time moves forward along each workflow: account created ≤ opportunity ≤ quote ≤ order ≤ shipment ≤
  invoice issue ≤ payment; due date = issue date + terms; ticket created ≤ first response ≤ resolved.
- Money adds up: line total = quantity × unit price × (100 − discount %) / 100 rounded to the
  currency's minor unit; order total = Σ lines; invoice total = Σ lines + tax; amount paid = Σ payments
  (a WRITE_OFF settlement included); PAID ⇒ paid = total; UNPAID ⇒ paid = 0; ledger debit and credit
  are never null (0 on the unused side) and every journal balances, in one currency.
- Every quote, order, invoice and payment of an account is in the account's currency.
- Stock is never negative and equals the sum of its movements.

## What a load may touch

A load replaces the rows of the model's tables (and rebuilds their keys, unique constraints, foreign keys
and indexes). Everything else in a service database — other tables and their rows, views and
materialised views in any schema, functions, sequences, grants, default privileges, ownership — survives
a refresh; nothing is dropped with CASCADE. A refresh that could not keep something stops before changing
anything and names it. In-service foreign keys are validated.

## Where the embedded default writes

With no configuration a tier's service databases are SQLite files `data/<tier>/<service>.sqlite` under the
directory the command runs in (`CRM_MOCK_DATA_DIR` moves them). Table and column names are the same in
SQLite and PostgreSQL.
"""


def _column_line(table: Table, column) -> str:
    kind = _KIND_NAMES.get(column.kind) or f"text ≤ {column.max_length}"
    notes = []
    if column.name in table.primary_key:
        notes.append("key")
    if column.references:
        notes.append(f"→ {column.references}")
    if column.unique:
        notes.append("unique")
    if column.vocabulary:
        notes.append("one of " + ", ".join(f"`{w}`" for w in column.vocabulary))
    if column.nullable:
        notes.append("nullable")
    if column.description:
        notes.append(column.description)
    return f"| `{column.name}` | {kind} | {'; '.join(notes)} |"


def _table_section(table: Table) -> str:
    lines = [f"### `{table.service}.{table.name}`", "", table.description]
    if table.replica_of:
        lines.append(f"Copies `{', '.join(table.replica_of.columns)}` from `{table.replica_of.master}`.")
    lines += ["", "| column | type | notes |", "|---|---|---|"]
    lines += [_column_line(table, c) for c in table.columns]
    return "\n".join(lines) + "\n"


def render_contract(scenario: Scenario | None = None) -> str:
    scenario = scenario or load_scenario()
    tiers = "\n".join(f"| `{name}` | {scenario.tiers[name].scale:g}× |" for name in TIERS)
    volumes = ", ".join(f"{name.replace('_', ' ')} {count:,}" for name, count in scenario.volumes.model_dump().items())
    parts = [INTRODUCTION.format(tiers=tiers, volumes=volumes)]
    for service in SERVICES:
        parts.append(f"## Service `{service}`\n")
        parts += [_table_section(t) for t in CATALOG.service_tables(service)]
    lines = []
    for name, field in type(scenario.quotas).model_fields.items():
        value = getattr(scenario.quotas, name)
        if hasattr(value, "model_dump"):
            value = " + ".join(f"{v} {k.replace('_', ' ')}" for k, v in value.model_dump().items())
        lines.append(f"- `{name}` = {value}: {field.description}")
    lines.append("- invoices use at least the NET_30 and NET_60 payment terms")
    parts.append(QUOTAS.format(quotas="\n".join(lines)))
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(render_contract())
