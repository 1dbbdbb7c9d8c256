"""The registry's master-data rules against corrupted copies of the smoke tier, on the Parquet store, SQLite and
PostgreSQL: the employee tree, the account, contact, product and warehouse quotas, and where stock sits."""

from __future__ import annotations

import pytest

from crm_mock.scenario import ACME_NAME
from crm_mock_tests.rule_sources import On, SmokeTier, append, drop, edit, new_uuid, set_cells, zero_stock_products

EMPLOYEES, ACCOUNTS, CONTACTS = "hr.employees", "contact.accounts", "contact.contacts"
PRODUCTS, WAREHOUSES, STOCK = "inventory.products", "inventory.warehouses", "inventory.stock_levels"


@pytest.fixture
def tier(smoke_tier: SmokeTier) -> SmokeTier:
    return smoke_tier


def quotas(table: str) -> tuple[str, str]:
    return "quotas", table


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
