"""Part A on the master data: the employee tree and the exact counts and mixes of the master tables."""

from __future__ import annotations

from crm_mock.consistency.engine import Findings, RuleContext
from crm_mock.consistency.results import SAMPLE_SIZE
from crm_mock.consistency.rule import rule
from crm_mock.consistency.rules.common import add_keys, count_where, scalar
from crm_mock.consistency.sql import Sql
from crm_mock.scenario import ACME_NAME
from crm_mock.sinks.values import canonical_uuid

MIN_COUNTRIES = 10
MIN_WAREHOUSES = 5
VALUE_SPREAD = 100  # the priciest product costs at least this many times the median
VALUE_SPREAD_FROM = 100  # products needed before a high-value tail is expected
ACME = Sql.quoted([ACME_NAME])


@rule("quotas", "hr.employees", "Exact employee count.")
def employee_quotas(ctx: RuleContext, found: Findings) -> None:
    found.count("rows", scalar(ctx, "hr", "SELECT COUNT(*) FROM employees"), ctx.plan.employees)


# employees reached from a root (or from a manager that does not exist) by walking down the tree; the
# rest hang in or under a cycle. UNION (not ALL) stops the walk however the data is broken
REACHED = """WITH RECURSIVE reached(employee_uuid) AS (
    SELECT e.employee_uuid FROM employees e LEFT JOIN employees m ON m.employee_uuid = e.manager_uuid
    WHERE m.employee_uuid IS NULL
    UNION
    SELECT e.employee_uuid FROM employees e JOIN reached r ON e.manager_uuid = r.employee_uuid)
SELECT e.employee_uuid FROM employees e LEFT JOIN reached r ON r.employee_uuid = e.employee_uuid
WHERE r.employee_uuid IS NULL ORDER BY e.employee_uuid"""


@rule("manager_tree", "hr.employees",
      "manager_uuid forms one tree: exactly one employee without a manager, every manager exists, no cycles.")
def manager_tree(ctx: RuleContext, found: Findings) -> None:
    found.kind("single_root")
    roots = scalar(ctx, "hr", "SELECT COUNT(*) FROM employees WHERE manager_uuid IS NULL")
    if roots != 1:
        found.add("single_root", f"{roots} roots")
        add_keys(ctx, found, "single_root", "hr",
                 "SELECT employee_uuid FROM employees WHERE manager_uuid IS NULL ORDER BY employee_uuid")
    add_keys(ctx, found, "manager_exists", "hr",
             "SELECT e.employee_uuid FROM employees e LEFT JOIN employees m ON m.employee_uuid = e.manager_uuid "
             "WHERE e.manager_uuid IS NOT NULL AND m.employee_uuid IS NULL ORDER BY e.employee_uuid")
    add_keys(ctx, found, "no_cycles", "hr", REACHED)


@rule("quotas", "contact.accounts",
      "Exact account count, segment mix, ON_HOLD and SUSPENDED quotas, one ENTERPRISE Acme Corp, ≥ 10 countries.")
def account_quotas(ctx: RuleContext, found: Findings) -> None:
    plan = ctx.plan
    segments = list(plan.segment_counts)
    counts = [
        "COUNT(*)", count_where("status = 'ON_HOLD'"), count_where("status = 'SUSPENDED'"),
        *(count_where(f"segment = '{s}'") for s in segments),
        count_where(f"name = {ACME}"), count_where(f"name = {ACME} AND COALESCE(segment, '') <> 'ENTERPRISE'"),
        "COUNT(DISTINCT country_code)",
    ]
    rows, on_hold, suspended, *per_segment, acme, acme_not_enterprise, countries = next(
        ctx.rows("contact", f"SELECT {', '.join(counts)} FROM accounts"))
    found.count("rows", rows, plan.accounts)
    found.count("on_hold", on_hold, plan.on_hold_accounts)
    found.count("suspended", suspended, plan.suspended_accounts)
    for segment, actual in zip(segments, per_segment):
        found.count(f"segment_{segment.lower()}", actual, plan.segment_counts[segment])
    found.kind("acme_corp")
    if acme != 1 or acme_not_enterprise:
        found.add("acme_corp", f"{acme} accounts named {ACME_NAME}, {acme_not_enterprise} not ENTERPRISE")
        add_keys(ctx, found, "acme_corp", "contact",
                 f"SELECT account_uuid FROM accounts WHERE name = {ACME} ORDER BY account_uuid")
    wanted = min(MIN_COUNTRIES, len(plan.country_shares), plan.accounts)
    found.kind("countries")
    found.details["countries"] = countries
    if countries < wanted:
        found.add("countries", f"{countries} countries < {wanted}")


@rule("quotas", "contact.contacts",
      "Exact contact count; every account ≥ 1 contact, small businesses exactly 1, others their segment's "
      "minimum, Acme Corp 5.", reads=("contact.accounts",))
def contact_quotas(ctx: RuleContext, found: Findings) -> None:
    plan = ctx.plan
    minimum = {"MID_MARKET": plan.realism.contacts_min_mid_market, "ENTERPRISE": plan.realism.contacts_min_enterprise}
    found.count("rows", scalar(ctx, "contact", "SELECT COUNT(*) FROM contacts"), plan.contacts)
    for kind in ("every_account_has_contact", "small_business_exactly_one", "segment_minimum", "acme_contacts"):
        found.kind(kind)
    below = " OR ".join(f"(a.segment = '{s}' AND COUNT(c.contact_uuid) < {n})" for s, n in minimum.items())
    query = ("SELECT a.account_uuid, a.segment, a.name, COUNT(c.contact_uuid) FROM accounts a "
             "LEFT JOIN contacts c ON c.account_uuid = a.account_uuid GROUP BY a.account_uuid, a.segment, a.name "
             f"HAVING COUNT(c.contact_uuid) = 0 OR (a.segment = 'SMALL_BUSINESS' AND COUNT(c.contact_uuid) <> 1) "
             f"OR {below} OR a.name = {ACME} ORDER BY a.account_uuid")
    acme_accounts, acme_counts = 0, []
    for account, segment, name, contacts in ctx.rows("contact", query):
        account = canonical_uuid(account)
        if name == ACME_NAME:
            acme_accounts += 1
            if len(acme_counts) < SAMPLE_SIZE:
                acme_counts.append(contacts)
        if contacts == 0:
            found.add("every_account_has_contact", account)
        if segment == "SMALL_BUSINESS" and contacts != 1:
            found.add("small_business_exactly_one", account)
        elif segment in minimum and contacts < minimum[segment] and name != ACME_NAME:
            found.add("segment_minimum", account)
    if acme_accounts != 1 or acme_counts[0] != plan.acme_contacts:
        found.add("acme_contacts", f"{ACME_NAME} has {acme_counts} contacts, not {plan.acme_contacts}")


@rule("quotas", "inventory.products",
      "Exact product count and type mix, the discontinued quota, every product priced, a high-value tail.")
def product_quotas(ctx: RuleContext, found: Findings) -> None:
    plan = ctx.plan
    types = list(plan.product_type_counts)
    counts = ["COUNT(*)", *(count_where(f"product_type = '{t}'") for t in types),
              count_where("status = 'DISCONTINUED'"), "COUNT(list_price)", "MAX(list_price)"]
    rows, *per_type, discontinued, priced, highest = next(
        ctx.rows("inventory", f"SELECT {', '.join(counts)} FROM products"))
    found.count("rows", rows, plan.products)
    for product_type, actual in zip(types, per_type):
        found.count(f"type_{product_type.lower()}", actual, plan.product_type_counts[product_type])
    found.count("discontinued", discontinued, plan.discontinued_products)
    add_keys(ctx, found, "priced", "inventory",
             "SELECT product_uuid FROM products WHERE list_price <= 0 OR unit_cost <= 0 ORDER BY product_uuid")
    found.kind("value_spread")
    if plan.products >= VALUE_SPREAD_FROM and priced:
        median = _median_price(ctx, priced)
        found.details.update(max_price=float(highest), median_price=median)
        if float(highest) < VALUE_SPREAD * median:
            found.add("value_spread", f"no high-value tail: the top price {float(highest):.2f} is under "
                                      f"{VALUE_SPREAD} × the median {median:.2f}")


def _median_price(ctx: RuleContext, priced: int) -> float:
    """The median list price, sorted by the database (the middle one, or the mean of the middle two)."""
    query = ("SELECT list_price FROM products WHERE list_price IS NOT NULL "
             f"ORDER BY list_price LIMIT {2 - priced % 2} OFFSET {(priced - 1) // 2}")
    middle = [float(price) for price, in ctx.rows("inventory", query)]
    return sum(middle) / len(middle)


@rule("quotas", "inventory.warehouses", "Exact warehouse count, never fewer than 5.")
def warehouse_quotas(ctx: RuleContext, found: Findings) -> None:
    rows = scalar(ctx, "inventory", "SELECT COUNT(*) FROM warehouses")
    found.count("rows", rows, ctx.plan.warehouses)
    found.kind("at_least_five")
    if rows < MIN_WAREHOUSES:
        found.add("at_least_five", f"{rows} warehouses, fewer than {MIN_WAREHOUSES}")


RULES = [employee_quotas, manager_tree, account_quotas, contact_quotas, product_quotas, warehouse_quotas]
