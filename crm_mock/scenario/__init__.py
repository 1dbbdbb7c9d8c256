"""Scenario files (seed, reference date, tiers, volumes, mixes, quotas) and their per-tier plans."""

from crm_mock.scenario.plan import ACME_ACCOUNT_INDEX, ACME_NAME, IdScheme, TierPlan, plan_tier
from crm_mock.scenario.loading import load_scenario, parse_scenario, utc_today
from crm_mock.scenario.spec import DEFAULT_SCENARIO, TIERS, Scenario, ScenarioError

__all__ = [
    "ACME_ACCOUNT_INDEX", "ACME_NAME", "DEFAULT_SCENARIO", "TIERS", "IdScheme", "Scenario", "ScenarioError",
    "TierPlan", "load_scenario", "parse_scenario", "plan_tier", "utc_today",
]
