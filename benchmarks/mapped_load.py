"""Load throughput through a mapping against the unmapped PostgreSQL sink, in one run.

Unmapped: `load_service_postgres` refreshing crm_mock's own tables (our keys and indexes dropped, TRUNCATE,
COPY FREEZE, keys and indexes rebuilt, foreign keys validated after the commit). Mapped: the same rows
through examples/mappings/django.yaml into the Django project's own tables (crm_mock_tests/django_services,
created by `migrate`): the previous rows deleted, COPY into tables whose keys, indexes and foreign keys stay
as the service built them, foreign keys verified. Both refresh a database already holding the tier (the
timed load is the second), service by service, one after the other.

Usage: python benchmarks/mapped_load.py [--tier load] [--data-dir data] [--services hr,contact,...]
(materialise the tier first: crm-mock materialize --tier load; the Django project needs `pip install -e .[test]`)
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import psycopg
from psycopg import sql

from crm_mock.mapping.port import MappedDatabases
from crm_mock.mapping.spec import load_mapping
from crm_mock.model import CATALOG, SERVICES
from crm_mock.sinks.databases import PostgresDatabases
from crm_mock.sinks.parquet import TableStore
from crm_mock.sinks.postgres import load_service_postgres

ROOT = Path(__file__).resolve().parents[1]
MAINTENANCE = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=10"


def _databases(names: list[str], create: bool) -> None:
    with psycopg.connect(MAINTENANCE, autocommit=True) as conn:
        for name in names:
            statement = "CREATE DATABASE {}" if create else "DROP DATABASE IF EXISTS {} WITH (FORCE)"
            conn.execute(sql.SQL(statement).format(sql.Identifier(name)))


def _migrate(stem: str, services: list[str]) -> None:
    databases = {s: {"ENGINE": "django.db.backends.postgresql", "NAME": f"{stem}_{s}", "USER": "postgres",
                     "HOST": "127.0.0.1", "PORT": "5432"} for s in services}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as config:
        json.dump({"databases": databases}, config)
    subprocess.run([sys.executable, "-m", "crm_mock_tests.django_services", config.name, "migrate"], cwd=ROOT,
                   check=True)
    Path(config.name).unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", default="load")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--services", default=",".join(SERVICES))
    parser.add_argument("--mapping", default=str(ROOT / "examples" / "mappings" / "django.yaml"))
    parser.add_argument("--min-ratio", type=float, default=0.9)
    args = parser.parse_args()
    services = args.services.split(",")
    store = TableStore(args.data_dir)
    stem = f"crm_mock_bench_mapped_{secrets.token_hex(3)}"
    plain, mapped = f"{stem}_plain", f"{stem}_django"
    names = [f"{stem}_{kind}_{s}" for kind in ("plain", "django") for s in services]
    _databases(names, create=True)
    try:
        _migrate(mapped, services)
        plain_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{plain}_{{service}}"
        port = MappedDatabases(PostgresDatabases(f"postgresql+psycopg://postgres@127.0.0.1:5432/{mapped}_{{service}}"),
                               load_mapping(args.mapping))
        totals = {"rows": 0, "plain": 0.0, "mapped": 0.0}
        print(f"{'service':<10}{'rows':>11}{'unmapped s':>12}{'rows/s':>11}{'mapped s':>10}{'rows/s':>11}{'ratio':>7}",
              flush=True)
        for service in services:
            sources = {t.name: partial(store.model_batches, args.tier, t.qualified_name)
                       for t in CATALOG.service_tables(service)}
            load_service_postgres(plain_url, args.tier, service, sources)  # first fill: the timed loads refresh
            port.load(args.tier, service, sources, None)
            started = time.perf_counter()
            counts = load_service_postgres(plain_url, args.tier, service, sources)
            unmapped = time.perf_counter() - started
            started = time.perf_counter()
            mapped_counts = port.load(args.tier, service, sources, None)
            through = time.perf_counter() - started
            rows = sum(counts.values())
            assert rows == sum(mapped_counts.values()), (counts, mapped_counts)
            totals["rows"] += rows
            totals["plain"] += unmapped
            totals["mapped"] += through
            print(f"{service:<10}{rows:>11,}{unmapped:>12.1f}{rows / unmapped:>11,.0f}{through:>10.1f}"
                  f"{rows / through:>11,.0f}{unmapped / through:>7.2f}", flush=True)
        ratio = totals["plain"] / totals["mapped"]
        print(f"{'all':<10}{totals['rows']:>11,}{totals['plain']:>12.1f}{totals['rows'] / totals['plain']:>11,.0f}"
              f"{totals['mapped']:>10.1f}{totals['rows'] / totals['mapped']:>11,.0f}{ratio:>7.2f}")
    finally:
        _databases(names, create=False)
    if ratio < args.min_ratio:
        print(f"mapped loads keep {ratio:.0%} of the unmapped sink's rows/s, under {args.min_ratio:.0%}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
