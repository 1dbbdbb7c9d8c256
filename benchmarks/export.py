"""Throughput of `crm-mock export` against pyarrow writing the same table at once, in the same run.

Ours: ``export_tier`` on one table — streamed batch by batch from the table store, converted to the export's
types, written into a side folder (Parquet parts, or one CSV file) and renamed into place. Baseline: the
whole table read at once (``pq.read_table``), converted by the same functions in one call, and written by
``pq.write_table`` (same codec) or ``pyarrow.csv.write_csv`` (same options): the fastest way to the same
bytes, holding the whole table in memory. Both are timed end to end (read, convert, write), best of
``--repeat``, alternating; the peak Arrow memory of each run is reported beside (a proxy memory pool per
run), which is what streaming buys. Exits 1 when ours is below ``--min-ratio`` of the baseline's rows/s.

Usage: python benchmarks/export.py [--tier load] [--data-dir data] [--tables inventory.stock_movements,…]
       [--formats parquet,csv,csv.gz] [--output /tmp/DIR] [--repeat 3] [--min-ratio 0.5] [--json FILE]
(materialise the tier first: crm-mock materialize --tier load; the export goes to --output, default a
temporary folder, never into the data directory)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from crm_mock.model import CATALOG
from crm_mock.scenario import TIERS
from crm_mock.sinks.export import CSV_OPTIONS, PARQUET_COMPRESSION, export_tier, to_csv, to_parquet
from crm_mock.sinks.parquet import TableStore

DEFAULT_TABLES = "inventory.stock_movements,finance.ledger_entries,sales.quote_lines"
FORMATS = ("parquet", "csv", "csv.gz")
# every run's pool stays alive: a buffer it allocated (cached by Arrow, say) is freed through it later
_POOLS: list[pa.MemoryPool] = []


def measured(run: Callable[[], Any]) -> tuple[float, int]:
    """(seconds, peak bytes Arrow allocated) of one run."""
    base = pa.default_memory_pool()
    pool = pa.proxy_memory_pool(base)
    _POOLS.append(pool)
    pa.set_memory_pool(pool)
    try:
        started = time.perf_counter()
        run()
        return time.perf_counter() - started, pool.max_memory()
    finally:
        pa.set_memory_pool(base)


def ours(store: TableStore, tier: str, table: str, fmt: str, output: Path) -> None:
    shutil.rmtree(output, ignore_errors=True)
    export_tier(store, tier, output, fmt.removesuffix(".gz"), gzip=fmt.endswith(".gz"), tables=[table])


def baseline(store: TableStore, tier: str, table: str, fmt: str, output: Path) -> None:
    model = CATALOG[table]
    output.mkdir(parents=True, exist_ok=True)
    whole = store.read_model_table(tier, table)
    if fmt == "parquet":
        pq.write_table(to_parquet(whole, model), output / f"{model.name}.parquet", compression=PARQUET_COMPRESSION)
    else:
        gzip = fmt.endswith(".gz")
        with pa.output_stream(str(output / f"{model.name}.{fmt}"), compression="gzip" if gzip else None) as sink:
            pcsv.write_csv(to_csv(whole, model), sink, CSV_OPTIONS)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tier", default="load", choices=TIERS)
    p.add_argument("--data-dir", type=Path, default=Path("data"))
    p.add_argument("--tables", default=DEFAULT_TABLES, help="comma-separated qualified names")
    p.add_argument("--formats", default="parquet,csv", help=f"comma-separated, of {', '.join(FORMATS)}")
    p.add_argument("--output", type=Path, help="scratch folder (default: a temporary one, removed after)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--min-ratio", type=float, default=0.5)
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)
    tables = [t.strip() for t in args.tables.split(",") if t.strip()]
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    if unknown := [t for t in tables if t not in CATALOG] + [f for f in formats if f not in FORMATS]:
        p.error(f"unknown table(s) or format(s): {unknown}")
    store = TableStore(args.data_dir)
    if missing := [t for t in tables if not store.exists(args.tier, (CATALOG[t].service, CATALOG[t].name))]:
        print(f"tier {args.tier!r} is not materialised in {args.data_dir} (missing {missing})", file=sys.stderr)
        return 2
    scratch = args.output or Path(tempfile.mkdtemp(prefix="crm-mock-export-bench-"))
    if scratch.resolve().is_relative_to(args.data_dir.resolve()):
        p.error("--output must be outside --data-dir")
    results: list[dict[str, Any]] = []
    try:
        for fmt in formats:
            for table in tables:
                rows = pq.ParquetFile(store.path(args.tier, CATALOG[table].service, CATALOG[table].name)).metadata.num_rows
                runs: dict[str, list[tuple[float, int]]] = {"ours": [], "baseline": []}
                for _ in range(args.repeat):  # alternating, so a busy moment of the machine hits both
                    runs["ours"].append(measured(lambda: ours(store, args.tier, table, fmt, scratch / "ours")))
                    runs["baseline"].append(measured(lambda: baseline(store, args.tier, table, fmt, scratch / "base")))
                (ours_s, ours_peak), (base_s, base_peak) = min(runs["ours"]), min(runs["baseline"])
                results.append({"format": fmt, "table": table, "rows": rows,
                                "seconds": ours_s, "rows_per_s": rows / ours_s, "peak_bytes": ours_peak,
                                "baseline_seconds": base_s, "baseline_rows_per_s": rows / base_s,
                                "baseline_peak_bytes": base_peak, "ratio": base_s / ours_s})
                r = results[-1]
                print(f"{fmt:<7} {table:<26} {rows:>10,} rows  ours {r['rows_per_s']:>10,.0f} rows/s "
                      f"{ours_peak / 1e6:>6.0f} MB peak | pyarrow at once {r['baseline_rows_per_s']:>10,.0f} rows/s "
                      f"{base_peak / 1e6:>6.0f} MB peak | ratio {r['ratio']:.2f}", flush=True)
    finally:
        if args.output is None:
            shutil.rmtree(scratch, ignore_errors=True)
    slow = [r for r in results if r["ratio"] < args.min_ratio]
    if args.json:
        args.json.write_text(json.dumps({"tier": args.tier, "repeat": args.repeat, "min_ratio": args.min_ratio,
                                         "passed": not slow, "results": results}, indent=2) + "\n", encoding="utf-8")
    for r in slow:
        print(f"FAIL: {r['format']} {r['table']}: ours is {r['ratio']:.2f}x pyarrow's rows/s "
              f"(--min-ratio {args.min_ratio:g})", file=sys.stderr)
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
