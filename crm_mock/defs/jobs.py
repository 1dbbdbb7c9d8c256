"""The job over the whole graph, partitioned by tier through its assets (the schedule and the CLI run it)."""

import dagster as dg

MATERIALIZE_ALL = "materialize_all"

materialize_all = dg.define_asset_job(
    MATERIALIZE_ALL, selection=dg.AssetSelection.all(),
    description="Generate every table of a tier, load every service database, run every check. Pick the tier "
                "as the partition. The stress tier needs the run tag crm_mock/confirm_tier=stress.",
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[materialize_all])
