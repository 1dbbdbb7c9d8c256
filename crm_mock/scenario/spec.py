"""The scenario file: seed, reference date, tiers, volumes, mixes and quotas, validated with pydantic.

A bad file is refused before anything is written, with a message that names the field.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crm_mock.model import vocabularies as v
from crm_mock.model.ddl import UuidStorage

DEFAULT_SCENARIO = Path(__file__).with_name("default.yaml")
TIERS = ("smoke", "staging", "load", "stress")

Count = Annotated[int, Field(ge=0)]
PositiveCount = Annotated[int, Field(ge=1)]
Percent = Annotated[float, Field(ge=0, le=100)]
ContactDetails = Literal["reserved", "realistic"]


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the offending field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tier(_Strict):
    scale: Annotated[float, Field(gt=0, description="volumes and quotas relative to staging")]


class Volumes(_Strict):
    """Row counts at the staging tier."""

    employees: PositiveCount = 50
    accounts: PositiveCount = 500
    contacts: PositiveCount = 2000
    products: PositiveCount = 1000
    warehouses: Annotated[int, Field(ge=5)] = 5
    leads: PositiveCount = 3000
    sales_orders: PositiveCount = 2000
    tickets: PositiveCount = 1500


DEFAULT_INDUSTRIES = {"MANUFACTURING": 16, "RETAIL": 12, "HEALTHCARE": 8, "FINANCIAL_SERVICES": 6, "TECHNOLOGY": 12,
                      "LOGISTICS": 10, "CONSTRUCTION": 10, "ENERGY": 5, "EDUCATION": 5, "HOSPITALITY": 7,
                      "AGRICULTURE": 5, "PUBLIC_SECTOR": 4}


class Mixes(_Strict):
    """Shares in percent; each mix must sum to 100."""

    account_segments: dict[str, Percent]
    product_types: dict[str, Percent]
    account_countries: dict[str, Percent]
    account_industries: dict[str, Percent] = Field(default_factory=lambda: dict(DEFAULT_INDUSTRIES), description=(
        "industries of the accounts; a company name that says its trade (Müller Logistik GmbH) says this one"))

    @model_validator(mode="after")
    def _check(self) -> "Mixes":
        vocabularies = {
            "account_segments": v.ACCOUNT_SEGMENT,
            "product_types": v.PRODUCT_TYPE,
            "account_countries": None,
            "account_industries": v.INDUSTRY,
        }
        for name, vocabulary in vocabularies.items():
            mix: dict[str, float] = getattr(self, name)
            if vocabulary is not None:
                unknown = sorted(set(mix) - set(vocabulary))
                if unknown:
                    raise ValueError(f"mixes.{name}: unknown code(s) {unknown}; allowed: {list(vocabulary)}")
            total = sum(mix.values())
            if abs(total - 100) > 1e-9:
                raise ValueError(f"mixes.{name}: shares sum to {total:g} %, not 100 %")
        unknown = sorted(set(self.account_countries) - set(v.LOCALES_BY_COUNTRY))
        if unknown:
            raise ValueError(f"mixes.account_countries: no address data for {unknown}; "
                             f"available: {sorted(v.LOCALES_BY_COUNTRY)}")
        return self


class HeldAccounts(_Strict):
    on_hold: PositiveCount = 3
    suspended: PositiveCount = 2


class UnavailableProducts(_Strict):
    discontinued: PositiveCount = 5
    zero_stock: PositiveCount = 5


class Quotas(_Strict):
    """Exact counts at the staging tier (the data contract's quotas)."""

    held_accounts: HeldAccounts = Field(HeldAccounts(), description=(
        "accounts ON_HOLD (exactly Finance's credit holds) and SUSPENDED (Contact's own), both present"))
    unavailable_products: UnavailableProducts = Field(UnavailableProducts(), description=(
        "products DISCONTINUED, and stocked products with no stock in any warehouse that holds them"))
    acme_contacts: Annotated[int, Field(ge=1, description=(
        "contacts of Acme Corp (an ENTERPRISE account), the same in every tier"))] = 5
    shipped_unpaid_orders: Annotated[int, Field(ge=1, description="SHIPPED orders whose invoice is UNPAID")] = 100
    backordered_orders: Annotated[int, Field(ge=1, description=(
        "BACKORDERED orders, each with a line for a zero-stock product; no other order has one"))] = 50
    credit_note_invoices: Annotated[int, Field(ge=1, description=(
        "invoices with at least one negative (credit/return) line"))] = 10


Share = Annotated[float, Field(gt=0, le=1)]
ORDER_MIX_CODES = ("PENDING", "CONFIRMED", "SHIPPED", "DELIVERED", "CANCELLED")


class Conversion(_Strict):
    """The sales funnel, as shares between 0 and 1."""

    lead_to_opportunity: Share = 0.25
    opportunity_to_quote: Share = 0.8
    quote_to_order: Share = 0.6
    orders_from_quotes: Annotated[float, Field(ge=0, le=1)] = 0.7


DEFAULT_CURRENCIES = {"US": "USD", "GB": "GBP", "DE": "EUR", "FR": "EUR", "CA": "CAD", "JP": "JPY", "IN": "INR",
                      "BR": "BRL", "AU": "AUD", "ES": "EUR", "IT": "EUR", "NL": "EUR", "MX": "MXN", "PL": "PLN",
                      "SE": "SEK"}
DEFAULT_RATES = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "CAD": 1.36, "JPY": 150.0, "INR": 83.0, "BRL": 5.0,
                 "AUD": 1.52, "MXN": 17.0, "PLN": 4.0, "SEK": 10.5}
DEFAULT_PROBABILITY = {"PROSPECTING": 10, "QUALIFICATION": 20, "PROPOSAL": 50, "NEGOTIATION": 75, "CLOSED_WON": 100,
                       "CLOSED_LOST": 0}
Days = Annotated[int, Field(ge=0, le=3650)]


class DayRange(_Strict):
    min: Days
    max: Days

    @model_validator(mode="after")
    def _check(self) -> "DayRange":
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min})")
        return self


class Commercial(_Strict):
    """Currencies, prices and the sales funnel's pace."""

    base_currency: str = Field(default="USD", description="the currency of product costs and list prices")
    currency_by_country: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_CURRENCIES), description=(
        "ISO 4217 currency of each country's accounts; their quotes, orders, invoices and payments use it"))
    exchange_rates: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=lambda: dict(DEFAULT_RATES),
                                                                     description="units of each currency per unit of the base currency")
    min_order_value: Annotated[float, Field(ge=0, description="smallest order, in the base currency")] = 100.0
    stage_probability: dict[str, Annotated[int, Field(ge=0, le=100)]] = Field(
        default_factory=lambda: dict(DEFAULT_PROBABILITY), description="opportunity win probability (%) by stage")
    quote_validity_days: list[Annotated[int, Field(ge=1, le=365)]] = Field(
        default_factory=lambda: [14, 30, 45, 60, 90], min_length=1, description="how long quotes stay valid")
    lead_conversion_days: DayRange = Field(DayRange(min=3, max=45), description=(
        "days from a lead's creation to the opportunity it converts into"))

    @model_validator(mode="after")
    def _check(self) -> "Commercial":
        unknown = sorted({self.base_currency, *self.currency_by_country.values()} - set(v.CURRENCY))
        if unknown:
            raise ValueError(f"commercial.currency_by_country: unknown ISO 4217 code(s) {unknown}; "
                             f"allowed: {list(v.CURRENCY)}")
        missing = sorted({self.base_currency, *self.currency_by_country.values()} - set(self.exchange_rates))
        if missing:
            raise ValueError(f"commercial.exchange_rates: no rate for {missing}")
        if abs(self.exchange_rates[self.base_currency] - 1) > 1e-12:
            raise ValueError(f"commercial.exchange_rates: the base currency {self.base_currency} must be 1")
        stages = set(v.OPPORTUNITY_STAGE)
        if set(self.stage_probability) != stages:
            raise ValueError(f"commercial.stage_probability: give every stage {sorted(stages)} "
                             f"(missing {sorted(stages - set(self.stage_probability))}, "
                             f"unknown {sorted(set(self.stage_probability) - stages)})")
        if self.stage_probability["CLOSED_WON"] != 100 or self.stage_probability["CLOSED_LOST"] != 0:
            raise ValueError("commercial.stage_probability: CLOSED_WON is 100 and CLOSED_LOST is 0")
        return self


class Collections(_Strict):
    """What happens to invoices nobody pays: dunning, collections, write-off."""

    after_days_past_due: Annotated[int, Field(ge=1, le=720, description=(
        "days past due when an unpaid invoice goes to collections"))] = 60
    recovered_share: Annotated[float, Field(ge=0, le=1, description=(
        "share of collection cases paid in full (late); the rest is written off"))] = 0.7
    write_off_after_days_past_due: Annotated[int, Field(ge=1, le=720, description=(
        "days past due when what collections could not recover is written off (method WRITE_OFF)"))] = 150

    @model_validator(mode="after")
    def _check(self) -> "Collections":
        if self.write_off_after_days_past_due <= self.after_days_past_due:
            raise ValueError("transactions.collections.write_off_after_days_past_due must exceed after_days_past_due")
        return self


class Transactions(_Strict):
    history_months: Annotated[int, Field(ge=1, le=120, description="the timeline ends at the reference date")] = 18
    conversion: Conversion = Conversion()
    order_status_mix: dict[str, Percent] = Field(
        default_factory=lambda: {"PENDING": 1.5, "CONFIRMED": 2.5, "SHIPPED": 1.0, "DELIVERED": 91.0,
                                 "CANCELLED": 4.0},
        description="orders outside the quotas (the quotas add SHIPPED/UNPAID and BACKORDERED orders)")
    tax_rate_percent: dict[str, Annotated[float, Field(ge=0, le=50)]] = Field(default_factory=lambda: {
        "US": 7.0, "GB": 20.0, "DE": 19.0, "FR": 20.0, "CA": 13.0, "JP": 10.0, "IN": 18.0, "BR": 17.0,
        "AU": 10.0, "ES": 21.0, "IT": 22.0, "NL": 21.0, "MX": 16.0, "PL": 23.0, "SE": 25.0})
    payment_method_limits: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: {"CARD": 10_000.0, "CHECK": 50_000.0, "DIRECT_DEBIT": 100_000.0}, description=(
            "largest payment (base currency) each method takes; larger amounts come by BANK_TRANSFER"))
    collections: Collections = Collections()

    @model_validator(mode="after")
    def _check(self) -> "Transactions":
        unknown = sorted(set(self.order_status_mix) - set(ORDER_MIX_CODES))
        if unknown:
            raise ValueError(f"transactions.order_status_mix: unknown code(s) {unknown}; allowed: {list(ORDER_MIX_CODES)}")
        total = sum(self.order_status_mix.values())
        if abs(total - 100) > 1e-9:
            raise ValueError(f"transactions.order_status_mix: shares sum to {total:g} %, not 100 %")
        if self.order_status_mix.get("DELIVERED", 0) <= 0:
            raise ValueError("transactions.order_status_mix: DELIVERED needs a share (credit notes are on delivered orders)")
        unknown = sorted(set(self.payment_method_limits) - set(v.PAYMENT_METHOD) | ({"BANK_TRANSFER", "WRITE_OFF"}
                                                                                   & set(self.payment_method_limits)))
        if unknown:
            raise ValueError(f"transactions.payment_method_limits: {unknown} take no limit; limit any of "
                             f"CARD, CHECK, DIRECT_DEBIT")
        return self


class Support(_Strict):
    """How the support desk works through its tickets."""

    close_after_days: Annotated[int, Field(ge=0, le=90, description="resolved tickets are closed this many days later")] = 14
    max_open_days: Annotated[int, Field(ge=1, le=365, description="no ticket stays unresolved longer")] = 60
    waiting_on_customer_share: Annotated[float, Field(ge=0, le=1, description=(
        "share of open, answered tickets PENDING on the customer (the rest OPEN)"))] = 0.35


class Inventory(_Strict):
    replenishment_cover_days: Annotated[int, Field(ge=1, le=365, description=(
        "a replenishment receipt brings in about this many days of the stock row's demand"))] = 45


class Realism(_Strict):
    closed_account_share: Annotated[float, Field(ge=0, le=0.5)] = 0.02
    contacts_min_mid_market: PositiveCount = 2
    contacts_min_enterprise: PositiveCount = 4
    enterprise_contact_weight: Annotated[float, Field(gt=0)] = 4.0
    account_history_years: Annotated[int, Field(ge=1, le=30)] = 6
    employee_history_years: Annotated[int, Field(ge=2, le=40, description=(
        "how far back hires go; must exceed account_history_years (someone owned the first accounts)"))] = 12
    span_of_control: Annotated[int, Field(ge=2, le=50, description="reports per manager in a department")] = 7

    @model_validator(mode="after")
    def _check(self) -> "Realism":
        if self.employee_history_years <= self.account_history_years:
            raise ValueError("realism.employee_history_years must exceed account_history_years: the first "
                             "accounts had owners hired before them")
        return self


class EdgeCases(_Strict):
    density: Annotated[float, Field(ge=0, le=1000, description=(
        "rows planted per edge case; 0 turns planting off (the Part A quotas and golden scenarios stay)"))] = 1.0


class Drift(_Strict):
    enabled: bool = Field(default=False, description="plant replica drift on purpose when loading")
    rows_per_kind: PositiveCount = 1


UuidLayout = Literal["v4", "v8"]


class Ids(_Strict):
    """How ids are written: the UUID layout (part of the data) and how SQLite stores them (not: the same
    rows whatever the storage)."""

    uuid_layout: UuidLayout = Field(default="v4", description=(
        "RFC 9562 version the deterministic ids are laid out as: v4 passes UUID4 validators, v8 is the "
        "first crm_mock layout; part of the data, so changing it changes every id"))
    sqlite_uuid_storage: UuidStorage = Field(default=UuidStorage.TEXT, description=(
        "how SQLite stores UUIDs: text (36 characters), hex (32 digits, what Django's UUIDField and "
        "SQLAlchemy's Uuid read) or blob (16 bytes); PostgreSQL always uses uuid"))


class Scenario(_Strict):
    seed: Annotated[int, Field(ge=0, lt=2**63)]
    reference_date: dt.date = Field(description=(
        "the day the data is current on: a date, or `today` (resolved when the scenario is loaded)"))
    block_rows: Annotated[int, Field(ge=16, le=1_000_000, description=(
        "rows per randomness block; part of the randomness key, so changing it changes the data"))] = 10_000
    tiers: dict[str, Tier]
    volumes: Volumes = Volumes()
    mixes: Mixes
    quotas: Quotas = Quotas()
    realism: Realism = Realism()
    transactions: Transactions = Transactions()
    commercial: Commercial = Commercial()
    support: Support = Support()
    inventory: Inventory = Inventory()
    edge_cases: EdgeCases = EdgeCases()
    drift: Drift = Drift()
    contact_details: ContactDetails = Field(default="reserved", description=(
        "reserved: e-mail and web domains under .example and phones from the ranges set aside for fiction, "
        "so nothing generated reaches a real person; realistic: real-looking domains and ordinary numbers"))
    ids: Ids = Ids()

    @model_validator(mode="after")
    def _check_tiers(self) -> "Scenario":
        missing = [t for t in TIERS if t not in self.tiers]
        extra = [t for t in self.tiers if t not in TIERS]
        if missing or extra:
            raise ValueError(f"tiers: must be exactly {list(TIERS)} (missing {missing}, unknown {extra})")
        missing_tax = sorted(set(self.mixes.account_countries) - set(self.transactions.tax_rate_percent))
        if missing_tax:
            raise ValueError(f"transactions.tax_rate_percent: no rate for countries {missing_tax}")
        missing_currency = sorted(set(self.mixes.account_countries) - set(self.commercial.currency_by_country))
        if missing_currency:
            raise ValueError(f"commercial.currency_by_country: no currency for countries {missing_currency}")
        return self
