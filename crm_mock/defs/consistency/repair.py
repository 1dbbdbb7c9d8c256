"""`repropagate`: re-sync one tier's replicas (and Contact's synced credit holds) from their masters in
the live databases, without regenerating anything."""

from collections.abc import Mapping

import dagster as dg

from crm_mock.mapping.repair import repropagate_through
from crm_mock.defs.resources import ScenarioResource, ServiceDatabaseResource
from crm_mock.scenario import TIERS

REPROPAGATE = "repropagate"


class RepropagateConfig(dg.Config):
    tier: str = "staging"


@dg.op(description="Upsert every replica from its master; delete replica rows without one.")
def repropagate_replicas(context: dg.OpExecutionContext, config: RepropagateConfig, scenario: ScenarioResource,
                         databases: ServiceDatabaseResource) -> None:
    if config.tier not in TIERS:
        raise dg.Failure(f"unknown tier {config.tier!r}; choose one of {list(TIERS)}")
    repairs = repropagate_through(databases.port(), scenario.plan(config.tier))
    for repair in repairs:
        context.log.info(f"{repair.table}: {repair.upserted} upserted, {repair.deleted} deleted, "
                         f"{repair.kept_orphans} orphans kept (still referenced)")


@dg.graph
def repropagate_graph():
    repropagate_replicas()


def repropagate_job(resources: Mapping[str, object]) -> dg.JobDefinition:
    """Built with its resources bound: a sensor that launches a job the Definitions must still bind is
    rebuilt by Dagster with an empty `owners`, which prints a BetaWarning on every load."""
    return repropagate_graph.to_job(name=REPROPAGATE, resource_defs=dict(resources),
                                    description="Re-sync one tier's replicas from their masters (config: tier).")
