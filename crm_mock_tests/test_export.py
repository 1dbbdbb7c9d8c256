"""`crm-mock export`: the smoke tier's tables as Parquet parts and CSV files, read back by DuckDB, pyarrow,
pandas and Python's csv module with the table store's values; refusals, a missing tier and a failure midway
leave nothing behind."""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import gzip
import io
import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from crm_mock.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from crm_mock.model import CATALOG, Kind, Table
from crm_mock.sinks.export import MARKER, Layout, export_tables, export_tier
from crm_mock.sinks.parquet import TableStore

TABLES = export_tables()
DUCKDB_TYPES = {Kind.UUID: "VARCHAR", Kind.TEXT: "VARCHAR", Kind.CODE: "VARCHAR", Kind.INTEGER: "BIGINT",
                Kind.MONEY: "DECIMAL(12,2)", Kind.DATE: "DATE", Kind.TIMESTAMP: "TIMESTAMP WITH TIME ZONE"}


def crm_mock(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crm_mock.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def exported(smoke_run, tmp_path_factory) -> dict[str, Path]:
    """The smoke tier exported once per format, by the command in its own process."""
    root = tmp_path_factory.mktemp("export")
    folders = {}
    for name, args in {"parquet": ["--format", "parquet"], "csv": ["--format", "csv"],
                       "csv.gz": ["--format", "csv", "--gzip"]}.items():
        folders[name] = root / name
        done = crm_mock("export", "--tier", "smoke", "--data-dir", str(smoke_run.data_dir),
                        "--output", str(folders[name]), *args)
        assert done.returncode == EXIT_OK, done.stderr
        folders[f"{name} stdout"] = done.stdout
    return folders


def _store_rows(smoke_run, table: Table) -> list[tuple]:
    """The store's rows, canonical: money as Decimal, moments as seconds since the epoch (the store's naive
    moments are UTC), sorted by primary key."""
    rows = []
    for batch in TableStore(smoke_run.data_dir).model_batches(smoke_run.tier, table.qualified_name):
        for row in batch.to_pylist():
            rows.append(tuple(_canonical(c.kind, row[c.name]) for c in table.columns))
    return _sorted(table, rows)


def _canonical(kind: Kind, value):
    if value is None:
        return None
    if kind is Kind.MONEY:
        return Decimal(f"{value:.2f}")
    if kind is Kind.TIMESTAMP:
        return calendar.timegm(value.utctimetuple())  # an aware moment's instant, a naive one's as UTC
    return value


def _sorted(table: Table, rows: list[tuple]) -> list[tuple]:
    key = [table.column_names.index(name) for name in table.primary_key]
    return sorted(rows, key=lambda row: tuple(row[i] for i in key))


def _duckdb_rows(con: duckdb.DuckDBPyConnection, table: Table, relation: str) -> list[tuple]:
    columns = ", ".join(f"epoch({c.name})::BIGINT" if c.kind is Kind.TIMESTAMP else c.name for c in table.columns)
    return _sorted(table, con.execute(f"SELECT {columns} FROM {relation}").fetchall())


def _duckdb_types(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    return {name: kind for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}


def _csv_text(kind: Kind, value) -> str:
    """How the export spells a store value in CSV."""
    if value is None:
        return ""
    if kind is Kind.TIMESTAMP:
        return dt.datetime.fromtimestamp(value, dt.timezone.utc).isoformat()  # 2025-05-31T06:00:01+00:00
    return str(value)


def test_parquet_reads_back_in_duckdb_with_the_store_values_and_types(smoke_run, exported):
    con = duckdb.connect()
    for table in TABLES:
        relation = f"read_parquet('{exported['parquet']}/{table.service}/{table.name}/*.parquet')"
        assert _duckdb_types(con, relation) == {c.name: DUCKDB_TYPES[c.kind] for c in table.columns}, table
        assert _duckdb_rows(con, table, relation) == _store_rows(smoke_run, table), table.qualified_name


def test_parquet_reads_back_in_pyarrow_and_pandas(smoke_run, exported):
    for table in TABLES:
        folder = exported["parquet"] / table.service / table.name
        arrow = ds.dataset(folder, format="parquet").to_table()
        rows = [tuple(_canonical(c.kind, row[c.name]) for c in table.columns) for row in arrow.to_pylist()]
        assert _sorted(table, rows) == _store_rows(smoke_run, table), table.qualified_name
    orders = pd.read_parquet(exported["parquet"] / "orders" / "sales_orders")
    assert str(orders["shipped_at"].dtype) == "datetime64[us, UTC]"
    assert orders["shipped_at"].isna().any() and isinstance(orders["total_amount"].iloc[0], Decimal)
    assert isinstance(orders["order_date"].iloc[0], dt.date)


def test_csv_reads_back_in_duckdb_with_the_store_values(smoke_run, exported):
    con = duckdb.connect()
    for table in TABLES:
        path = exported["csv"] / table.service / f"{table.name}.csv"
        declared = {c.name: DUCKDB_TYPES[c.kind] for c in table.columns}
        relation = f"read_csv('{path}', header = true, columns = {declared!r})"
        assert _duckdb_rows(con, table, relation) == _store_rows(smoke_run, table), table.qualified_name
        # a reader guessing the types sees moments with their zone and dates as dates
        detected = _duckdb_types(con, f"read_csv('{path}')")
        for c in table.columns:
            if c.kind in (Kind.TIMESTAMP, Kind.DATE):
                assert detected[c.name] == DUCKDB_TYPES[c.kind], (table.qualified_name, c.name)


def test_csv_is_rfc4180_utf8_with_iso_moments_and_plain_decimals(smoke_run, exported):
    """pandas and Python's csv module read every field back as the text the store's value calls for: quoted
    commas, quotes and line breaks inside values, non-ASCII names, ISO-8601 moments with their offset."""
    for table in TABLES:
        path = exported["csv"] / table.service / f"{table.name}.csv"
        raw = path.read_bytes()
        assert raw.startswith(",".join(f'"{c}"' for c in table.column_names).encode() + b"\r\n")
        expected = [tuple(_csv_text(c.kind, v) for c, v in zip(table.columns, row))
                    for row in _store_rows(smoke_run, table)]
        with path.open(encoding="utf-8", newline="") as file:
            assert _sorted(table, [tuple(r) for r in list(csv.reader(file))[1:]]) == expected, table.qualified_name
        frame = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, encoding="utf-8")
        assert _sorted(table, list(frame.itertuples(index=False, name=None))) == expected, table.qualified_name
    orders = (exported["csv"] / "orders" / "sales_orders.csv").read_bytes().decode("utf-8")
    assert orders.count("\r\n") == _count(exported["csv"] / "orders" / "sales_orders.csv") + 1
    assert "+00:00" in orders and ",," in orders  # a null moment (not shipped) is an empty field


def test_gzip_csv_holds_the_same_text(exported):
    con = duckdb.connect()
    for table in TABLES:
        plain = exported["csv"] / table.service / f"{table.name}.csv"
        packed = exported["csv.gz"] / table.service / f"{table.name}.csv.gz"
        assert gzip.decompress(packed.read_bytes()) == plain.read_bytes(), table.qualified_name
        assert con.execute(f"SELECT count(*) FROM read_csv('{packed}')").fetchone() == (_count(plain),)


def _count(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as file:
        return sum(1 for _ in csv.reader(file)) - 1


def test_one_line_per_table_and_a_total(exported):
    marker = json.loads((exported["parquet"] / MARKER).read_text())
    lines = exported["parquet stdout"].splitlines()
    assert len(lines) == len(TABLES) + 1
    for table, line in zip(TABLES, lines):
        rows = marker["tables"][table.qualified_name]["rows"]
        assert line.split()[:3] == [table.qualified_name, f"{rows:,}", "rows"] and line.endswith(" s")
    total = sum(t["rows"] for t in marker["tables"].values())
    assert f"{len(TABLES)} tables, {total:,} rows" in lines[-1]
    assert sorted(p.name for p in exported["parquet"].iterdir()) == sorted([MARKER, *{t.service for t in TABLES}])


def test_parts_roll_over_and_a_glob_reads_them_all(smoke_run, tmp_path):
    """Small batches, row groups and parts: the store's table cut into many part files, read back whole."""
    store = TableStore(smoke_run.data_dir)

    def small_batches(table: Table):
        for batch in store.model_batches(smoke_run.tier, table.qualified_name):
            yield from (batch.slice(i, 50) for i in range(0, batch.num_rows, 50))

    movements = CATALOG["inventory.stock_movements"]
    export_tier(store, smoke_run.tier, tmp_path / "out", "parquet", tables=[movements.qualified_name],
                source=small_batches, layout=Layout(row_group_rows=100, part_rows=300))
    parts = sorted((tmp_path / "out" / "inventory" / "stock_movements").iterdir())
    assert [p.name for p in parts[:2]] == ["part-00000.parquet", "part-00001.parquet"] and len(parts) == 6
    relation = f"read_parquet('{tmp_path}/out/inventory/stock_movements/*.parquet')"
    assert _duckdb_rows(duckdb.connect(), movements, relation) == _store_rows(smoke_run, movements)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_memory_does_not_grow_with_the_table(smoke_run, tmp_path, fmt):
    """A table many times the size of what the writer may hold: Arrow's allocations stay at a few batches."""
    leads = CATALOG["sales.leads"]
    batch = TableStore(smoke_run.data_dir).read_model_table(smoke_run.tier, leads.qualified_name).combine_chunks()
    batch = batch.to_batches()[0]
    everything = pa.array(range(batch.num_rows))
    peak = [0]

    def repeated(_table: Table):
        for _ in range(400):
            peak[0] = max(peak[0], pa.total_allocated_bytes())
            yield batch.take(everything)  # fresh buffers each time, freed unless the writer keeps them

    before = pa.total_allocated_bytes()
    export_tier(TableStore(smoke_run.data_dir), smoke_run.tier, tmp_path / "out", fmt, tables=[leads.qualified_name],
                source=repeated, layout=Layout(row_group_rows=1_000, part_rows=10_000))
    assert peak[0] - before < 40 * batch.nbytes < 400 * batch.nbytes


def test_refuses_a_folder_that_is_not_an_export(smoke_run, tmp_path, capsys):
    output = tmp_path / "mine"
    output.mkdir()
    (output / "notes.txt").write_text("keep me")
    code = main(["export", "--tier", "smoke", "--data-dir", str(smoke_run.data_dir), "--output", str(output)])
    assert code == EXIT_USAGE
    assert "is not a previous crm-mock export" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["mine"] and [p.name for p in output.iterdir()] == ["notes.txt"]


def test_replaces_a_previous_export_and_fills_an_empty_folder(smoke_run, tmp_path, capsys):
    output = tmp_path / "out"
    output.mkdir()
    args = ["export", "--tier", "smoke", "--data-dir", str(smoke_run.data_dir), "--output", str(output)]
    assert main(args) == EXIT_OK
    assert (output / "sales" / "leads" / "part-00000.parquet").is_file()
    assert main([*args, "--format", "csv"]) == EXIT_OK
    assert (output / "sales" / "leads.csv").is_file() and not (output / "sales" / "leads").exists()
    assert json.loads((output / MARKER).read_text())["format"] == "csv"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no side folder left
    assert main([*args, "--gzip"]) == EXIT_USAGE  # Parquet is compressed inside
    assert "CSV only" in capsys.readouterr().err


def test_a_tier_not_materialised_exits_1(tmp_path, capsys):
    code = main(["export", "--tier", "smoke", "--data-dir", str(tmp_path / "data"), "--output", str(tmp_path / "out")])
    assert code == EXIT_FAILED
    err = capsys.readouterr().err
    assert "has not been materialised" in err and "crm-mock materialize --tier smoke" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("previous", [False, True])
def test_a_failure_midway_leaves_no_folder(smoke_run, tmp_path, previous):
    store = TableStore(smoke_run.data_dir)
    output = tmp_path / "out"
    if previous:
        export_tier(store, smoke_run.tier, output, "csv", tables=["hr.employees"])
        before = {p.relative_to(output): p.read_bytes() for p in output.rglob("*") if p.is_file()}

    def failing(table: Table):
        if table.qualified_name == "sales.leads":
            yield from store.model_batches(smoke_run.tier, table.qualified_name)
            raise OSError("No space left on device")
        yield from store.model_batches(smoke_run.tier, table.qualified_name)

    with pytest.raises(OSError, match="No space left"):
        export_tier(store, smoke_run.tier, output, "parquet", source=failing)
    assert [p.name for p in tmp_path.iterdir()] == (["out"] if previous else [])
    if previous:
        assert {p.relative_to(output): p.read_bytes() for p in output.rglob("*") if p.is_file()} == before


def test_a_corrupt_table_midway_exits_1_and_leaves_no_folder(smoke_run, tmp_path, capsys):
    """The command on a store whose sales.leads is damaged: the tables before it were written aside, then
    dropped; the output folder never appears."""
    data = tmp_path / "data"
    shutil.copytree(smoke_run.data_dir / smoke_run.tier / "tables", data / smoke_run.tier / "tables")
    (data / smoke_run.tier / "tables" / "sales" / "leads.parquet").write_bytes(b"not parquet at all")
    code = main(["export", "--tier", "smoke", "--data-dir", str(data), "--output", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == EXIT_FAILED
    assert "contact.accounts" in captured.out and "sales.leads" not in captured.out  # it failed midway
    assert "failed" in captured.err and "left as it was" in captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
