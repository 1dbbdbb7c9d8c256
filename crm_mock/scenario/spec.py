"""The scenario file: seed, reference date, tiers, volumes, mixes and quotas, validated with pydantic.

A bad file is refused before anything is written, with a message that names the field.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crm_mock.model import vocabularies as v

DEFAULT_SCENARIO = Path(__file__).with_name("default.yaml")
TIERS = ("smoke", "staging", "load", "stress")

Count = Annotated[int, Field(ge=0)]
PositiveCount = Annotated[int, Field(ge=1)]
Percent = Annotated[float, Field(ge=0, le=100)]


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


class Mixes(_Strict):
    """Shares in percent; each mix must sum to 100."""

    account_segments: dict[str, Percent]
    product_types: dict[str, Percent]
    account_countries: dict[str, Percent]

    @model_validator(mode="after")
    def _check(self) -> "Mixes":
        vocabularies = {
            "account_segments": v.ACCOUNT_SEGMENT,
            "product_types": v.PRODUCT_TYPE,
            "account_countries": None,
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
        from crm_mock.generate.pools import LOCALES_BY_COUNTRY

        unknown = sorted(set(self.account_countries) - set(LOCALES_BY_COUNTRY))
        if unknown:
            raise ValueError(f"mixes.account_countries: no address data for {unknown}; "
                             f"available: {sorted(LOCALES_BY_COUNTRY)}")
        return self


class HeldAccounts(_Strict):
    on_hold: PositiveCount = 3
    suspended: PositiveCount = 2


class UnavailableProducts(_Strict):
    discontinued: PositiveCount = 5
    zero_stock: PositiveCount = 5


class Quotas(_Strict):
    """Exact counts at the staging tier (Part A)."""

    held_accounts: HeldAccounts = HeldAccounts()
    unavailable_products: UnavailableProducts = UnavailableProducts()
    acme_contacts: Annotated[int, Field(ge=1, description="contacts of Acme Corp, in every tier")] = 5


class Realism(_Strict):
    closed_account_share: Annotated[float, Field(ge=0, le=0.5)] = 0.02
    contacts_min_mid_market: PositiveCount = 2
    contacts_min_enterprise: PositiveCount = 4
    enterprise_contact_weight: Annotated[float, Field(gt=0)] = 4.0
    account_history_years: Annotated[int, Field(ge=1, le=30)] = 6
    employee_history_years: Annotated[int, Field(ge=1, le=40)] = 12


class Scenario(_Strict):
    seed: Annotated[int, Field(ge=0, lt=2**63)]
    reference_date: dt.date
    block_rows: Annotated[int, Field(ge=16, le=1_000_000, description=(
        "rows per randomness block; part of the randomness key, so changing it changes the data"))] = 10_000
    tiers: dict[str, Tier]
    volumes: Volumes = Volumes()
    mixes: Mixes
    quotas: Quotas = Quotas()
    realism: Realism = Realism()

    @model_validator(mode="after")
    def _check_tiers(self) -> "Scenario":
        missing = [t for t in TIERS if t not in self.tiers]
        extra = [t for t in self.tiers if t not in TIERS]
        if missing or extra:
            raise ValueError(f"tiers: must be exactly {list(TIERS)} (missing {missing}, unknown {extra})")
        from crm_mock.scenario.plan import plan_tier

        for name in TIERS:
            plan_tier(self, name)  # raises ScenarioError naming the field
        return self


def _location(error: dict) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(top level)"


def parse_scenario(data: object, source: str = "<scenario>") -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            lines.append(f"  {_location(error)}: {message}")
        raise ScenarioError(f"invalid scenario {source}:\n" + "\n".join(lines)) from None


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Load and validate a scenario file (the bundled default when ``path`` is None)."""
    path = Path(path) if path else DEFAULT_SCENARIO
    if not path.is_file():
        raise ScenarioError(f"scenario file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"invalid scenario {path}: not valid YAML ({exc})") from None
    return parse_scenario(data, str(path))
