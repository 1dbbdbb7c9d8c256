"""Jobs over the whole graph; both are partitioned by tier through their assets."""

import dagster as dg
import pyarrow as pa

MATERIALIZE_ALL = "materialize_all"


@dg.success_hook
def release_memory(context: dg.HookContext) -> None:
    """Steps share one process under the in-process executor: hand freed Arrow buffers back after each,
    so the peak is the largest step, not the sum of them. (No gc.collect: with Dagster loaded a full
    collection costs ~0.3 s a step, and the tables are freed by reference counting.)"""
    pa.default_memory_pool().release_unused()


materialize_all = dg.define_asset_job(
    MATERIALIZE_ALL, selection=dg.AssetSelection.all(), hooks={release_memory},
    description="Generate every table of a tier and load every service database.",
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[materialize_all])
