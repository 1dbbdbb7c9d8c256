"""Load throughput of the PostgreSQL sink against raw psycopg COPY of the same rows, in one run.

Ours: `load_service_postgres` — in one transaction, our keys and indexes dropped, the tables truncated,
COPY in PostgreSQL's binary form, then primary keys, unique constraints, foreign keys and indexes
rebuilt; the foreign keys validated after the commit. Raw: the same Arrow batches written as CSV by
pyarrow and COPY'd into bare tables (no keys), the plain way to bulk-load Arrow; the gate is ours
against it. For the record the script also times raw binary: the sink's own COPY into bare tables, so
"binary ÷ ours" is what atomicity, keys and the care for the service's own objects cost.

Usage: python benchmarks/postgres_sink.py [--tier load] [--data-dir data] [--services orders,finance]
(materialise the tier first: crm-mock materialize --tier load)
"""

from __future__ import annotations

import argparse
import sys
import time
from functools import partial

from psycopg import sql

from crm_mock.model import CATALOG
from crm_mock.sinks.parquet import TableStore
from crm_mock.sinks.postgres import _copy, _csv, connect, load_service_postgres

URL = "postgresql+psycopg://postgres@127.0.0.1:5432/crm_mock_bench_{tier}_{service}"


def raw_copy(template: str, tier: str, service: str, store: TableStore, form: str = "csv") -> int:
    conn, _ = connect(template, tier, service)
    rows = 0
    tables = CATALOG.service_tables(service)
    with conn:
        _drop_raw(conn, tables)
        conn.execute("CREATE SCHEMA raw_copy")
        for table in tables:
            like = sql.SQL("CREATE TABLE raw_copy.{} (LIKE public.{} INCLUDING DEFAULTS)").format(
                sql.Identifier(table.name), sql.Identifier(table.name))
            conn.execute(like)
            if form == "binary":
                rows += _copy(conn, "raw_copy", service, table.name, store.model_batches(tier, table.qualified_name))
                continue
            statement = sql.SQL("COPY raw_copy.{} FROM STDIN WITH (FORMAT csv)").format(sql.Identifier(table.name))
            with conn.cursor() as cursor, cursor.copy(statement) as copy:
                for batch in store.model_batches(tier, table.qualified_name):
                    copy.write(_csv(batch))
                    rows += batch.num_rows
    with connect(template, tier, service)[0] as cleanup:
        _drop_raw(cleanup, tables)
    return rows


def _drop_raw(conn, tables) -> None:
    """The benchmark's own scratch schema, table by table (nothing else ever lives there)."""
    for table in tables:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS raw_copy.{}").format(sql.Identifier(table.name)))
    conn.execute("DROP SCHEMA IF EXISTS raw_copy")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", default="load")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--services", default="orders,finance")
    parser.add_argument("--url", default=URL, help="SQLAlchemy URL template with {tier} and {service}")
    parser.add_argument("--min-ratio", type=float, default=0.8)
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds, ours and raw alternating; the best of each counts (a shared machine's noise "
                             "only ever slows a run down)")
    args = parser.parse_args()
    store = TableStore(args.data_dir)
    worst = 1.0
    print(f"{'service':<10}{'rows':>11}{'ours s':>9}{'ours rows/s':>13}{'raw s':>8}{'raw rows/s':>12}{'ratio':>7}"
          f"{'binary s':>10}{'binary÷ours':>13}")
    for service in args.services.split(","):
        sources = {t.name: partial(store.model_batches, args.tier, t.qualified_name)
                   for t in CATALOG.service_tables(service)}
        counts = load_service_postgres(args.url, args.tier, service, sources)  # also creates the tables raw needs
        ours_times, raw_times, binary_times = [], [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            counts = load_service_postgres(args.url, args.tier, service, sources)
            ours_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            rows = raw_copy(args.url, args.tier, service, store)
            raw_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            binary_rows = raw_copy(args.url, args.tier, service, store, "binary")
            binary_times.append(time.perf_counter() - started)
        ours, raw, binary = min(ours_times), min(raw_times), min(binary_times)
        total = sum(counts.values())
        assert total == rows == binary_rows, (total, rows, binary_rows)
        ratio = raw / ours
        worst = min(worst, ratio)
        print(f"{service:<10}{total:>11,}{ours:>9.1f}{total / ours:>13,.0f}{raw:>8.1f}{rows / raw:>12,.0f}{ratio:>7.0%}"
              f"{binary:>10.1f}{binary / ours:>13.0%}   (rounds: ours {', '.join(f'{t:.1f}' for t in ours_times)}; raw "
              f"{', '.join(f'{t:.1f}' for t in raw_times)}; binary {', '.join(f'{t:.1f}' for t in binary_times)})")
    if worst < args.min_ratio:
        print(f"FAIL: the sink reaches {worst:.0%} of raw COPY throughput (--min-ratio {args.min_ratio:.0%})",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
