"""Jobs over the whole graph; both are partitioned by tier through their assets."""

import dagster as dg

MATERIALIZE_ALL = "materialize_all"

materialize_all = dg.define_asset_job(
    MATERIALIZE_ALL, selection=dg.AssetSelection.all(),
    description="Generate every table of a tier and load every service database.",
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[materialize_all])
