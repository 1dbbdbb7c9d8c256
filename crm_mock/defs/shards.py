"""Big tables generated in shards that Dagster runs as separate steps, so a multiprocess or Celery run spreads
one table over every core or worker.

A sharded table is a graph-backed asset: shard k of K streams its range of the generator's blocks into a part
file (Arrow IPC), and a join step streams the parts, in shard order, into the table's one Parquet file. Every
block depends only on its index and the row groups are cut the same way, so the file is byte for byte the
single-shot one. The table's build checks run in a step of their own after the join (they read the store, not
the shards).

Shards draw from the tier's plan only, never from upstream tables, so they start as soon as the run does and
run side by side with the steps of other tables; the join waits for the upstream tables (and their blocking
checks), so a table still materialises after what it depends on, and not at all when one of those failed.

K comes from the deployment (CRM_MOCK_SHARDS, see `shard_count`): with one shard a table is the plain
one-step asset of `generated.py`.
"""

import shutil

import dagster as dg
import pyarrow as pa

from crm_mock.defs.check_registry import checks_of
from crm_mock.defs.checks import later_checks
from crm_mock.defs.generated import generated_table_deps, stream_into_store, streamed_metadata
from crm_mock.defs.metadata import definition_metadata, table_spec
from crm_mock.defs.partitions import TIER_PARTITIONS
from crm_mock.defs.progress import step_tracker
from crm_mock.defs.resources import ScenarioResource, StorageResource
from crm_mock.generate import GENERATORS
from crm_mock.generate.memo import release_plans
from crm_mock.generate.progress import active, phase
from crm_mock.model import CATALOG, Table
from crm_mock.model.ddl import arrow_schema
from crm_mock.sinks.parquet import TableStore, part_batch_count, part_batches


def shard_blocks(count: int, shard: int, shards: int) -> range:
    """The blocks of shard ``shard`` of ``shards``: consecutive ranges, as even as whole blocks allow (a shard
    may be empty when there are fewer blocks than shards)."""
    return range(shard * count // shards, (shard + 1) * count // shards)


def part_key(table: Table, shard: int) -> tuple[str, ...]:
    return (table.service, f"{table.name}.shards", f"part-{shard:05d}")


def join_parts(store: TableStore, tier: str, table: Table, shards: int) -> tuple[object, int, pa.Table]:
    """Stream the parts, in shard order, into the table's file; then remove them. Returns (path, rows, head)."""
    paths = [store.part_path(tier, *part_key(table, k)) for k in range(shards)]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{table.qualified_name}: shard parts missing for tier {tier!r}: {missing[0]}")
    progress = phase("join", sum(part_batch_count(p) for p in paths), "batches")

    def pieces():
        for path in paths:
            for batch in part_batches(path):  # one record batch in memory at a time
                progress.advance(1)
                yield pa.Table.from_batches([batch])

    path, rows, head = stream_into_store(store, tier, (table.service, table.name), table, pieces())
    shutil.rmtree(paths[0].parent, ignore_errors=True)
    return path, rows, head


def sharded_table_asset(qualified_name: str, group: str, shards: int) -> list[dg.AssetsDefinition | dg.AssetChecksDefinition]:
    """The table as ``shards`` shard steps and a join step (one graph-backed asset), and its build checks as a
    step after the join."""
    table = CATALOG[qualified_name]
    generate = GENERATORS[qualified_name]
    step = f"{table.service}__{table.name}"
    schema = arrow_schema(table)

    deps = generated_table_deps(table)
    upstream = ["__".join(key.path) for key in deps]

    def shard_op(k: int) -> dg.OpDefinition:
        @dg.op(name=f"{step}__shard_{k}", out=dg.Out(dg.Nothing),
               description=f"blocks {k}/{shards} of {qualified_name} into a part file", tags={"service": table.service})
        def _shard(context: dg.OpExecutionContext, scenario: ScenarioResource, storage: StorageResource) -> None:
            tier = context.partition_key
            blocks = generate.blocks(scenario.plan(tier))
            chosen = shard_blocks(blocks.count, k, shards)
            try:
                with step_tracker(context) as tracker, active(tracker):
                    _, rows = storage.store().write_part(tier, part_key(table, k), blocks.stream(chosen), schema)
            finally:
                release_plans()
            context.log.info(f"shard {k + 1} of {shards}: blocks {chosen.start}–{chosen.stop - 1} of {blocks.count}, "
                             f"{rows:,} rows")

        return _shard

    @dg.op(name=f"{step}__join", ins={**{f"shard_{k}": dg.In(dg.Nothing) for k in range(shards)},
                                      **{name: dg.In(dg.Nothing) for name in upstream}},
           description=f"the {shards} parts of {qualified_name} into its table file", tags={"service": table.service})
    def _join(context: dg.OpExecutionContext, storage: StorageResource) -> dg.Output:
        with step_tracker(context) as tracker, active(tracker):
            path, rows, head = join_parts(storage.store(), context.partition_key, table, shards)
        return dg.Output(None, metadata=streamed_metadata(table, path, rows, head))

    inputs = {name: dg.AssetIn(key, dagster_type=dg.Nothing) for name, key in zip(upstream, deps)}
    spec = table_spec(table, group, deps=[], metadata=definition_metadata(table))

    @dg.graph_multi_asset(name=step, outs={"table": dg.AssetOut.from_spec(spec, io_manager_key="table_io_manager")},
                          ins=inputs, partitions_def=TIER_PARTITIONS, group_name=group)
    def _table(**after):
        return _join(**{f"shard_{k}": shard_op(k)() for k in range(shards)}, **after)

    checks = checks_of(table)
    in_step = [c for c in checks if c.runs_in_step]
    return [_table] + ([later_checks(table, in_step, "built_checks")] if in_step else [])
