"""Part A quotas and invariants of the master data, for one tier's plan."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from crm_mock.consistency.results import RuleResult, combine, rule_result
from crm_mock.scenario import ACME_NAME, TierPlan

MIN_COUNTRIES = 10
STOCK_WAREHOUSES = (3, 5)


def _count(name: str, table: str, actual: int, expected: int) -> RuleResult:
    problems = [] if actual == expected else [f"{name}: {actual} != {expected}"]
    return rule_result(name, table, problems, actual=actual, expected=expected)


def employee_tree(employees: pa.Table) -> RuleResult:
    """manager_uuid forms one tree: exactly one root, every manager exists, no cycles."""
    table = "hr.employees"
    frame = employees.select(["employee_uuid", "manager_uuid"]).to_pandas()
    index = pd.Index(frame.employee_uuid)
    roots = frame.employee_uuid[frame.manager_uuid.isna()].tolist()
    parent = index.get_indexer(frame.manager_uuid.fillna("<root>"))
    unknown = frame.employee_uuid[(parent < 0) & frame.manager_uuid.notna()].tolist()
    # pointer jumping: after log2(n) squarings every chain has reached its root unless it cycles
    up = np.where(parent < 0, np.arange(len(frame)), parent)
    for _ in range(max(1, int(np.ceil(np.log2(max(len(frame), 2)))) + 1)):
        up = up[up]
    is_root = parent < 0
    cyclic = frame.employee_uuid[~is_root[up]].tolist()
    return combine("manager_tree", table, [
        rule_result("single_root", table, [] if len(roots) == 1 else [f"{len(roots)} roots"] + roots),
        rule_result("manager_exists", table, unknown),
        rule_result("no_cycles", table, cyclic),
    ])


def account_quotas(plan: TierPlan, accounts: pa.Table) -> RuleResult:
    table = "contact.accounts"
    frame = accounts.select(["account_uuid", "name", "segment", "status", "country_code"]).to_pandas()
    status = frame.status.value_counts()
    segment = frame.segment.value_counts()
    acme = frame[frame.name == ACME_NAME]
    checks = [
        _count("rows", table, len(frame), plan.accounts),
        _count("on_hold", table, int(status.get("ON_HOLD", 0)), plan.on_hold_accounts),
        _count("suspended", table, int(status.get("SUSPENDED", 0)), plan.suspended_accounts),
        *(_count(f"segment_{s.lower()}", table, int(segment.get(s, 0)), n) for s, n in plan.segment_counts.items()),
        rule_result("acme_corp", table, [] if len(acme) == 1 and (acme.segment == "ENTERPRISE").all()
                    else [f"{len(acme)} accounts named {ACME_NAME}"]),
    ]
    countries = frame.country_code.nunique()
    wanted = min(MIN_COUNTRIES, len(plan.country_shares), plan.accounts)
    checks.append(rule_result("countries", table, [] if countries >= wanted else
                              [f"{countries} countries < {wanted}"], countries=countries))
    return combine("quotas", table, checks)


def contact_quotas(plan: TierPlan, contacts: pa.Table, accounts: pa.Table) -> RuleResult:
    table = "contact.contacts"
    per_account = contacts.column("account_uuid").to_pandas().value_counts()
    frame = accounts.select(["account_uuid", "name", "segment"]).to_pandas().set_index("account_uuid")
    frame["contacts"] = per_account.reindex(frame.index).fillna(0).astype(int)
    small = frame[frame.segment == "SMALL_BUSINESS"]
    acme = frame[frame.name == ACME_NAME]
    return combine("quotas", table, [
        _count("rows", table, contacts.num_rows, plan.contacts),
        rule_result("every_account_has_contact", table, frame.index[frame.contacts < 1].tolist()),
        rule_result("small_business_exactly_one", table, small.index[small.contacts != 1].tolist()),
        rule_result("acme_contacts", table, [] if len(acme) == 1 and acme.contacts.iloc[0] == plan.acme_contacts
                    else [f"Acme Corp has {acme.contacts.tolist()} contacts, not {plan.acme_contacts}"]),
    ])


def product_quotas(plan: TierPlan, products: pa.Table) -> RuleResult:
    table = "inventory.products"
    frame = products.select(["product_uuid", "product_type", "status", "unit_cost", "list_price"]).to_pandas()
    types = frame.product_type.value_counts()
    price = frame.list_price
    return combine("quotas", table, [
        _count("rows", table, len(frame), plan.products),
        *(_count(f"type_{t.lower()}", table, int(types.get(t, 0)), n) for t, n in plan.product_type_counts.items()),
        _count("discontinued", table, int((frame.status == "DISCONTINUED").sum()), plan.discontinued_products),
        rule_result("priced", table, frame.product_uuid[(price <= 0) | (frame.unit_cost <= 0)].tolist()),
        rule_result("value_spread", table, [] if plan.products < 100 or price.max() >= 100 * price.median()
                    else ["no high-value tail"], max_price=float(price.max()), median_price=float(price.median())),
    ])


def stock_rules(plan: TierPlan, stock: pa.Table, products: pa.Table) -> RuleResult:
    """3-5 warehouses per stocked product, none for services, the zero-stock quota, stock never negative."""
    table = "inventory.stock_levels"
    rows = stock.select(["product_uuid", "quantity_on_hand", "quantity_reserved"]).to_pandas()
    per_product = rows.groupby("product_uuid").agg(warehouses=("product_uuid", "size"),
                                                   on_hand=("quantity_on_hand", "sum"))
    frame = products.select(["product_uuid", "product_type", "status"]).to_pandas().set_index("product_uuid")
    frame = frame.join(per_product)
    frame["warehouses"] = frame.warehouses.fillna(0).astype(int)
    stocked = frame[frame.product_type != "SERVICE"]
    services = frame[frame.product_type == "SERVICE"]
    zero = stocked.index[stocked.on_hand == 0]
    low, high = STOCK_WAREHOUSES
    unavailable = (frame.status == "DISCONTINUED").sum() + len(zero)
    return combine("stock", table, [
        rule_result("warehouses_per_product", table,
                    stocked.index[(stocked.warehouses < low) | (stocked.warehouses > high)].tolist()),
        rule_result("services_unstocked", table, services.index[services.warehouses > 0].tolist()),
        _count("zero_stock_products", table, len(zero), plan.zero_stock_products),
        _count("discontinued_or_zero_stock", table, int(unavailable),
               plan.discontinued_products + plan.zero_stock_products),
        rule_result("never_negative", table, rows.product_uuid[
            (rows.quantity_on_hand < 0) | (rows.quantity_reserved < 0)
            | (rows.quantity_reserved > rows.quantity_on_hand)].tolist()),
    ])


def warehouse_quotas(plan: TierPlan, warehouses: pa.Table) -> RuleResult:
    table = "inventory.warehouses"
    return combine("quotas", table, [
        _count("rows", table, warehouses.num_rows, plan.warehouses),
        rule_result("at_least_five", table, [] if warehouses.num_rows >= 5 else ["fewer than 5 warehouses"]),
    ])
