"""Digests of every generated table (and the edge-case manifest) of a tier, to prove that a change to the
generators left their output byte-identical at the volume tiers (the test suite pins the staging tier).

Each table streams block by block, as the graph writes it, and each block's Arrow IPC bytes go into the table's
SHA-256, so the stress tier is checked in bounded memory (about 3 GB, what generating it takes). Arrow's IPC
bytes depend on the pyarrow version: compare two commits in the same environment. ``reference_date: today`` is
taken as --reference-date (a fixed day by default), so two runs either side of midnight still compare.

    git worktree add /tmp/before HEAD~3
    PYTHONPATH=/tmp/before python benchmarks/output_digests.py --tier load --output before.json
    python benchmarks/output_digests.py --tier load --output after.json --compare before.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import resource
import sys
import time
from pathlib import Path

import pyarrow as pa

from crm_mock.generate import GENERATORS
from crm_mock.generate.manifest import cached_manifest
from crm_mock.scenario import load_scenario, plan_tier


def table_digest(blocks) -> str:
    digest = hashlib.sha256()
    for block in blocks:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, block.schema) as writer:
            writer.write_table(block)
        digest.update(sink.getvalue())
    return digest.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", default="load")
    parser.add_argument("--scenario", default=None)
    parser.add_argument("--reference-date", type=dt.date.fromisoformat, default=dt.date(2026, 11, 30),
                        help="the day `reference_date: today` stands for (default: %(default)s)")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--compare", type=Path, default=None, help="digests written earlier: exit 1 where they differ")
    args = parser.parse_args()
    plan = plan_tier(load_scenario(args.scenario, today=args.reference_date), args.tier)
    started = time.perf_counter()
    digests = {}
    for name in sorted(GENERATORS):
        digests[name] = table_digest(GENERATORS[name].blocks(plan).stream())
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"{name:<32}{digests[name][:16]}  {time.perf_counter() - started:6.0f} s  peak {peak:,} MB", flush=True)
    manifest = json.dumps([p.as_dict() for p in cached_manifest(plan)], default=str, ensure_ascii=False)
    digests["manifest"] = hashlib.sha256(manifest.encode()).hexdigest()
    args.output.write_text(json.dumps(digests, indent=1) + "\n")
    if args.compare is None:
        return 0
    earlier = json.loads(args.compare.read_text())
    differ = sorted(k for k in set(earlier) | set(digests) if earlier.get(k) != digests.get(k))
    print("identical" if not differ else f"DIFFER: {', '.join(differ)}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
