"""`replay`: send a tier's plan to the system a target file describes, resuming from the ledger.

The op retries (a crash resumes where the ledger says it stopped, so nothing is sent twice) and sits in
the `crm_mock_replay` concurrency pool: give the pool a limit of 1 (`dagster instance concurrency set
crm_mock_replay 1`) and two runs never drive one system at once.
"""

import json

import dagster as dg
from pydantic import Field

from crm_mock.defs.resources import StorageResource
from crm_mock.replay.runner import EXIT_OK, ReplayRefused, RunSettings, run_replay
from crm_mock.scenario import TIERS

REPLAY_POOL = "crm_mock_replay"


class ReplayConfig(dg.Config):
    tier: str = "staging"
    target: str = Field(description="path of the target file (YAML)")
    pace: str = "asap"
    rate: float | None = Field(default=None, description="requests/s per service; default: the target file's")
    concurrency: int | None = None
    limit: int | None = Field(default=None, description="send only the first N events")
    restart: bool = Field(default=False, description="discard the ledger and replay from the start")
    fail_on: list[str] = []
    crash_after: int = Field(default=0, description="fault-injection drill: the first attempt stops abruptly "
                                                    "after this many sends; the retry must finish without duplicates")


@dg.op(
    description="Send the plan's drive events in causal order, exactly once; verify the expect events.",
    retry_policy=dg.RetryPolicy(max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL),
    pool=REPLAY_POOL, tags={"kind": "replay"},
)
def replay_events(context: dg.OpExecutionContext, config: ReplayConfig, storage: StorageResource) -> dg.Output:
    if config.tier not in TIERS:
        raise dg.Failure(f"unknown tier {config.tier!r}; choose one of {list(TIERS)}")

    def progress(counts: dict) -> None:
        settled = {e: {s: n for s, n in states.items()} for e, states in counts.items()}
        context.log.info(f"replay progress: {json.dumps(settled)}")

    settings = RunSettings(
        tier=config.tier, target_path=config.target, data_dir=storage.data_dir, pace=config.pace, rate=config.rate,
        concurrency=config.concurrency, limit=config.limit, fail_on=config.fail_on, progress=progress,
        # a retry resumes; only the first attempt may discard the ledger
        restart=config.restart and context.retry_number == 0,
        crash_after=config.crash_after if context.retry_number == 0 else 0,
    )
    try:
        result = run_replay(settings)
    except ReplayRefused as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    totals = result.report["totals"]
    metadata = {
        "report": dg.MetadataValue.md(result.text),
        "report_json": dg.MetadataValue.json(result.report),
        **{k: v for k, v in totals.items() if v is not None},
    }
    if result.exit_code != EXIT_OK:
        raise dg.Failure("replay finished with failures or crossed thresholds", metadata=metadata,
                         allow_retries=False)
    return dg.Output(None, metadata=metadata)


@dg.job(description="Replay a tier's business history against a running system (config: tier, target).")
def replay():
    replay_events()


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[replay])
