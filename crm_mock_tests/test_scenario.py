"""The scenario file and its per-tier plans (`crm_mock.scenario`), without Dagster.

The staging numbers asserted here are Part A's contract; the other tiers are checked against them
through the scale Part A gives each tier (~1/10, 100×, 1000×).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import pydantic
import pytest
import yaml
from hypothesis import assume, given
from hypothesis import strategies as st

from crm_mock.scenario import (
    DEFAULT_SCENARIO, TIERS, Scenario, ScenarioError, TierPlan, load_scenario, parse_scenario, plan_tier,
)
from crm_mock.scenario.plan import apportion, scaled

# --- Part A ---------------------------------------------------------------------------------------------------------

STAGING_VOLUMES = {"employees": 50, "accounts": 500, "contacts": 2000, "products": 1000, "warehouses": 5,
                   "sales_orders": 2000, "tickets": 1500}
STAGING_QUOTAS = {"on_hold_accounts": 3, "suspended_accounts": 2, "discontinued_products": 5,
                  "zero_stock_products": 5, "shipped_unpaid_orders": 100, "backordered_orders": 50,
                  "credit_note_invoices": 10}
STAGING_PRODUCT_TYPES = {"FINISHED_GOOD": 700, "RAW_MATERIAL": 200, "SERVICE": 100}
ACME_CONTACTS = 5
MIN_WAREHOUSES = 5
# the quotas Part A splits between two kinds, each of which must stay present
SPLIT_QUOTAS = (("on_hold_accounts", "suspended_accounts"), ("discontinued_products", "zero_stock_products"))
TIER_SCALE = {"staging": 1, "load": 100, "stress": 1000}  # smoke is "~1/10", checked apart


def default_data() -> dict:
    """The bundled default scenario as plain data, to be modified into bad scenarios."""
    return yaml.safe_load(DEFAULT_SCENARIO.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario()


@pytest.fixture(scope="module")
def plans(scenario: Scenario) -> dict[str, TierPlan]:
    return {tier: plan_tier(scenario, tier) for tier in TIERS}


# --- the default scenario ---------------------------------------------------------------------------------------------


def test_default_scenario_loads(scenario: Scenario):
    assert isinstance(scenario, Scenario)
    assert set(scenario.tiers) == set(TIERS) == {"smoke", "staging", "load", "stress"}
    assert load_scenario(DEFAULT_SCENARIO) == scenario  # None means the bundled file
    assert parse_scenario(default_data()) == scenario


def test_default_scenario_is_frozen(scenario: Scenario):
    with pytest.raises(pydantic.ValidationError):
        scenario.seed = 1  # type: ignore[misc]


def test_staging_plan_is_exactly_part_a(plans: dict[str, TierPlan]):
    staging = plans["staging"]
    assert staging.scale == 1
    for name, expected in {**STAGING_VOLUMES, **STAGING_QUOTAS}.items():
        assert getattr(staging, name) == expected, name
    assert staging.product_type_counts == STAGING_PRODUCT_TYPES
    assert staging.stocked_products == STAGING_PRODUCT_TYPES["FINISHED_GOOD"] + STAGING_PRODUCT_TYPES["RAW_MATERIAL"]
    assert staging.acme_contacts == ACME_CONTACTS
    assert sum(staging.segment_counts.values()) == staging.accounts
    assert set(staging.segment_counts) == {"SMALL_BUSINESS", "MID_MARKET", "ENTERPRISE"}
    assert all(n >= 1 for n in staging.segment_counts.values())


def test_plans_carry_the_scenario_seed_and_reference_date(scenario: Scenario, plans: dict[str, TierPlan]):
    for tier, plan in plans.items():
        assert plan.tier == tier
        assert plan.seed == scenario.seed
        assert plan.reference_date == scenario.reference_date
        assert plan.block_rows == scenario.block_rows
        assert plan.history_start < plan.reference_date
        assert plan.reference_moment.date() == plan.reference_date


def test_smoke_is_about_a_tenth_of_staging(plans: dict[str, TierPlan]):
    smoke, staging = plans["smoke"], plans["staging"]
    assert math.isclose(smoke.scale, 0.1)
    for name, staging_count in STAGING_VOLUMES.items():
        if name == "warehouses":
            continue
        assert abs(getattr(smoke, name) - staging_count / 10) <= 1, name
    assert smoke.accounts < staging.accounts and smoke.contacts < staging.contacts
    for kind, staging_count in STAGING_PRODUCT_TYPES.items():
        assert abs(smoke.product_type_counts[kind] - staging_count / 10) <= 1, kind
    assert sum(smoke.product_type_counts.values()) == smoke.products
    assert sum(smoke.segment_counts.values()) == smoke.accounts


def test_smoke_keeps_every_quota(plans: dict[str, TierPlan]):
    smoke = plans["smoke"]
    for name, staging_count in STAGING_QUOTAS.items():
        count = getattr(smoke, name)
        assert count >= 1, name
        assert count <= staging_count, name
        assert abs(count - staging_count / 10) <= 1, name
    for first, second in SPLIT_QUOTAS:  # both kinds of a split quota are present
        assert getattr(smoke, first) >= 1 and getattr(smoke, second) >= 1
    assert all(n >= 1 for n in smoke.product_type_counts.values())
    assert all(n >= 1 for n in smoke.segment_counts.values())
    assert smoke.acme_contacts == ACME_CONTACTS  # the same in every tier


@pytest.mark.parametrize("tier", sorted(TIER_SCALE))
def test_larger_tiers_scale_staging_exactly(plans: dict[str, TierPlan], tier: str):
    plan, factor = plans[tier], TIER_SCALE[tier]
    assert plan.scale == factor
    for name, staging_count in {**STAGING_VOLUMES, **STAGING_QUOTAS}.items():
        assert getattr(plan, name) == staging_count * factor, name
    assert plan.product_type_counts == {k: n * factor for k, n in STAGING_PRODUCT_TYPES.items()}
    assert plan.acme_contacts == ACME_CONTACTS


@pytest.mark.parametrize("tier", TIERS)
def test_warehouses_never_below_five(plans: dict[str, TierPlan], tier: str):
    assert plans[tier].warehouses >= MIN_WAREHOUSES


def test_warehouses_stay_at_five_when_the_tier_shrinks():
    data = default_data()
    data["tiers"]["smoke"]["scale"] = 0.02
    plan = plan_tier(parse_scenario(data), "smoke")
    assert plan.warehouses == MIN_WAREHOUSES
    assert plan.accounts == scaled(STAGING_VOLUMES["accounts"], 0.02)
    for name in STAGING_QUOTAS:
        assert getattr(plan, name) >= 1, name


def test_unknown_tier_is_refused(scenario: Scenario):
    with pytest.raises(ScenarioError, match="unknown tier"):
        plan_tier(scenario, "production")


def test_tier_plan_is_frozen(plans: dict[str, TierPlan]):
    with pytest.raises(dataclasses.FrozenInstanceError):
        plans["staging"].seed = 1  # type: ignore[misc]


def test_scenario_overrides_reach_the_plan():
    data = default_data()
    data["volumes"]["accounts"] = 800
    data["volumes"]["warehouses"] = 7
    data["quotas"]["held_accounts"] = {"on_hold": 4, "suspended": 6}
    data["seed"] = 7
    staging = plan_tier(parse_scenario(data), "staging")
    assert (staging.accounts, staging.warehouses, staging.seed) == (800, 7, 7)
    assert (staging.on_hold_accounts, staging.suspended_accounts) == (4, 6)


def test_ids_settings_reach_the_plan(plans: dict[str, TierPlan]):
    assert (plans["staging"].uuid_layout, plans["staging"].sqlite_uuid_storage) == ("v4", "text")
    assert plans["staging"].ids.layout == "v4"
    data = default_data()
    data["ids"] = {"uuid_layout": "v8", "sqlite_uuid_storage": "hex"}
    staging = plan_tier(parse_scenario(data), "staging")
    assert (staging.ids.seed, staging.ids.layout, staging.sqlite_uuid_storage) == (staging.seed, "v8", "hex")
    del data["ids"]  # the section is optional
    assert plan_tier(parse_scenario(data), "staging").ids == plans["staging"].ids


# --- scaled and apportion -------------------------------------------------------------------------------------------


def test_scaled_rounds_half_up_and_keeps_a_minimum():
    assert scaled(5, 0.1) == 1  # 0.5 rounds up, not to even
    assert scaled(15, 0.1) == 2
    assert scaled(3, 0.1) == 1  # never below 1
    assert scaled(2, 0.1) == 1
    assert scaled(5, 0.1, minimum=5) == 5


@given(count=st.integers(0, 10**7), scale=st.floats(0.001, 1000), minimum=st.integers(0, 10))
def test_scaled_is_the_nearest_count_not_below_the_minimum(count: int, scale: float, minimum: int):
    result = scaled(count, scale, minimum)
    assert result >= minimum
    if result > minimum:
        assert abs(result - count * scale) <= 0.5 + 1e-6


shares_strategy = st.dictionaries(
    st.sampled_from(["A", "B", "C", "D", "E", "F"]),
    st.one_of(st.just(0.0), st.floats(0.001, 100), st.integers(1, 100).map(float)),
    min_size=1, max_size=6,
)


@given(shares=shares_strategy, total=st.integers(0, 10**6))
def test_apportion_sums_exactly_and_keeps_every_kind(shares: dict[str, float], total: int):
    kinds = [k for k, share in shares.items() if share > 0]
    assume(kinds and total >= len(kinds))
    counts = apportion(total, shares)
    assert list(counts) == list(shares)
    assert sum(counts.values()) == total
    assert all(counts[k] >= 1 for k in kinds)
    assert all(counts[k] == 0 for k in shares if shares[k] == 0)
    weight = sum(shares[k] for k in kinds)
    exact = {k: total * shares[k] / weight for k in kinds}
    if all(e >= 1 for e in exact.values()):  # no minimum pushed anything: largest remainder is within 1
        assert all(abs(counts[k] - exact[k]) < 1 + 1e-9 for k in kinds)


@given(shares=shares_strategy, data=st.data())
def test_apportion_refuses_fewer_rows_than_kinds(shares: dict[str, float], data: st.DataObject):
    kinds = [k for k, share in shares.items() if share > 0]
    assume(len(kinds) >= 2)
    total = data.draw(st.integers(0, len(kinds) - 1))
    with pytest.raises(ValueError):
        apportion(total, shares)


def test_apportion_of_the_default_mixes_is_exact():
    assert apportion(1000, {"FINISHED_GOOD": 70, "RAW_MATERIAL": 20, "SERVICE": 10}) == STAGING_PRODUCT_TYPES
    assert apportion(3, {"X": 98, "Y": 1, "Z": 1}) == {"X": 1, "Y": 1, "Z": 1}


# --- validation: a bad scenario is refused with a message that names the field -----------------------------------


def _set(*path_and_value) -> Callable[[dict], None]:
    *path, value = path_and_value

    def change(data: dict) -> None:
        target = data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return change


def _delete(*path: str) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        target = data
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]
    return change


BAD_SCENARIOS: dict[str, tuple[Callable[[dict], None], str]] = {
    "unknown top-level key": (_set("colour", "blue"), "colour"),
    "unknown nested key": (_set("volumes", "acounts", 500), "volumes.acounts"),
    "unknown deeply nested key": (_set("quotas", "held_accounts", "frozen", 1), "quotas.held_accounts.frozen"),
    "negative count": (_set("volumes", "accounts", -1), "volumes.accounts"),
    "negative quota": (_set("quotas", "held_accounts", "on_hold", -3), "quotas.held_accounts.on_hold"),
    "count not a number": (_set("volumes", "contacts", "many"), "volumes.contacts"),
    "too few warehouses": (_set("volumes", "warehouses", 4), "volumes.warehouses"),
    "held quota larger than the accounts": (_set("quotas", "held_accounts", "on_hold", 600), "quotas.held_accounts"),
    "unavailable quota larger than the products": (
        _set("quotas", "unavailable_products", "discontinued", 2000), "quotas.unavailable_products"),
    "product mix not summing to 100": (_set("mixes", "product_types", "FINISHED_GOOD", 60), "mixes.product_types"),
    "segment mix not summing to 100": (
        _set("mixes", "account_segments", "SMALL_BUSINESS", 90), "mixes.account_segments"),
    "unknown product type in a mix": (_set("mixes", "product_types", "GADGET", 0), "mixes.product_types"),
    "unknown segment in a mix": (_set("mixes", "account_segments", "GOVERNMENT", 0), "mixes.account_segments"),
    "unknown country in a mix": (
        lambda d: d["mixes"]["account_countries"].update({"ZZ": d["mixes"]["account_countries"].pop("SE")}),
        "mixes.account_countries"),
    "impossible date": (_set("reference_date", "2026-02-30"), "reference_date"),
    "not a date": (_set("reference_date", "end of June"), "reference_date"),
    "missing tier": (_delete("tiers", "load"), "tiers"),
    "unknown tier": (_set("tiers", "production", {"scale": 5}), "tiers"),
    "no tiers": (_delete("tiers"), "tiers"),
    "zero scale": (_set("tiers", "smoke", "scale", 0), "tiers.smoke.scale"),
    "missing seed": (_delete("seed"), "seed"),
    "unknown uuid layout": (_set("ids", "uuid_layout", "v7"), "ids.uuid_layout"),
    "unknown sqlite uuid storage": (_set("ids", "sqlite_uuid_storage", "binary"), "ids.sqlite_uuid_storage"),
}


@pytest.mark.parametrize("case", sorted(BAD_SCENARIOS))
def test_bad_scenario_is_refused_naming_the_field(case: str):
    change, field = BAD_SCENARIOS[case]
    data = default_data()
    change(data)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data)
    assert field in str(caught.value), str(caught.value)


def test_the_unmodified_data_is_valid():
    """The bad-scenario cases above fail because of their change, not because the base is bad."""
    parse_scenario(copy.deepcopy(default_data()))


@pytest.mark.parametrize("case", ["negative count", "unknown nested key", "product mix not summing to 100",
                                  "held quota larger than the accounts", "missing tier", "not a date"])
def test_bad_scenario_file_is_refused_naming_file_and_field(tmp_path: Path, case: str):
    change, field = BAD_SCENARIOS[case]
    data = default_data()
    change(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert field in str(caught.value)
    assert str(path) in str(caught.value)


def test_modified_scenario_file_loads(tmp_path: Path):
    data = default_data()
    data["volumes"]["employees"] = 60
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert plan_tier(load_scenario(path), "staging").employees == 60
    assert plan_tier(load_scenario(str(path)), "staging").employees == 60


def test_impossible_date_in_a_file_is_refused_naming_the_field(tmp_path: Path):
    text = DEFAULT_SCENARIO.read_text(encoding="utf-8")
    assert "reference_date: today" in text
    path = tmp_path / "bad_date.yaml"
    path.write_text(text.replace("reference_date: today", "reference_date: 2026-02-30"), encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert "reference_date" in str(caught.value)


def test_missing_file_is_refused(tmp_path: Path):
    path = tmp_path / "nowhere" / "scenario.yaml"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert "not found" in str(caught.value) and str(path) in str(caught.value)


def test_directory_is_refused(tmp_path: Path):
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario(tmp_path)


@pytest.mark.parametrize("text", ["seed: [1, 2\n", "seed: 1\n  bad indent: {\n", "tiers: {smoke: {scale: 0.1}\n"])
def test_invalid_yaml_is_refused(tmp_path: Path, text: str):
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert "YAML" in str(caught.value) and str(path) in str(caught.value)


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just a string\n"])
def test_yaml_that_is_not_a_mapping_is_refused(tmp_path: Path, text: str):
    path = tmp_path / "odd.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError):
        load_scenario(path)
