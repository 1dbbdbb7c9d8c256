"""The service data model: every table of every service, declared once.

Masters are declared with all their columns; replicas name their master and the master columns they
copy, and their columns are derived from the master's declarations.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property

from crm_mock.model import vocabularies as v
from crm_mock.model.schema import Column, Kind, Reference, ReplicaOf, Table

SERVICES = ("hr", "contact", "inventory", "sales", "orders", "finance", "support")


def uuid(name: str, references: str | None = None, nullable: bool = False, description: str = "",
         unique: bool = False) -> Column:
    return Column(name, Kind.UUID, nullable=nullable, references=references, description=description, unique=unique)


def text(name: str, max_length: int, nullable: bool = False, description: str = "", unique: bool = False) -> Column:
    return Column(name, Kind.TEXT, max_length=max_length, nullable=nullable, description=description, unique=unique)


def document_number(name: str, nullable: bool = False, description: str = "") -> Column:
    return text(name, 20, nullable=nullable, unique=True, description=description or (
        "human-readable, unique, increasing with time (PREFIX-YYYY-NNNNNNN, numbered per year)"))


def currency(name: str = "currency_code") -> Column:
    return code(name, v.CURRENCY, description="ISO 4217; the account's currency, from its country")


def discount() -> Column:
    return integer("discount_percent", description="percent off the unit price: line_total = quantity × "
                   "unit_price × (100 − discount_percent) / 100, rounded to the currency's minor unit")


def code(name: str, vocabulary: tuple[str, ...], nullable: bool = False, description: str = "",
         synced_from: tuple[str, str] | None = None) -> Column:
    length = max(20, *(len(word) for word in vocabulary))  # room for the vocabulary to grow
    return Column(name, Kind.CODE, max_length=length, vocabulary=vocabulary, nullable=nullable,
                  description=description, synced_from=synced_from)


def integer(name: str, nullable: bool = False, description: str = "") -> Column:
    return Column(name, Kind.INTEGER, nullable=nullable, description=description)


def money(name: str, nullable: bool = False, description: str = "") -> Column:
    return Column(name, Kind.MONEY, nullable=nullable, description=description)


def date(name: str, nullable: bool = False, description: str = "") -> Column:
    return Column(name, Kind.DATE, nullable=nullable, description=description)


def timestamp(name: str, nullable: bool = False, description: str = "") -> Column:
    return Column(name, Kind.TIMESTAMP, nullable=nullable, description=description)


EMPLOYEE = "hr.employees"
ACCOUNT = "contact.accounts"
# Finance owns credit holds; Contact's ON_HOLD status and Finance's credit_status are both its copies
CREDIT_HOLDS = ("finance/credit_holds", "credit_status")
CONTACT = "contact.contacts"
PRODUCT = "inventory.products"
WAREHOUSE = "inventory.warehouses"
OPPORTUNITY = "sales.opportunities"
LEAD = "sales.leads"
QUOTE = "sales.quotes"
ORDER = "orders.sales_orders"
INVOICE = "finance.invoices"
PAYMENT = "finance.payments"

_MASTERS: tuple[Table, ...] = (
    Table("hr", "employees", (
        uuid("employee_uuid"),
        uuid("manager_uuid", EMPLOYEE, nullable=True, description="null only for the head of the company"),
        text("first_name", 50), text("last_name", 50), text("email", 120),
        code("department", v.DEPARTMENT), text("job_title", 80),
        date("hire_date"), code("status", v.EMPLOYEE_STATUS),
    ), ("employee_uuid",), "Employees, master in HR; manager_uuid forms one tree."),
    Table("contact", "accounts", (
        uuid("account_uuid"), text("name", 120), code("segment", v.ACCOUNT_SEGMENT),
        code("industry", v.INDUSTRY),
        code("status", v.ACCOUNT_STATUS, description="ON_HOLD is synced from Finance's credit holds; "
             "SUSPENDED is Contact's own", synced_from=CREDIT_HOLDS),
        text("street", 200), text("city", 80),
        text("region", 80, nullable=True, description="state, province or prefecture; null where the country's "
             "addresses have none"),
        text("postal_code", 20), text("country_code", 2), currency(),
        text("phone", 40), text("website", 200),
        uuid("owner_employee_uuid", EMPLOYEE, description="the sales rep who owns the account"),
        timestamp("created_at"),
    ), ("account_uuid",), "Customer accounts, the CRM master."),
    Table("contact", "contacts", (
        uuid("contact_uuid"), uuid("account_uuid", ACCOUNT),
        text("first_name", 50), text("last_name", 50), text("email", 254), text("phone", 40),
        text("job_title", 80, nullable=True), timestamp("created_at"),
    ), ("contact_uuid",), "People at customer accounts."),
    Table("inventory", "products", (
        uuid("product_uuid"), text("sku", 32), text("name", 120), code("product_type", v.PRODUCT_TYPE),
        text("category", 60), text("description", 500),
        code("status", v.PRODUCT_STATUS), code("unit_of_measure", v.UNIT_OF_MEASURE, description="what one "
             "unit of quantity is: EA each, BOX a pack, KG, M, M2, L, HOUR or MONTH of service"),
        money("unit_cost", description="in the company's base currency"),
        money("list_price", description="in the company's base currency; documents convert it"),
    ), ("product_uuid",), "Products and services, the ERP item master."),
    Table("inventory", "warehouses", (
        uuid("warehouse_uuid"), text("code", 16), text("name", 80), text("city", 80), text("country_code", 2),
    ), ("warehouse_uuid",), "Warehouses that hold stock."),
    Table("inventory", "stock_levels", (
        uuid("product_uuid", PRODUCT), uuid("warehouse_uuid", WAREHOUSE),
        integer("quantity_on_hand"), integer("quantity_reserved"), integer("reorder_point"),
    ), ("product_uuid", "warehouse_uuid"), "Stock of each stocked product in each warehouse that holds it."),
    Table("inventory", "stock_movements", (
        uuid("stock_movement_uuid"), uuid("product_uuid", PRODUCT), uuid("warehouse_uuid", WAREHOUSE),
        code("movement_type", v.MOVEMENT_TYPE), integer("quantity", description="signed: receipts add, shipments remove"),
        uuid("order_uuid", ORDER, nullable=True), timestamp("occurred_at"),
    ), ("stock_movement_uuid",), "Receipts, shipments and adjustments; shipments reference orders."),
    Table("sales", "leads", (
        uuid("lead_uuid"), text("company_name", 120), text("contact_name", 120), text("email", 254),
        code("source", v.LEAD_SOURCE), code("status", v.LEAD_STATUS),
        uuid("owner_employee_uuid", EMPLOYEE), uuid("account_uuid", ACCOUNT, nullable=True),
        timestamp("created_at"),
    ), ("lead_uuid",), "Sales leads; converted leads name the account they became."),
    Table("sales", "opportunities", (
        uuid("opportunity_uuid"), uuid("account_uuid", ACCOUNT), uuid("owner_employee_uuid", EMPLOYEE),
        uuid("lead_uuid", LEAD, nullable=True), text("name", 160), code("stage", v.OPPORTUNITY_STAGE),
        integer("probability", description="percent chance of winning, by stage (0 lost, 100 won)"),
        money("amount", description="in the account's currency"),
        date("close_date", nullable=True, description="expected close while open (in the future), actual once closed"),
        timestamp("created_at"),
    ), ("opportunity_uuid",), "Sales opportunities."),
    Table("sales", "quotes", (
        uuid("quote_uuid"), document_number("quote_number"), uuid("opportunity_uuid", OPPORTUNITY),
        uuid("account_uuid", ACCOUNT), code("status", v.QUOTE_STATUS), currency(), date("valid_until"),
        money("total_amount"), timestamp("created_at"),
    ), ("quote_uuid",), "Quotes; accepted quotes become orders."),
    Table("sales", "quote_lines", (
        uuid("quote_line_uuid"), uuid("quote_uuid", QUOTE), uuid("product_uuid", PRODUCT),
        integer("quantity"), money("unit_price"), discount(), money("line_total"),
    ), ("quote_line_uuid",), "Lines of quotes."),
    Table("orders", "sales_orders", (
        uuid("order_uuid"), document_number("order_number"), uuid("account_uuid", ACCOUNT),
        uuid("quote_uuid", QUOTE, nullable=True), code("status", v.ORDER_STATUS), currency(), date("order_date"),
        timestamp("shipped_at", nullable=True), money("total_amount"),
    ), ("order_uuid",), "Sales orders."),
    Table("orders", "order_lines", (
        uuid("order_line_uuid"), uuid("order_uuid", ORDER), uuid("product_uuid", PRODUCT),
        integer("quantity"), money("unit_price"), discount(), money("line_total"),
    ), ("order_line_uuid",), "Lines of sales orders."),
    Table("finance", "invoices", (
        uuid("invoice_uuid"), document_number("invoice_number", nullable=True, description=(
            "given on issue (null while DRAFT and on a VOID invoice never issued); unique, increasing with the "
            "issue date")),
        uuid("order_uuid", ORDER, unique=True, description="exactly one invoice per order"),
        uuid("account_uuid", ACCOUNT),
        code("status", v.INVOICE_STATUS), currency(), code("payment_terms", v.PAYMENT_TERMS),
        date("issue_date", nullable=True), date("due_date", nullable=True),
        money("tax_amount"), money("total_amount"), money("amount_paid"),
    ), ("invoice_uuid",), "Invoices, exactly one per sales order."),
    Table("finance", "invoice_lines", (
        uuid("invoice_line_uuid"), uuid("invoice_uuid", INVOICE), uuid("product_uuid", PRODUCT),
        integer("quantity", description="negative on credit/return lines"), money("unit_price"), discount(),
        money("line_total"),
    ), ("invoice_line_uuid",), "Lines of invoices; negative lines are credits/returns."),
    Table("finance", "payments", (
        uuid("payment_uuid"), uuid("invoice_uuid", INVOICE), code("method", v.PAYMENT_METHOD, description=(
            "how it was settled; WRITE_OFF is the balance written off as bad debt after collections")),
        currency(), money("amount"), timestamp("paid_at"),
    ), ("payment_uuid",), "Customer payments against invoices."),
    Table("finance", "ledger_entries", (
        uuid("ledger_entry_uuid"), uuid("journal_uuid"), code("gl_account", v.GL_ACCOUNT),
        code("currency_code", v.CURRENCY, description="ISO 4217; every journal is in one currency"),
        money("debit"), money("credit"), uuid("invoice_uuid", INVOICE, nullable=True),
        uuid("payment_uuid", PAYMENT, nullable=True), date("posted_on"),
    ), ("ledger_entry_uuid",), "Double-entry ledger lines; every journal balances."),
    Table("support", "tickets", (
        uuid("ticket_uuid"), document_number("ticket_number"), uuid("account_uuid", ACCOUNT),
        uuid("contact_uuid", CONTACT, nullable=True),
        uuid("assignee_employee_uuid", EMPLOYEE, nullable=True), code("category", v.TICKET_CATEGORY),
        text("subject", 200), text("description", 1000),
        uuid("order_uuid", ORDER, nullable=True, description="the order the ticket is about, where its category needs one"),
        uuid("invoice_uuid", INVOICE, nullable=True, description="the invoice it is about (billing tickets)"),
        uuid("product_uuid", PRODUCT, nullable=True, description="the product it is about (product issues, returns)"),
        code("channel", v.TICKET_CHANNEL), code("priority", v.TICKET_PRIORITY), code("status", v.TICKET_STATUS),
        timestamp("created_at"), timestamp("sla_due_at"), timestamp("first_response_at", nullable=True),
        timestamp("resolved_at", nullable=True),
    ), ("ticket_uuid",), "Support tickets with SLA targets by segment and priority."),
)

# (service, table name, master, copied master columns, extra columns the replica's service owns)
_REPLICAS: tuple[tuple[str, str, str, tuple[str, ...], tuple[Column, ...]], ...] = (
    ("contact", "employee_replica", EMPLOYEE, ("first_name", "last_name", "email", "department", "status"), ()),
    ("sales", "account_replica", ACCOUNT, ("name", "segment", "status", "country_code", "currency_code"), ()),
    ("sales", "product_replica", PRODUCT, ("sku", "name", "product_type", "status", "list_price"), ()),
    ("sales", "employee_replica", EMPLOYEE, ("first_name", "last_name", "email", "department", "status"), ()),
    ("orders", "account_replica", ACCOUNT, ("name", "segment", "status", "currency_code"), ()),
    ("orders", "product_replica", PRODUCT, ("sku", "name", "product_type", "status", "list_price"), ()),
    ("finance", "customer_accounts", ACCOUNT, ("name", "currency_code"), (
        code("credit_status", v.CREDIT_STATUS, description="owned by Finance; Contact's ON_HOLD is its copy",
             synced_from=CREDIT_HOLDS),
        money("credit_limit"),
        money("balance", description="open receivable; negative when the customer holds credit"),
    )),
    ("support", "account_replica", ACCOUNT, ("name", "segment", "status"), ()),
    ("support", "employee_replica", EMPLOYEE, ("first_name", "last_name", "email", "department", "status"), ()),
)


class Catalog:
    """All tables, with the relations between them derived from the declarations."""

    def __init__(self, masters: tuple[Table, ...], replicas: tuple) -> None:
        by_name = {t.qualified_name: t for t in masters}
        tables = list(masters)
        for service, name, master_name, copied, owned in replicas:
            master = by_name[master_name]
            key = master.column(master.primary_key[0])
            columns = (key, *(master.column(c) for c in copied), *owned)
            # a replica resolves its own references through the service; a copied FK would dangle
            columns = tuple(_without_reference(c) for c in columns)
            description = f"Replica of {master_name} in {service}."
            if owned:
                description += " Also holds " + ", ".join(c.name for c in owned) + ", owned by " + service + "."
            tables.append(Table(service, name, columns, master.primary_key, description,
                                replica_of=ReplicaOf(master_name, copied),
                                owned_columns=tuple(c.name for c in owned)))
        self.tables: tuple[Table, ...] = tuple(tables)
        self._by_name = {t.qualified_name: t for t in self.tables}
        if len(self._by_name) != len(self.tables):
            raise ValueError("two tables share a qualified name")
        for t in self.tables:
            if t.service not in SERVICES:
                raise ValueError(f"{t.qualified_name}: unknown service")
            for c in t.foreign_keys:
                if c.references not in by_name:
                    raise ValueError(f"{t.qualified_name}.{c.name} references unknown master {c.references}")

    def __getitem__(self, qualified_name: str) -> Table:
        try:
            return self._by_name[qualified_name]
        except KeyError:
            raise KeyError(f"no table {qualified_name!r} in the data model") from None

    def __iter__(self):
        return iter(self.tables)

    def __contains__(self, qualified_name: object) -> bool:
        return qualified_name in self._by_name

    def service_tables(self, service: str) -> tuple[Table, ...]:
        return tuple(t for t in self.tables if t.service == service)

    @cached_property
    def masters(self) -> tuple[Table, ...]:
        return tuple(t for t in self.tables if not t.is_replica)

    def replicas_of(self, master: str) -> tuple[Table, ...]:
        return tuple(t for t in self.tables if t.replica_of and t.replica_of.master == master)

    def replica_in(self, service: str, master: str) -> Table | None:
        for t in self.replicas_of(master):
            if t.service == service:
                return t
        return None

    def references(self, table: Table) -> tuple[Reference, ...]:
        """Each foreign key of ``table``, resolved inside its service or marked cross-service."""
        resolved = []
        for column in table.foreign_keys:
            master = self[column.references]
            if master.service == table.service:
                local = master
            else:
                local = self.replica_in(table.service, master.qualified_name)
            resolved.append(Reference(table, column, master, local))
        return tuple(resolved)


def _without_reference(column: Column) -> Column:
    return dataclasses.replace(column, references=None)


CATALOG = Catalog(_MASTERS, _REPLICAS)
