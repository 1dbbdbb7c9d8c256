"""A tier's concrete numbers: the scenario's staging volumes, mixes and quotas scaled to the tier."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import cached_property

from crm_mock.model.ddl import UuidStorage
from crm_mock.scenario.spec import (
    Collections, Commercial, Conversion, Inventory, Realism, Scenario, ScenarioError, Support, UuidLayout,
)

MIN_WAREHOUSES = 5
# the number of contacts Acme Corp has is the same in every tier; so is Acme itself (account 0)
ACME_ACCOUNT_INDEX = 0
ACME_NAME = "Acme Corp"


def scaled(count: int, scale: float, minimum: int = 1) -> int:
    """Round half up (not to even), never below ``minimum``."""
    return max(minimum, math.floor(count * scale + 0.5))


def apportion(total: int, shares: dict[str, float]) -> dict[str, int]:
    """Exact counts summing to ``total`` by largest remainder; every kind with a share keeps at least 1."""
    kinds = [k for k, share in shares.items() if share > 0]
    if total < len(kinds):
        raise ValueError(f"{total} rows cannot hold one of each of {kinds}")
    weight = sum(shares[k] for k in kinds)
    exact = {k: total * shares[k] / weight for k in kinds}
    counts = {k: max(1, math.floor(exact[k])) for k in kinds}
    by_remainder = sorted(kinds, key=lambda k: (-(exact[k] - math.floor(exact[k])), kinds.index(k)))
    i = 0
    while sum(counts.values()) < total:
        counts[by_remainder[i % len(kinds)]] += 1
        i += 1
    while sum(counts.values()) > total:  # only when minimums of 1 pushed it over
        largest = max(kinds, key=lambda k: (counts[k], -kinds.index(k)))
        counts[largest] -= 1
    return {k: counts.get(k, 0) for k in shares}


@dataclass(frozen=True)
class IdScheme:
    """What a tier's UUIDs derive from: the seed, and the RFC 9562 layout they are written in."""

    seed: int
    layout: UuidLayout


@dataclass(frozen=True)
class TierPlan:
    tier: str
    scale: float
    seed: int
    reference_date: dt.date
    block_rows: int
    employees: int
    accounts: int
    contacts: int
    products: int
    warehouses: int
    segment_counts: dict[str, int]
    product_type_counts: dict[str, int]
    country_shares: dict[str, float]
    industry_shares: dict[str, float]
    on_hold_accounts: int
    suspended_accounts: int
    discontinued_products: int
    zero_stock_products: int
    acme_contacts: int
    realism: Realism
    leads: int
    sales_orders: int
    tickets: int
    shipped_unpaid_orders: int
    backordered_orders: int
    credit_note_invoices: int
    history_months: int
    conversion: Conversion
    order_status_mix: dict[str, float]
    tax_rate_percent: dict[str, float]
    payment_method_limits: dict[str, float]
    collections: Collections
    commercial: Commercial
    support: Support
    inventory: Inventory
    edge_density: float
    drift_rows: int  # rows per kind of planted drift; 0 when drift injection is off
    contact_details: str  # "reserved" or "realistic" (see the scenario's contact_details)
    uuid_layout: UuidLayout
    sqlite_uuid_storage: UuidStorage

    @property
    def ids(self) -> IdScheme:
        return IdScheme(self.seed, self.uuid_layout)

    @property
    def stocked_products(self) -> int:
        return self.products - self.product_type_counts.get("SERVICE", 0)

    @cached_property
    def cache_key(self) -> str:
        """A stable identity for memoising per-plan work (the plan holds dicts, so it is not hashable). Kept: every
        memoised plan asks for it on every block, and the repr of a plan's dozens of fields costs microseconds."""
        return repr(self)

    @property
    def history_start(self) -> dt.date:
        """The first day of the transaction timeline (history_months before the reference date)."""
        return self.reference_date - dt.timedelta(days=round(self.history_months * 30.44))

    @property
    def reference_moment(self) -> dt.datetime:
        """The start (00:00 UTC) of the reference day: the data is the world as of that moment, so a refresh
        run early on the reference day shows nothing later than the night before."""
        return dt.datetime.combine(self.reference_date, dt.time())


def plan_tier(scenario: Scenario, tier: str) -> TierPlan:
    if tier not in scenario.tiers:
        raise ScenarioError(f"unknown tier {tier!r}; choose one of {sorted(scenario.tiers)}")
    scale = scenario.tiers[tier].scale
    vol, quotas, mixes = scenario.volumes, scenario.quotas, scenario.mixes
    where = f"at tier {tier} (scale {scale:g})"

    accounts = scaled(vol.accounts, scale)
    products = scaled(vol.products, scale)
    try:
        segments = apportion(accounts, mixes.account_segments)
    except ValueError as exc:
        raise ScenarioError(f"mixes.account_segments: {exc} {where}") from None
    try:
        product_types = apportion(products, mixes.product_types)
    except ValueError as exc:
        raise ScenarioError(f"mixes.product_types: {exc} {where}") from None

    plan = TierPlan(
        tier=tier, scale=scale, seed=scenario.seed, reference_date=scenario.reference_date,
        block_rows=scenario.block_rows,
        employees=scaled(vol.employees, scale), accounts=accounts,
        contacts=scaled(vol.contacts, scale), products=products,
        warehouses=scaled(vol.warehouses, scale, minimum=MIN_WAREHOUSES),
        segment_counts=segments, product_type_counts=product_types,
        country_shares=dict(mixes.account_countries),
        industry_shares=dict(mixes.account_industries),
        on_hold_accounts=scaled(quotas.held_accounts.on_hold, scale),
        suspended_accounts=scaled(quotas.held_accounts.suspended, scale),
        discontinued_products=scaled(quotas.unavailable_products.discontinued, scale),
        zero_stock_products=scaled(quotas.unavailable_products.zero_stock, scale),
        acme_contacts=quotas.acme_contacts,
        realism=scenario.realism,
        leads=scaled(vol.leads, scale),
        sales_orders=scaled(vol.sales_orders, scale),
        tickets=scaled(vol.tickets, scale),
        shipped_unpaid_orders=scaled(quotas.shipped_unpaid_orders, scale),
        backordered_orders=scaled(quotas.backordered_orders, scale),
        credit_note_invoices=scaled(quotas.credit_note_invoices, scale),
        history_months=scenario.transactions.history_months,
        conversion=scenario.transactions.conversion,
        order_status_mix=dict(scenario.transactions.order_status_mix),
        tax_rate_percent=dict(scenario.transactions.tax_rate_percent),
        payment_method_limits=dict(scenario.transactions.payment_method_limits),
        collections=scenario.transactions.collections,
        commercial=scenario.commercial,
        support=scenario.support,
        inventory=scenario.inventory,
        edge_density=scenario.edge_cases.density,
        drift_rows=scenario.drift.rows_per_kind if scenario.drift.enabled else 0,
        contact_details=scenario.contact_details,
        uuid_layout=scenario.ids.uuid_layout,
        sqlite_uuid_storage=scenario.ids.sqlite_uuid_storage,
    )
    _check_feasible(plan, where)
    return plan


def _check_feasible(plan: TierPlan, where: str) -> None:
    held = plan.on_hold_accounts + plan.suspended_accounts
    if held > plan.accounts - 1:
        raise ScenarioError(f"quotas.held_accounts: {held} held accounts need more than the "
                            f"{plan.accounts} accounts of volumes.accounts (Acme Corp stays ACTIVE) {where}")
    if plan.segment_counts.get("ENTERPRISE", 0) < 1:
        raise ScenarioError(f"mixes.account_segments: ENTERPRISE needs a share (Acme Corp is one) {where}")
    unavailable = plan.discontinued_products + plan.zero_stock_products
    if unavailable > plan.products:
        raise ScenarioError(f"quotas.unavailable_products: {unavailable} exceed the {plan.products} "
                            f"products of volumes.products {where}")
    if plan.zero_stock_products > plan.stocked_products:
        raise ScenarioError(f"quotas.unavailable_products.zero_stock: {plan.zero_stock_products} exceed the "
                            f"{plan.stocked_products} stocked (non-SERVICE) products {where}")
    quota_orders = plan.shipped_unpaid_orders + plan.backordered_orders
    if quota_orders > plan.sales_orders:
        raise ScenarioError(f"quotas: {quota_orders} SHIPPED/UNPAID and BACKORDERED orders exceed the "
                            f"{plan.sales_orders} orders of volumes.sales_orders {where}")
    delivered = (plan.sales_orders - quota_orders) * plan.order_status_mix.get("DELIVERED", 0) / 100
    if plan.credit_note_invoices > delivered // 2:
        raise ScenarioError(f"quotas.credit_note_invoices: {plan.credit_note_invoices} credit notes need more "
                            f"delivered orders than the scenario makes (~{delivered:.0f}) {where}")
    r = plan.realism
    small = plan.segment_counts.get("SMALL_BUSINESS", 0)
    mid = plan.segment_counts.get("MID_MARKET", 0)
    enterprise_others = plan.segment_counts.get("ENTERPRISE", 0) - 1
    needed = small + plan.acme_contacts + mid * r.contacts_min_mid_market + enterprise_others * r.contacts_min_enterprise
    if plan.contacts < needed:
        raise ScenarioError(f"volumes.contacts: {plan.contacts} contacts cannot cover the accounts' minimums "
                            f"({needed} needed) {where}")
    if plan.contacts > needed and mid + enterprise_others == 0:
        raise ScenarioError(f"volumes.contacts: {plan.contacts} contacts but only small businesses (1 each) "
                            f"and Acme Corp ({plan.acme_contacts}) to hold them {where}")
