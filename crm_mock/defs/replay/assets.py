"""`replay/plan`: one row per business event of a tier, in causal order, with its idempotency key."""

import dagster as dg

from crm_mock.defs.partitions import TIER_PARTITIONS
from crm_mock.defs.resources import StorageResource
from crm_mock.replay.plan import PLAN_KEY, build_plan, source_assets, write_plan


@dg.asset(
    key=list(PLAN_KEY), group_name="replay", partitions_def=TIER_PARTITIONS, kinds={"parquet"},
    deps=[dg.AssetKey(list(key)) for key in source_assets()],
    description="The tier's business history as events to replay against a running system: drive events "
                "(user actions) and expect events (what the system's pipeline must produce), in causal order, "
                "each with uuid5(plan hash / event / key) as its idempotency key.",
)
def replay_plan(context: dg.AssetExecutionContext, storage: StorageResource) -> dg.MaterializeResult:
    store = storage.store()
    plan = build_plan(store, context.partition_key)
    write_plan(store, plan)
    counts = "\n".join(["| event | events |", "|---|---:|", *(f"| {e} | {n:,} |" for e, n in plan.counts().items())])
    return dg.MaterializeResult(metadata={
        "dagster/row_count": plan.size,
        "plan_hash": plan.plan_hash,
        **{f"{kind}_events": n for kind, n in plan.kinds().items()},
        "events_by_type": dg.MetadataValue.md(counts),
        "dagster/uri": dg.MetadataValue.path(str(store.path(plan.tier, *PLAN_KEY))),
    })


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[replay_plan])
