"""`service_consistency_sensor`: keeps checking every loaded tier's live databases and reports each rule as
an asset check evaluation, without a run; optionally launches `repropagate` when replicas drift."""

import hashlib
import json
import os

import dagster as dg

from crm_mock.consistency.live import LiveTier, Unreachable, live_rules
from crm_mock.defs.consistency.checks import live_metadata
from crm_mock.defs.consistency.repair import repropagate
from crm_mock.defs.resources import ServiceDatabaseResource, StorageResource
from crm_mock.defs.tables import database_key
from crm_mock.model import SERVICES
from crm_mock.scenario import TIERS

AUTO_REPAIR_ENV = "CRM_MOCK_AUTO_REPROPAGATE"


def evaluate(storage: StorageResource, databases: ServiceDatabaseResource, auto_repair: bool):
    evaluations, requests, unreachable = [], [], []
    for tier in TIERS:
        try:
            with LiveTier(tier, storage.data_dir, databases.database_url) as live:
                for service in SERVICES:
                    live.connection(service)
                results = [(rule, rule.run(live)) for rule in live_rules()]
        except Unreachable as exc:
            unreachable.append(str(exc))
            continue
        for rule, result in results:
            evaluations.append(dg.AssetCheckEvaluation(
                asset_key=database_key(rule.service), check_name=rule.name, passed=result.passed,
                metadata=live_metadata(rule, result), partition=tier))
        drift = sorted((r.rule, r.table, r.offending, r.sample) for _, r in results
                       if not r.passed and r.rule in ("replica_in_sync", "credit_hold_synced"))
        if auto_repair and drift:
            # one drift, one run: the key is the drift itself
            digest = hashlib.sha256(json.dumps(drift).encode()).hexdigest()[:16]
            requests.append(dg.RunRequest(run_key=f"repropagate-{tier}-{digest}", job_name=repropagate.name,
                                          run_config={"ops": {"repropagate_replicas": {"config": {"tier": tier}}}},
                                          tags={"crm_mock/tier": tier}))
    return evaluations, requests, unreachable


@dg.sensor(minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.STOPPED, jobs=[repropagate],
           description="Checks every loaded tier's live service databases every 5 minutes and reports each "
                       f"rule as an asset check evaluation. Set {AUTO_REPAIR_ENV}=1 to re-sync drifted replicas.")
def service_consistency_sensor(context: dg.SensorEvaluationContext, storage: StorageResource,
                               databases: ServiceDatabaseResource):
    auto_repair = os.environ.get(AUTO_REPAIR_ENV, "").lower() in ("1", "true", "yes")
    evaluations, requests, unreachable = evaluate(storage, databases, auto_repair)
    for reason in unreachable:
        context.log.info(f"not checked: {reason}")
    if not evaluations:
        return dg.SkipReason("no tier's databases are reachable: " + "; ".join(unreachable))
    return dg.SensorResult(asset_events=evaluations, run_requests=requests)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(sensors=[service_consistency_sensor])
