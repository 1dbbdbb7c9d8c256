"""Checks on the master data: Part A's quotas (the model's checks come with every table)."""

from crm_mock.consistency import master_rules
from crm_mock.defs.checks import RuleCheck, rule_check
from crm_mock.model import CATALOG

EMPLOYEES, ACCOUNTS, CONTACTS = "hr.employees", "contact.accounts", "contact.contacts"
PRODUCTS, WAREHOUSES, STOCK = "inventory.products", "inventory.warehouses", "inventory.stock_levels"


def quota_checks() -> list[RuleCheck]:
    c = CATALOG
    return [
        rule_check(c[EMPLOYEES], "manager_tree", lambda i: master_rules.employee_tree(i.read(EMPLOYEES)),
                   "manager_uuid forms one tree: exactly one employee without a manager, no cycles."),
        rule_check(c[ACCOUNTS], "quotas", lambda i: master_rules.account_quotas(i.plan, i.read(ACCOUNTS)),
                   "Exact account count, segment mix, ON_HOLD and SUSPENDED quotas, Acme Corp, ≥ 10 countries."),
        rule_check(c[CONTACTS], "quotas",
                   lambda i: master_rules.contact_quotas(i.plan, i.read(CONTACTS), i.read(ACCOUNTS)),
                   "Exact contact count; every account ≥ 1 contact, small businesses exactly 1, Acme Corp 5.",
                   reads=[ACCOUNTS]),
        rule_check(c[PRODUCTS], "quotas", lambda i: master_rules.product_quotas(i.plan, i.read(PRODUCTS)),
                   "Exact product count and type mix, the discontinued quota, a high-value tail."),
        rule_check(c[WAREHOUSES], "quotas", lambda i: master_rules.warehouse_quotas(i.plan, i.read(WAREHOUSES)),
                   "Exact warehouse count, never fewer than 5."),
        rule_check(c[STOCK], "stock", lambda i: master_rules.stock_rules(i.plan, i.read(STOCK), i.read(PRODUCTS)),
                   "Stocked products in 3–5 warehouses, services in none, the zero-stock quota, no negative stock.",
                   reads=[PRODUCTS]),
    ]

