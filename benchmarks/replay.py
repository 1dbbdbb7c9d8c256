"""Replay throughput against json-server at concurrency 8, beside a bare asyncio httpx loop sending the same
requests in the same run: what ordering, the ledger, retries and the report cost.

    .venv/bin/python benchmarks/replay.py [--tier smoke] [--data-dir DIR] [--rounds 2]

Needs the npm test servers (cd crm_mock_tests/servers && npm ci) and a materialised tier (built into a
temporary directory when --data-dir has none). Prints requests/s of both and their ratio (target ≥ 80 %).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crm_mock.cli import main as crm_mock  # noqa: E402
from crm_mock.replay.engine import plan_items  # noqa: E402
from crm_mock.replay.http import HttpDriver  # noqa: E402
from crm_mock.replay.ledger import ledger_path  # noqa: E402
from crm_mock.replay.redact import Redactor  # noqa: E402
from crm_mock.replay.runner import RunSettings, plan_for, run_replay  # noqa: E402
from crm_mock.replay.target import load_target  # noqa: E402
from crm_mock.sinks.parquet import TableStore  # noqa: E402
from crm_mock_tests.replay_servers import EXAMPLES, json_server  # noqa: E402

CONCURRENCY = 8
CREATE_EVENTS = ("lead.created", "opportunity.created", "quote.created", "order.created", "payment.received")


def _target(workdir: Path, url: str) -> Path:
    """The example target without the shipping PATCH (its path needs an id only a replay captures)."""
    document = yaml.safe_load((EXAMPLES / "json-server.yaml").read_text())
    document["name"] = "benchmark"
    document["services"]["store"]["base_url"] = url
    document["services"]["store"]["rate"] = 0
    document["events"] = {k: v for k, v in document["events"].items() if k in CREATE_EVENTS}
    path = workdir / "benchmark.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


async def bare_loop(requests: list[tuple[str, str, dict, dict]], url: str) -> float:
    """The same requests, CONCURRENCY at a time, no ordering, no bookkeeping: requests/s."""
    queue: asyncio.Queue = asyncio.Queue()
    for r in requests:
        queue.put_nowait(r)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        async def work() -> None:
            while not queue.empty():
                method, path, body, headers = queue.get_nowait()
                (await client.request(method, path, json=body, headers=headers)).raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(work() for _ in range(CONCURRENCY)))
        return len(requests) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tier", default="smoke")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        data_dir = args.data_dir or workdir / "data"
        if not TableStore(data_dir).exists(args.tier, ("orders", "sales_orders")):
            assert crm_mock(["materialize", "--tier", args.tier, "--data-dir", str(data_dir)]) == 0
        plan = plan_for(TableStore(data_dir), args.tier, rebuild=True)
        bare, engine, whole = [], [], []
        for round_ in range(args.rounds):
            with json_server(workdir / f"bare{round_}") as server:
                target, _ = load_target(_target(workdir, server.url))
                driver = HttpDriver(target, Redactor(), CONCURRENCY)
                requests = [driver._request(it) for it in plan_items(plan, target, None) if it.sendable]
                bare.append(asyncio.run(bare_loop(requests, server.url)))
            with json_server(workdir / f"engine{round_}") as server:
                path = _target(workdir, server.url)
                ledger_path(data_dir, args.tier, "benchmark").unlink(missing_ok=True)
                started = time.perf_counter()
                result = run_replay(RunSettings(tier=args.tier, target_path=path, data_dir=data_dir, restart=True,
                                                concurrency=CONCURRENCY, verify=False))
                elapsed = time.perf_counter() - started
                sent = result.report["totals"]["ok"]
                assert sent == len(requests) and result.exit_code == 0, result.text
                engine.append(result.report["timing"]["sent_per_s"])
                whole.append(sent / elapsed)
            print(f"round {round_ + 1}: bare {bare[-1]:,.0f} req/s, replay engine {engine[-1]:,.0f} req/s "
                  f"({whole[-1]:,.0f} req/s including plan loading, preflight and the report)", flush=True)
    best_bare, best_engine, best_whole = max(bare), max(engine), max(whole)
    print(f"tier {args.tier}: {len(requests):,} requests at concurrency {CONCURRENCY} against json-server")
    print(f"  bare asyncio httpx loop   {best_bare:8,.0f} req/s")
    print(f"  replay engine             {best_engine:8,.0f} req/s   ({best_engine / best_bare:.0%} of bare:"
          f" causal ordering, ledger, retries)")
    print(f"  whole replay command      {best_whole:8,.0f} req/s   ({best_whole / best_bare:.0%} of bare:"
          f" plus loading the plan, preflight and the report)")


if __name__ == "__main__":
    main()
