"""Exports for BI tools: a tier's tables, read from the table store, written to a folder as Parquet parts
(``service/table/part-00000.parquet`` …) or CSV files (``service/table.csv[.gz]``).

Streamed: batches go from the store to the file as they are read, so memory depends on the batch and row
group sizes, never on a table's. Atomic per run: everything is written into a hidden side folder next to
the output and renamed into place when complete, so a failed export leaves no half-written folder (and a
previous export where it was). A folder that holds anything but a previous export is never touched.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from crm_mock.model import CATALOG, SERVICES, Column, Kind, Table
from crm_mock.model.schema import MONEY_PRECISION, MONEY_SCALE
from crm_mock.sinks.parquet import TableStore

FORMATS = ("parquet", "csv")
# what makes a folder "a previous crm-mock export" (Spark, Hive and DuckDB globs skip names starting with _)
MARKER = "_crm_mock_export.json"
_MARKER_TOOL = "crm-mock export"
# Parquet's own universal codec: every reader has it (Power BI and older Spark/Hive lack zstd or lz4)
PARQUET_COMPRESSION = "snappy"
# RFC 4180: records end with CRLF; fields are quoted where needed (pyarrow quotes every text value and
# doubles the quotes inside); a null is an empty unquoted field
CSV_OPTIONS = pcsv.WriteOptions(include_header=True, quoting_style="needed", eol="\r\n")
# moments are UTC; written as ISO-8601 with the offset spelled out, which every reader maps to an instant
_UTC_OFFSET = "+00:00"

BatchSource = Callable[[Table], Iterable[pa.RecordBatch]]
"""A table's rows as batches in the model's Arrow types (the store's: ``TableStore.model_batches``)."""


class ExportRefused(Exception):
    """The output cannot be used (it holds something that is not a crm-mock export), or the options do not
    go together; nothing was written."""


class TierNotMaterialised(Exception):
    """The tier's table store lacks tables; nothing was written."""


@dataclass(frozen=True)
class Layout:
    """How Parquet tables are cut: rows per row group (what readers parallelise on) and per part file.
    A row group is gathered from whole batches, so it holds at least ``row_group_rows`` rows (the last one
    fewer) and at most that plus one batch; a part file closes once it holds ``part_rows`` rows."""

    row_group_rows: int = 262_144
    part_rows: int = 1_048_576


@dataclass(frozen=True)
class TableExport:
    table: str  # qualified name, "sales.leads"
    rows: int
    bytes: int
    seconds: float
    files: tuple[str, ...] = field(default=())  # relative to the output folder


# -- types --------------------------------------------------------------------------------------------------

def parquet_type(column: Column) -> pa.DataType:
    """The column's type for BI tools: exact decimals for money, instants in UTC (microseconds, the unit
    Spark and Power BI read natively), dates as date32, UUIDs as canonical text."""
    match column.kind:
        case Kind.UUID | Kind.TEXT | Kind.CODE:
            return pa.string()
        case Kind.INTEGER:
            return pa.int64()
        case Kind.MONEY:
            return pa.decimal128(MONEY_PRECISION, MONEY_SCALE)
        case Kind.DATE:
            return pa.date32()
        case Kind.TIMESTAMP:
            return pa.timestamp("us", tz="UTC")
    raise AssertionError(column.kind)


def parquet_schema(table: Table) -> pa.Schema:
    return pa.schema([pa.field(c.name, parquet_type(c), nullable=c.nullable) for c in table.columns])


def csv_schema(table: Table) -> pa.Schema:
    """As ``parquet_schema``, with moments as ISO-8601 text (the CSV writer would print ``… 03:04:05Z``)."""
    return pa.schema([pa.field(c.name, pa.string() if c.kind is Kind.TIMESTAMP else parquet_type(c),
                               nullable=c.nullable) for c in table.columns])


def to_parquet(batch: pa.RecordBatch | pa.Table, table: Table) -> pa.RecordBatch | pa.Table:
    """Model-typed rows in the export's types. Money is stored as whole hundredths over 100, so the nearest
    two-place decimal is the amount; naive moments are UTC, which is how Arrow reads them when given a zone."""
    return batch.cast(parquet_schema(table))


def to_csv(batch: pa.RecordBatch | pa.Table, table: Table) -> pa.RecordBatch | pa.Table:
    typed = to_parquet(batch, table)
    columns = [_iso_moment(typed.column(i)) if c.kind is Kind.TIMESTAMP else typed.column(i)
               for i, c in enumerate(table.columns)]
    schema = csv_schema(table)
    if isinstance(typed, pa.Table):
        return pa.Table.from_arrays(columns, schema=schema)
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _iso_moment(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """``2025-05-31T06:00:01+00:00``. Through Arrow's cast to text (``2025-05-31 06:00:01`` for whole
    seconds, a few times faster than strftime); nulls stay null, so they are empty fields."""
    text = values.cast(pa.timestamp("s")).cast(pa.string())
    return pc.binary_join_element_wise(pc.replace_substring(text, " ", "T", max_replacements=1), _UTC_OFFSET, "")


# -- writing one table --------------------------------------------------------------------------------------

def write_parquet_table(batches: Iterable[pa.RecordBatch], table: Table, folder: Path,
                        layout: Layout = Layout()) -> tuple[int, list[Path]]:
    """``folder/part-00000.parquet`` …; an empty table still gets one (empty) part, so a glob matches."""
    schema = parquet_schema(table)
    folder.mkdir(parents=True, exist_ok=True)
    parts: list[Path] = []
    writer: pq.ParquetWriter | None = None
    rows = part_rows = pending_rows = 0
    pending: list[pa.RecordBatch] = []

    def flush() -> None:
        nonlocal writer, part_rows, pending_rows
        if writer is None or part_rows >= layout.part_rows:
            if writer is not None:
                writer.close()
            parts.append(folder / f"part-{len(parts):05d}.parquet")
            writer = pq.ParquetWriter(parts[-1], schema, compression=PARQUET_COMPRESSION)
            part_rows = 0
        if pending:
            group = pa.Table.from_batches(pending, schema)
            writer.write_table(group, row_group_size=group.num_rows)
            part_rows += group.num_rows
            pending.clear()
            pending_rows = 0

    try:
        for batch in batches:
            pending.append(to_parquet(batch, table))
            rows += batch.num_rows
            pending_rows += batch.num_rows
            if pending_rows >= layout.row_group_rows:
                flush()
        if pending or writer is None:
            flush()
    finally:
        if writer is not None:
            writer.close()
    return rows, parts


def write_csv_table(batches: Iterable[pa.RecordBatch], table: Table, path: Path, gzip: bool = False) -> int:
    """One file with a header row; gzip-compressed as a whole when ``gzip`` (what ``.csv.gz`` readers expect)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with (pa.output_stream(str(path), compression="gzip" if gzip else None) as sink,
          pcsv.CSVWriter(sink, csv_schema(table), write_options=CSV_OPTIONS) as writer):
        for batch in batches:
            writer.write_batch(to_csv(batch, table))
            rows += batch.num_rows
    return rows


# -- the run ------------------------------------------------------------------------------------------------

def export_tables(tables: Sequence[str] | None = None) -> list[Table]:
    """The model's tables (replicas included), service by service; or the named ones, in that order."""
    everything = [t for service in SERVICES for t in CATALOG.service_tables(service)]
    if tables is None:
        return everything
    unknown = sorted(set(tables) - {t.qualified_name for t in everything})
    if unknown:
        raise ValueError(f"no such table in the model: {', '.join(unknown)}")
    return [t for t in everything if t.qualified_name in tables]


def table_files(table: Table, fmt: str, gzip: bool = False) -> str:
    """Where a table goes, relative to the output: a folder of parts for Parquet, one file for CSV."""
    if fmt == "parquet":
        return f"{table.service}/{table.name}"
    return f"{table.service}/{table.name}.csv" + (".gz" if gzip else "")


def export_tier(store: TableStore, tier: str, output: Path, fmt: str, *, gzip: bool = False,
                tables: Sequence[str] | None = None, source: BatchSource | None = None,
                progress: Callable[[TableExport], None] | None = None,
                layout: Layout = Layout()) -> list[TableExport]:
    """Write the tier's tables to ``output`` (see the module docstring); ``progress`` hears of each table as
    it is done. ``source`` replaces the store as where batches come from (the store is then not checked)."""
    if fmt not in FORMATS:
        raise ExportRefused(f"unknown format {fmt!r}; choose {' or '.join(FORMATS)}")
    if gzip and fmt != "csv":
        raise ExportRefused("--gzip applies to CSV only (Parquet parts are compressed inside)")
    output = Path(output).absolute()
    check_output(output)
    chosen = export_tables(tables)
    if source is None:
        missing = [t for t in chosen if not store.exists(tier, (t.service, t.name))]
        if missing:
            raise TierNotMaterialised(
                f"tier {tier!r} has not been materialised in {store.data_dir} ({len(missing)} of {len(chosen)} "
                f"tables missing, e.g. {store.path(tier, missing[0].service, missing[0].name)}); "
                f"run `crm-mock materialize --tier {tier}` first")
        source = lambda t: store.model_batches(tier, t.qualified_name)  # noqa: E731
    output.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_side_folders(output)
    side = _side_folder(output, "partial")
    side.mkdir()
    done: list[TableExport] = []
    try:
        for table in chosen:
            done.append(_export_table(source, table, side, fmt, gzip, layout))
            if progress:
                progress(done[-1])
        _write_marker(side, tier, fmt, gzip, done)
        _publish(side, output)
    except BaseException:
        shutil.rmtree(side, ignore_errors=True)
        raise
    return done


def _export_table(source: BatchSource, table: Table, side: Path, fmt: str, gzip: bool, layout: Layout) -> TableExport:
    started = time.perf_counter()
    target = side / table_files(table, fmt, gzip)
    if fmt == "parquet":
        rows, files = write_parquet_table(source(table), table, target, layout)
    else:
        rows, files = write_csv_table(source(table), table, target, gzip), [target]
    return TableExport(table.qualified_name, rows, sum(f.stat().st_size for f in files),
                       time.perf_counter() - started, tuple(str(f.relative_to(side)) for f in files))


def _write_marker(side: Path, tier: str, fmt: str, gzip: bool, done: list[TableExport]) -> None:
    marker = {"tool": _MARKER_TOOL, "tier": tier, "format": fmt, "gzip": gzip,
              "tables": {d.table: {"rows": d.rows, "bytes": d.bytes, "files": list(d.files)} for d in done}}
    (side / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


# -- the output folder --------------------------------------------------------------------------------------

def is_previous_export(folder: Path) -> bool:
    try:
        return json.loads((folder / MARKER).read_text(encoding="utf-8")).get("tool") == _MARKER_TOOL
    except (OSError, ValueError, AttributeError):
        return False


def check_output(output: Path) -> None:
    """Refuse, before anything is written, an output that exists and is not an empty folder or an export."""
    if output.is_symlink():  # a rename would replace the link, not the folder it names
        raise ExportRefused(f"{output} is a symbolic link; give the folder's own path as --output")
    if not output.exists():
        return
    if not output.is_dir():
        raise ExportRefused(f"{output} exists and is not a folder; choose another --output")
    if any(output.iterdir()) and not is_previous_export(output):
        raise ExportRefused(f"{output} is not empty and is not a previous crm-mock export (no {MARKER}); "
                            "refusing to replace it: choose an empty or new folder for --output")


def _side_folder(output: Path, purpose: str, pid: int | None = None) -> Path:
    # beside the output, so the final rename stays on one file system
    return output.with_name(f".{output.name}.crm-mock-export-{pid or os.getpid()}.{purpose}")


def _remove_abandoned_side_folders(output: Path) -> None:
    """Side folders a killed export left behind (its process is gone); a running export's are kept."""
    for leftover in output.parent.glob(f".{glob.escape(output.name)}.crm-mock-export-*.*"):
        pid = leftover.name.removeprefix(f".{output.name}.crm-mock-export-").split(".")[0]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _publish(side: Path, output: Path) -> None:
    """Rename the finished side folder to ``output``. An empty folder is replaced in the same rename; a
    previous export is first moved aside (so for that instant ``output`` is absent, never half written),
    and deleted once the new one is in place."""
    check_output(output)  # again: something may have appeared there while we wrote
    if output.is_dir() and any(output.iterdir()):
        old = _side_folder(output, "old")
        os.rename(output, old)
        try:
            os.rename(side, output)
        except BaseException:
            os.rename(old, output)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(side, output)
