"""The table store: one Parquet file per (tier, service table), the hand-off between generation and loads."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from crm_mock.model import CATALOG
from crm_mock.model.ddl import arrow_schema

BATCH_ROWS = 50_000
PAGE_BYTES = 1 << 20  # Parquet's default data page size, named so that tests can make pages small


class TableStore:
    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir)

    def path(self, tier: str, *key: str) -> Path:
        """``key`` is an asset key path, e.g. ("contact", "accounts") or ("id_maps", "account")."""
        return self.data_dir / tier / "tables" / Path(*key[:-1]) / f"{key[-1]}.parquet"

    def write(self, tier: str, key: tuple[str, ...], table: pa.Table) -> Path:
        """Write aside, then rename: a reader never sees half a file."""
        return self.write_stream(tier, key, [table], table.schema)[0]

    def write_stream(self, tier: str, key: tuple[str, ...], tables: Iterable[pa.Table],
                     schema: pa.Schema) -> tuple[Path, int]:
        """Write a table that arrives in pieces (a generator's blocks, a shard's parts) without holding it whole.
        The pieces are cut into row groups of BATCH_ROWS and each group is made contiguous before it is written
        (the writer cuts pages where its input's chunks end), so the file depends on the rows only, never on
        how they arrived. Written aside and renamed; nothing is left behind when a piece fails. Returns the path
        and the row count."""
        path = self.path(tier, *key)
        rows = 0
        with written_aside(path) as partial, \
                pq.ParquetWriter(partial, schema, compression="zstd", data_page_size=PAGE_BYTES) as writer:
            for group in row_groups(tables, BATCH_ROWS):
                writer.write_table(group.combine_chunks(), row_group_size=BATCH_ROWS)
                rows += group.num_rows
        return path, rows

    def part_path(self, tier: str, *key: str) -> Path:
        return self.path(tier, *key).with_suffix(".arrow")

    def write_part(self, tier: str, key: tuple[str, ...], tables: Iterable[pa.Table],
                   schema: pa.Schema) -> tuple[Path, int]:
        """A shard's part of a table, as Arrow IPC (zstd): read once, by the join that writes the table's Parquet
        file. A Parquet part would be encoded here and decoded there on top of that one encoding (at the load
        tier's stock movements, 1.5 s where IPC takes 0.6). Written aside and renamed, like a table. Returns the
        path and the row count."""
        path = self.part_path(tier, *key)
        rows = 0
        with written_aside(path) as partial, pa.OSFile(str(partial), "wb") as sink, \
                pa.ipc.new_file(sink, schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as writer:
            for table in tables:
                writer.write_table(table.cast(schema))
                rows += table.num_rows
        return path, rows

    def exists(self, tier: str, key: tuple[str, ...]) -> bool:
        return self.path(tier, *key).is_file()

    def _existing(self, tier: str, key: tuple[str, ...]) -> Path:
        path = self.path(tier, *key)
        if not path.is_file():
            raise FileNotFoundError(f"{'/'.join(key)} has not been materialised for tier {tier!r} (no {path})")
        return path

    def read(self, tier: str, key: tuple[str, ...], columns: list[str] | None = None) -> pa.Table:
        return pq.read_table(self._existing(tier, key), columns=columns)

    def num_rows(self, tier: str, key: tuple[str, ...]) -> int:
        """From the file's footer, without reading a row."""
        return pq.read_metadata(self._existing(tier, key)).num_rows

    def batches(self, tier: str, key: tuple[str, ...], columns: list[str] | None = None,
                batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """Stream a table (or some of its columns) in bounded batches, so loads never hold a whole table in
        memory."""
        yield from read_batches(self._existing(tier, key), batch_rows, columns)

    def model_batches(self, tier: str, qualified_name: str, columns: list[str] | None = None,
                      batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """``batches`` of a model table, in the model's Arrow types."""
        table = CATALOG[qualified_name]
        schema = arrow_schema(table)
        for batch in self.batches(tier, (table.service, table.name), columns, batch_rows):
            yield _in_model_types(batch, schema)

    def read_model_table(self, tier: str, qualified_name: str, columns: list[str] | None = None) -> pa.Table:
        """Read a model table back in the model's Arrow types (Parquet widens second timestamps to ms)."""
        table = CATALOG[qualified_name]
        return _in_model_types(self.read(tier, (table.service, table.name), columns), arrow_schema(table))


def _in_model_types(data: pa.Table | pa.RecordBatch, schema: pa.Schema) -> pa.Table | pa.RecordBatch:
    """``data``, some or all of a model table's columns, cast to their types in the model's ``schema``."""
    return data.cast(pa.schema([schema.field(name) for name in data.schema.names]))


@contextmanager
def written_aside(path: Path) -> Iterator[Path]:
    """The side file to write ``path``'s contents into: renamed over ``path`` once the block ends without an
    error (a reader never sees half a file), removed when it raises (nothing is left behind)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def row_groups(tables: Iterable[pa.Table], size: int) -> Iterator[pa.Table]:
    """Re-cut a stream of tables into tables of exactly ``size`` rows (the last one shorter)."""
    held: list[pa.Table] = []
    count = 0
    for table in tables:
        held.append(table)
        count += table.num_rows
        while count >= size:
            whole = pa.concat_tables(held)
            yield whole.slice(0, size)
            rest = whole.slice(size)
            held, count = [rest], rest.num_rows
    if count:
        yield pa.concat_tables(held)


def part_batches(path: Path) -> Iterator[pa.RecordBatch]:
    """A part's record batches in order, each read when asked for (never the whole file at once)."""
    with pa.OSFile(str(path)) as source:
        reader = pa.ipc.open_file(source)
        for index in range(reader.num_record_batches):
            yield reader.get_batch(index)


def part_batch_count(path: Path) -> int:
    """From the part's footer, without reading a batch."""
    with pa.OSFile(str(path)) as source:
        return pa.ipc.open_file(source).num_record_batches


def read_batches(path: Path, batch_size: int = BATCH_ROWS,
                 columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
    """A Parquet file's rows in batches, one row group read at a time. Arrow's pre-buffering (on by default)
    would coalesce the reads of every row group asked for, here the whole file, and hold them to the end:
    790 MB for the stress tier's stock movements."""
    yield from pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=batch_size, columns=columns)
