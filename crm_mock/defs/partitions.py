"""The `tier` partitions every asset carries."""

import dagster as dg

from crm_mock.scenario import TIERS

TIER_PARTITIONS = dg.StaticPartitionsDefinition(list(TIERS))
