"""The registry's Part A quotas and master-data rules against corrupted copies of the smoke tier, on the Parquet
store, SQLite and PostgreSQL: exact counts that are off by one are reported with the count, rows that break a
mix or a tree are named by UUID."""

from __future__ import annotations

import pytest

from crm_mock.scenario import ACME_NAME
from crm_mock_tests.rule_sources import On, SmokeTier, append, drop, edit, new_uuid, set_cells

EMPLOYEES, ACCOUNTS, CONTACTS = "hr.employees", "contact.accounts", "contact.contacts"
PRODUCTS, WAREHOUSES, STOCK = "inventory.products", "inventory.warehouses", "inventory.stock_levels"
ORDERS, ORDER_LINES = "orders.sales_orders", "orders.order_lines"
INVOICES, INVOICE_LINES, CUSTOMERS = "finance.invoices", "finance.invoice_lines", "finance.customer_accounts"
TICKETS = "support.tickets"


@pytest.fixture
def tier(smoke_tier: SmokeTier) -> SmokeTier:
    return smoke_tier


def quotas(table: str) -> tuple[str, str]:
    return "quotas", table


def invoice_status(tier: SmokeTier) -> dict[str, str]:
    return {row["order_uuid"]: row["status"] for row in tier.rows(INVOICES)}


def zero_stock_products(tier: SmokeTier) -> set[str]:
    """Part A: a stocked (non-SERVICE) product with nothing on hand in any warehouse that stocks it."""
    on_hand: dict[str, int] = {}
    for row in tier.rows(STOCK):
        on_hand[row["product_uuid"]] = on_hand.get(row["product_uuid"], 0) + row["quantity_on_hand"]
    return {p["product_uuid"] for p in tier.rows(PRODUCTS)
            if p["product_type"] != "SERVICE" and on_hand.get(p["product_uuid"], 0) == 0}


# --- orders ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delta", [1, -1])
def test_shipped_unpaid_quota_off_by_one(on: On, tier: SmokeTier, delta: int):
    """Across services: order statuses in Orders, invoice statuses in Finance."""
    quota, unpaid = tier.plan.shipped_unpaid_orders, invoice_status(tier)
    before, after = ("DELIVERED", "SHIPPED") if delta > 0 else ("SHIPPED", "DELIVERED")
    order = tier.first(ORDERS, lambda row: row["status"] == before and unpaid[row["order_uuid"]] == "UNPAID")
    orders = set_cells(tier.table(ORDERS), "order_uuid", order["order_uuid"], status=after)
    on.caught(quotas(ORDERS), {ORDERS: orders}, "counts",
              f"{quota + delta} SHIPPED orders with UNPAID invoices, not {quota}", count=1, total=1)


def test_shipped_unpaid_quota_counts_invoices_too(on: On, tier: SmokeTier):
    paid = invoice_status(tier)
    order = tier.first(ORDERS, lambda row: row["status"] == "SHIPPED" and paid[row["order_uuid"]] == "PAID")
    invoices = set_cells(tier.table(INVOICES), "order_uuid", order["order_uuid"], status="UNPAID")
    on.caught(quotas(ORDERS), {INVOICES: invoices}, "counts", f"{tier.plan.shipped_unpaid_orders + 1} SHIPPED",
              count=1, total=1)


def test_zero_stock_line_on_an_order_not_backordered(on: On, tier: SmokeTier):
    """Across services: the lines in Orders, the stock in Inventory."""
    zero = sorted(zero_stock_products(tier))
    statuses = {row["order_uuid"]: row["status"] for row in tier.rows(ORDERS)}
    line = tier.first(ORDER_LINES, lambda row: statuses[row["order_uuid"]] != "BACKORDERED")
    lines = set_cells(tier.table(ORDER_LINES), "order_line_uuid", line["order_line_uuid"], product_uuid=zero[0])
    result = on.caught(quotas(ORDERS), {ORDER_LINES: lines}, "zero_stock_line_not_backordered", line["order_uuid"],
                       count=1)
    assert f"{tier.plan.backordered_orders + 1} orders with a zero-stock line" in result.sample[0]


def test_backordered_order_without_zero_stock_line(on: On, tier: SmokeTier):
    zero = zero_stock_products(tier)
    order = tier.first(ORDERS, lambda row: row["status"] == "BACKORDERED")["order_uuid"]
    in_stock = sorted(row["product_uuid"] for row in tier.rows(STOCK) if row["quantity_on_hand"] > 0)[0]
    lines = edit(tier.table(ORDER_LINES), lambda row: row["order_uuid"] == order and row["product_uuid"] in zero,
                 product_uuid=in_stock)
    result = on.caught(quotas(ORDERS), {ORDER_LINES: lines}, "backordered_without_zero_stock_line", order, count=1)
    assert f"{tier.plan.backordered_orders - 1} orders with a zero-stock line" in result.sample[0]


def test_a_product_running_out_makes_its_orders_offend(on: On, tier: SmokeTier):
    """The stock side of the same quota: emptying a product's warehouses puts its orders in breach."""
    zero = zero_stock_products(tier)
    statuses = {row["order_uuid"]: row["status"] for row in tier.rows(ORDERS)}
    stocked = {row["product_uuid"] for row in tier.rows(STOCK)} - zero
    orders: dict[str, set[str]] = {}
    for line in tier.rows(ORDER_LINES):
        if line["product_uuid"] in stocked:
            orders.setdefault(line["product_uuid"], set()).add(line["order_uuid"])
    product = min(sorted(orders), key=lambda p: len(orders[p]))
    offending = sorted(o for o in orders[product] if statuses[o] != "BACKORDERED")
    stock = edit(tier.table(STOCK), lambda row: row["product_uuid"] == product, quantity_on_hand=0,
                 quantity_reserved=0)
    on.caught(quotas(ORDERS), {STOCK: stock}, "zero_stock_line_not_backordered", *offending[:10],
              count=len(offending))


def test_order_count(on: On, tier: SmokeTier):
    order = tier.first(ORDERS, lambda row: row["status"] == "CANCELLED")["order_uuid"]
    orders = drop(tier.table(ORDERS), lambda row: row["order_uuid"] == order)
    n = tier.plan.sales_orders
    on.caught(quotas(ORDERS), {ORDERS: orders}, "rows", f"{n - 1}, not {n}", total=1)


# --- invoices and tickets -------------------------------------------------------------------------------------------


def test_credit_note_invoice_too_many(on: On, tier: SmokeTier):
    credited = {row["invoice_uuid"] for row in tier.rows(INVOICE_LINES) if row["line_total"] < 0}
    quota = tier.plan.credit_note_invoices
    assert len(credited) == quota
    line = tier.first(INVOICE_LINES, lambda row: row["invoice_uuid"] not in credited and row["line_total"] > 0)
    lines = set_cells(tier.table(INVOICE_LINES), "invoice_line_uuid", line["invoice_line_uuid"],
                      quantity=-line["quantity"], line_total=-line["line_total"])
    on.caught(quotas(INVOICES), {INVOICE_LINES: lines}, "credit_note_invoices", f"{quota + 1}, not {quota}", total=1)


def test_credit_note_invoice_too_few(on: On, tier: SmokeTier):
    invoice = tier.first(INVOICE_LINES, lambda row: row["line_total"] < 0)["invoice_uuid"]
    lines = edit(tier.table(INVOICE_LINES), lambda row: row["invoice_uuid"] == invoice,
                 quantity=lambda row: abs(row["quantity"]), line_total=lambda row: abs(row["line_total"]))
    quota = tier.plan.credit_note_invoices
    on.caught(quotas(INVOICES), {INVOICE_LINES: lines}, "credit_note_invoices", f"{quota - 1}, not {quota}", total=1)


@pytest.mark.parametrize("missing,instead", [("NET_30", "NET_15"), ("NET_60", "NET_30")])
def test_payment_terms_missing(on: On, tier: SmokeTier, missing: str, instead: str):
    invoices = edit(tier.table(INVOICES), lambda row: row["payment_terms"] == missing, payment_terms=instead)
    on.caught(quotas(INVOICES), {INVOICES: invoices}, "net_30_and_net_60", missing, count=1, total=1)


def test_ticket_count(on: On, tier: SmokeTier):
    tickets = drop(tier.table(TICKETS), lambda row: row["ticket_uuid"] == tier.rows(TICKETS)[0]["ticket_uuid"])
    n = tier.plan.tickets
    on.caught(quotas(TICKETS), {TICKETS: tickets}, "rows", f"{n - 1}, not {n}", total=1)


# --- credit holds: Finance owns them, Contact copies them -----------------------------------------------------------

CREDIT_HOLD = ("credit_hold_synced", CUSTOMERS)


def test_account_on_hold_in_contact_but_good_in_finance(on: On, tier: SmokeTier):
    account = tier.first(ACCOUNTS, lambda row: row["status"] == "ON_HOLD")["account_uuid"]
    customers = set_cells(tier.table(CUSTOMERS), "account_uuid", account, credit_status="GOOD")
    on.caught(CREDIT_HOLD, {CUSTOMERS: customers}, "held_in_contact_only", account, count=1, total=1)


@pytest.mark.parametrize("contact_status", ["ACTIVE", "SUSPENDED"])
def test_account_on_hold_in_finance_only(on: On, tier: SmokeTier, contact_status: str):
    account = tier.first(ACCOUNTS, lambda row: row["status"] == contact_status)["account_uuid"]
    customers = set_cells(tier.table(CUSTOMERS), "account_uuid", account, credit_status="ON_HOLD")
    on.caught(CREDIT_HOLD, {CUSTOMERS: customers}, "held_in_finance_only", account, count=1, total=1)


def test_contact_releases_a_hold_finance_keeps(on: On, tier: SmokeTier):
    account = tier.first(ACCOUNTS, lambda row: row["status"] == "ON_HOLD")["account_uuid"]
    accounts = set_cells(tier.table(ACCOUNTS), "account_uuid", account, status="ACTIVE")
    on.caught(CREDIT_HOLD, {ACCOUNTS: accounts}, "held_in_finance_only", account, count=1, total=1)


# --- employees: one tree --------------------------------------------------------------------------------------------

TREE = ("manager_tree", EMPLOYEES)


def leaves(tier: SmokeTier) -> list[str]:
    managers = {row["manager_uuid"] for row in tier.rows(EMPLOYEES)}
    found = [row["employee_uuid"] for row in tier.rows(EMPLOYEES) if row["employee_uuid"] not in managers]
    assert len(found) >= 2, "the generated tree has fewer than two leaves to corrupt"
    return found


def test_second_root(on: On, tier: SmokeTier):
    employee = tier.first(EMPLOYEES, lambda row: row["manager_uuid"] is not None)["employee_uuid"]
    employees = set_cells(tier.table(EMPLOYEES), "employee_uuid", employee, manager_uuid=None)
    on.caught(TREE, {EMPLOYEES: employees}, "single_root", "2 roots", employee, count=3, total=3)


def test_no_root(on: On, tier: SmokeTier):
    root = tier.first(EMPLOYEES, lambda row: row["manager_uuid"] is None)["employee_uuid"]
    child = tier.first(EMPLOYEES, lambda row: row["manager_uuid"] == root)["employee_uuid"]
    employees = set_cells(tier.table(EMPLOYEES), "employee_uuid", root, manager_uuid=child)
    result = on.caught(TREE, {EMPLOYEES: employees}, "single_root", "0 roots", count=1)
    assert result.details["no_cycles"] == len(tier.rows(EMPLOYEES))  # everyone now hangs under the loop


def test_cycle(on: On, tier: SmokeTier):
    a, b = leaves(tier)[:2]
    employees = set_cells(set_cells(tier.table(EMPLOYEES), "employee_uuid", a, manager_uuid=b),
                          "employee_uuid", b, manager_uuid=a)
    on.caught(TREE, {EMPLOYEES: employees}, "no_cycles", a, b, count=2, total=2)


def test_self_managed_employee_is_a_cycle(on: On, tier: SmokeTier):
    leaf = leaves(tier)[0]
    employees = set_cells(tier.table(EMPLOYEES), "employee_uuid", leaf, manager_uuid=leaf)
    on.caught(TREE, {EMPLOYEES: employees}, "no_cycles", leaf, count=1, total=1)


def test_unknown_manager(on: On, tier: SmokeTier):
    employee = tier.first(EMPLOYEES, lambda row: row["manager_uuid"] is not None)["employee_uuid"]
    employees = set_cells(tier.table(EMPLOYEES), "employee_uuid", employee, manager_uuid=new_uuid("ghost manager"))
    on.caught(TREE, {EMPLOYEES: employees}, "manager_exists", employee, count=1, total=1)


def test_employee_count(on: On, tier: SmokeTier):
    employees = drop(tier.table(EMPLOYEES), lambda row: row["employee_uuid"] == leaves(tier)[0])
    n = tier.plan.employees
    on.caught(quotas(EMPLOYEES), {EMPLOYEES: employees}, "rows", f"{n - 1}, not {n}", total=1)


# --- accounts and contacts ------------------------------------------------------------------------------------------


def non_acme(tier: SmokeTier, **equal: str) -> dict:
    return tier.first(ACCOUNTS, lambda row: row["name"] != ACME_NAME and all(row[k] == v for k, v in equal.items()))


@pytest.mark.parametrize("after,kind", [("ON_HOLD", "on_hold"), ("SUSPENDED", "suspended")])
def test_held_account_quota(on: On, tier: SmokeTier, after: str, kind: str):
    account = non_acme(tier, status="ACTIVE")["account_uuid"]
    accounts = set_cells(tier.table(ACCOUNTS), "account_uuid", account, status=after)
    quota = getattr(tier.plan, f"{kind}_accounts")
    on.caught(quotas(ACCOUNTS), {ACCOUNTS: accounts}, kind, f"{quota + 1}, not {quota}", total=1)


def test_segment_mix(on: On, tier: SmokeTier):
    account = non_acme(tier, segment="SMALL_BUSINESS")["account_uuid"]
    accounts = set_cells(tier.table(ACCOUNTS), "account_uuid", account, segment="MID_MARKET")
    counts = tier.plan.segment_counts
    result = on.caught(quotas(ACCOUNTS), {ACCOUNTS: accounts}, "segment_mid_market",
                       f"{counts['MID_MARKET'] + 1}, not {counts['MID_MARKET']}", total=2)
    assert f"{counts['SMALL_BUSINESS'] - 1}, not {counts['SMALL_BUSINESS']}" in result.sample


def test_second_acme_corp(on: On, tier: SmokeTier):
    account = non_acme(tier, segment="ENTERPRISE")["account_uuid"]
    accounts = set_cells(tier.table(ACCOUNTS), "account_uuid", account, name=ACME_NAME)
    on.caught(quotas(ACCOUNTS), {ACCOUNTS: accounts}, "acme_corp", f"2 accounts named {ACME_NAME}", account)


def test_acme_corp_that_is_not_an_enterprise(on: On, tier: SmokeTier):
    acme = tier.first(ACCOUNTS, lambda row: row["name"] == ACME_NAME)["account_uuid"]
    accounts = set_cells(tier.table(ACCOUNTS), "account_uuid", acme, segment="MID_MARKET")
    on.caught(quotas(ACCOUNTS), {ACCOUNTS: accounts}, "acme_corp", "1 not ENTERPRISE", acme)


def test_too_few_countries(on: On, tier: SmokeTier):
    accounts = edit(tier.table(ACCOUNTS), lambda row: True, country_code="US")
    on.caught(quotas(ACCOUNTS), {ACCOUNTS: accounts}, "countries", "1 countries", total=1)


def test_missing_account(on: On, tier: SmokeTier):
    gone = non_acme(tier, status="ACTIVE", segment="ENTERPRISE")["account_uuid"]
    accounts = drop(tier.table(ACCOUNTS), lambda row: row["account_uuid"] == gone)
    n = tier.plan.accounts
    on.caught(quotas(ACCOUNTS), {ACCOUNTS: accounts}, "rows", f"{n - 1}, not {n}")


CONTACT_QUOTAS = quotas(CONTACTS)


def contacts_per_account(tier: SmokeTier) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in tier.rows(CONTACTS):
        counts[row["account_uuid"]] = counts.get(row["account_uuid"], 0) + 1
    return counts


def minimum(tier: SmokeTier, segment: str) -> int:
    return {"MID_MARKET": tier.plan.realism.contacts_min_mid_market,
            "ENTERPRISE": tier.plan.realism.contacts_min_enterprise}.get(segment, 1)


def donor_contact(tier: SmokeTier) -> str:
    """A contact whose account can give it away and stay within the rules (not small, not Acme, above minimum)."""
    counts = contacts_per_account(tier)
    donor = tier.first(ACCOUNTS, lambda row: row["segment"] != "SMALL_BUSINESS" and row["name"] != ACME_NAME
                       and counts[row["account_uuid"]] > minimum(tier, row["segment"]))
    return tier.first(CONTACTS, lambda row: row["account_uuid"] == donor["account_uuid"])["contact_uuid"]


def test_acme_with_a_sixth_contact(on: On, tier: SmokeTier):
    acme = tier.first(ACCOUNTS, lambda row: row["name"] == ACME_NAME)["account_uuid"]
    contacts = set_cells(tier.table(CONTACTS), "contact_uuid", donor_contact(tier), account_uuid=acme)
    n = tier.plan.acme_contacts
    on.caught(CONTACT_QUOTAS, {CONTACTS: contacts}, "acme_contacts", f"[{n + 1}] contacts, not {n}", total=1)


def test_acme_with_a_contact_fewer(on: On, tier: SmokeTier):
    acme = tier.first(ACCOUNTS, lambda row: row["name"] == ACME_NAME)["account_uuid"]
    gone = tier.first(CONTACTS, lambda row: row["account_uuid"] == acme)["contact_uuid"]
    contacts = drop(tier.table(CONTACTS), lambda row: row["contact_uuid"] == gone)
    n = tier.plan.acme_contacts
    on.caught(CONTACT_QUOTAS, {CONTACTS: contacts}, "acme_contacts", f"[{n - 1}] contacts, not {n}")


def test_small_business_with_a_second_contact(on: On, tier: SmokeTier):
    small = non_acme(tier, segment="SMALL_BUSINESS")["account_uuid"]
    contacts = set_cells(tier.table(CONTACTS), "contact_uuid", donor_contact(tier), account_uuid=small)
    on.caught(CONTACT_QUOTAS, {CONTACTS: contacts}, "small_business_exactly_one", small, count=1, total=1)


def test_account_without_contacts(on: On, tier: SmokeTier):
    small = non_acme(tier, segment="SMALL_BUSINESS")["account_uuid"]
    contacts = drop(tier.table(CONTACTS), lambda row: row["account_uuid"] == small)
    result = on.caught(CONTACT_QUOTAS, {CONTACTS: contacts}, "every_account_has_contact", small, count=1)
    assert result.details["small_business_exactly_one"] == 1


def test_account_below_its_segments_minimum(on: On, tier: SmokeTier):
    counts = contacts_per_account(tier)
    account = tier.first(ACCOUNTS, lambda row: row["segment"] == "MID_MARKET"
                         and counts[row["account_uuid"]] == minimum(tier, "MID_MARKET"))["account_uuid"]
    gone = tier.first(CONTACTS, lambda row: row["account_uuid"] == account)["contact_uuid"]
    contacts = drop(tier.table(CONTACTS), lambda row: row["contact_uuid"] == gone)
    on.caught(CONTACT_QUOTAS, {CONTACTS: contacts}, "segment_minimum", account, count=1)


# --- products, warehouses and where stock sits ----------------------------------------------------------------------


def test_product_type_mix(on: On, tier: SmokeTier):
    product = tier.first(PRODUCTS, lambda row: row["product_type"] == "FINISHED_GOOD" and row["status"] == "ACTIVE")
    products = set_cells(tier.table(PRODUCTS), "product_uuid", product["product_uuid"], product_type="RAW_MATERIAL")
    counts = tier.plan.product_type_counts
    result = on.caught(quotas(PRODUCTS), {PRODUCTS: products}, "type_finished_good",
                       f"{counts['FINISHED_GOOD'] - 1}, not {counts['FINISHED_GOOD']}", total=2)
    assert f"{counts['RAW_MATERIAL'] + 1}, not {counts['RAW_MATERIAL']}" in result.sample


def test_discontinued_quota(on: On, tier: SmokeTier):
    product = tier.first(PRODUCTS, lambda row: row["status"] == "ACTIVE")["product_uuid"]
    products = set_cells(tier.table(PRODUCTS), "product_uuid", product, status="DISCONTINUED")
    n = tier.plan.discontinued_products
    on.caught(quotas(PRODUCTS), {PRODUCTS: products}, "discontinued", f"{n + 1}, not {n}", total=1)


@pytest.mark.parametrize("column", ["list_price", "unit_cost"])
def test_unpriced_product(on: On, tier: SmokeTier, column: str):
    product = tier.first(PRODUCTS, lambda row: row["product_type"] != "SERVICE")["product_uuid"]
    products = set_cells(tier.table(PRODUCTS), "product_uuid", product, **{column: 0.0})
    on.caught(quotas(PRODUCTS), {PRODUCTS: products}, "priced", product, count=1, total=1)


def test_no_high_value_tail(on: On, tier: SmokeTier):
    prices = sorted(row["list_price"] for row in tier.rows(PRODUCTS))
    cap = prices[len(prices) // 2] * 2
    products = edit(tier.table(PRODUCTS), lambda row: row["list_price"] > cap, list_price=cap)
    on.caught(quotas(PRODUCTS), {PRODUCTS: products}, "value_spread", "no high-value tail", count=1, total=1)


def test_missing_warehouse(on: On, tier: SmokeTier):
    warehouses = drop(tier.table(WAREHOUSES), lambda row: row == tier.rows(WAREHOUSES)[0])
    n = tier.plan.warehouses
    result = on.caught(quotas(WAREHOUSES), {WAREHOUSES: warehouses}, "rows", f"{n - 1}, not {n}")
    if n == 5:
        assert "4 warehouses, fewer than 5" in result.sample


STOCK_RULES = ("stock", STOCK)


def stocked_product(tier: SmokeTier, warehouses: int | None = None) -> str:
    places: dict[str, list[int]] = {}
    for row in tier.rows(STOCK):
        places.setdefault(row["product_uuid"], []).append(row["quantity_on_hand"])
    return next(p for p, on_hand in places.items() if min(on_hand) > 0 and warehouses in (None, len(on_hand)))


def test_product_in_only_two_warehouses(on: On, tier: SmokeTier):
    product = stocked_product(tier, warehouses=3)
    dropped = tier.first(STOCK, lambda row: row["product_uuid"] == product)["warehouse_uuid"]
    stock = drop(tier.table(STOCK), lambda row: row["product_uuid"] == product and row["warehouse_uuid"] == dropped)
    on.caught(STOCK_RULES, {STOCK: stock}, "warehouses_per_product", product, count=1, total=1)


def test_unstocked_product(on: On, tier: SmokeTier):
    """Stocked nowhere: in no 3–5 warehouses, and (nothing on hand) one zero-stock product too many."""
    product = stocked_product(tier)
    stock = drop(tier.table(STOCK), lambda row: row["product_uuid"] == product)
    zero = tier.plan.zero_stock_products
    result = on.caught(STOCK_RULES, {STOCK: stock}, "warehouses_per_product", product, count=1)
    assert f"{zero + 1}, not {zero}" in result.sample


def test_stocked_service(on: On, tier: SmokeTier):
    service = tier.first(PRODUCTS, lambda row: row["product_type"] == "SERVICE")["product_uuid"]
    stock = append(tier.table(STOCK), tier.rows(STOCK)[0], product_uuid=service)
    on.caught(STOCK_RULES, {STOCK: stock}, "services_unstocked", service, count=1, total=1)


def test_extra_zero_stock_product(on: On, tier: SmokeTier):
    product = stocked_product(tier)
    stock = edit(tier.table(STOCK), lambda row: row["product_uuid"] == product, quantity_on_hand=0,
                 quantity_reserved=0)
    zero, unavailable = tier.plan.zero_stock_products, tier.plan.zero_stock_products + tier.plan.discontinued_products
    result = on.caught(STOCK_RULES, {STOCK: stock}, "zero_stock_products", f"{zero + 1}, not {zero}", total=2)
    assert f"{unavailable + 1}, not {unavailable}" in result.sample


def test_discontinued_product_without_stock_counts_once(on: On, tier: SmokeTier):
    """Part A counts products that are DISCONTINUED or zero-stock: one that is both is one product."""
    zero = sorted(zero_stock_products(tier))[0]
    products = set_cells(tier.table(PRODUCTS), "product_uuid", zero, status="DISCONTINUED")
    active = tier.first(PRODUCTS, lambda row: row["status"] == "DISCONTINUED")["product_uuid"]
    products = set_cells(products, "product_uuid", active, status="ACTIVE")  # the discontinued count stays
    unavailable = tier.plan.zero_stock_products + tier.plan.discontinued_products
    on.caught(STOCK_RULES, {PRODUCTS: products}, "discontinued_or_zero_stock",
              f"{unavailable - 1}, not {unavailable}", total=1)


@pytest.mark.parametrize("column,value", [("quantity_on_hand", -1), ("quantity_reserved", -1),
                                          ("quantity_on_hand", "below reserved")])
def test_negative_stock(on: On, tier: SmokeTier, column: str, value: object):
    level = tier.first(STOCK, lambda row: row["quantity_on_hand"] > 10 and row["quantity_reserved"] > 0)
    new = level["quantity_reserved"] - 1 if value == "below reserved" else value
    stock = edit(tier.table(STOCK), lambda row: row == level, **{column: new})
    on.caught(STOCK_RULES, {STOCK: stock}, "never_negative", f"{level['product_uuid']}|{level['warehouse_uuid']}",
              count=1, total=1)
