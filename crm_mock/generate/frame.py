"""Turning generated columns into Arrow tables that match the data model exactly, block by block."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from crm_mock.generate.progress import phase
from crm_mock.model import CATALOG, Table
from crm_mock.model.ddl import arrow_schema


def build_table(table: Table | str, columns: dict[str, object]) -> pa.Table:
    """An Arrow table with exactly the model's columns, in the model's order and types."""
    table = CATALOG[table] if isinstance(table, str) else table
    schema = arrow_schema(table)
    missing = [n for n in schema.names if n not in columns]
    extra = [n for n in columns if n not in schema.names]
    if missing or extra:
        raise ValueError(f"{table.qualified_name}: generator columns differ from the model "
                         f"(missing {missing}, not in the model {extra})")
    arrays = []
    for field in schema:
        values = columns[field.name]
        array = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values, from_pandas=True)
        arrays.append(array.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def cents_to_money(cents: np.ndarray) -> np.ndarray:
    """Money is computed in whole cents (exact sums) and stored as 2-decimal values."""
    return np.asarray(cents, dtype=np.int64) / 100.0


def concat(*parts) -> np.ndarray:
    """Element-wise string concatenation of object arrays and plain strings."""
    out = np.asarray(parts[0], dtype=object)
    for part in parts[1:]:
        out = out + (np.asarray(part, dtype=object) if not isinstance(part, str) else part)
    return out


@dataclass(frozen=True)
class Block:
    index: int
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start


def blocks_of(n_rows: int, block_rows: int) -> list[Block]:
    return [Block(b, start, min(start + block_rows, n_rows))
            for b, start in enumerate(range(0, n_rows, block_rows))]


def assemble(make_block: Callable[[Block], pa.Table], n_rows: int, block_rows: int,
             only: Iterable[int] | None = None, unit: str = "rows") -> pa.Table:
    """Generate the chosen blocks (all by default) and concatenate them in block order.

    Each block depends only on its own index, so any subset can be generated alone, in any order. The step
    at work hears of each block done, counted in ``unit`` (what a block's rows are: "orders" where each order
    yields its lines).
    """
    blocks = blocks_of(n_rows, block_rows)
    chosen = blocks if only is None else [blocks[i] for i in sorted(set(only))]
    progress = phase("generate", sum(block.size for block in chosen), unit)
    tables = []
    for block in chosen:
        tables.append(make_block(block))
        progress.advance(block.size)
    if not tables:
        raise ValueError("no blocks to generate")
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


def occurrence_rank(values: np.ndarray) -> np.ndarray:
    """For each value, how many equal values come before it (0 for a first occurrence): strings are hashed
    by Arrow, so millions take a fraction of a second; integers are taken as codes."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    if values.dtype.kind in "iu":  # already codes
        codes = values
    else:
        codes = pa.array(values, pa.string()).dictionary_encode().indices.to_numpy(zero_copy_only=False)
    order = np.argsort(codes, kind="stable")
    grouped = codes[order]
    position = np.arange(len(order))
    first = np.maximum.accumulate(np.where(np.r_[True, grouped[1:] != grouped[:-1]], position, 0))
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = position - first
    return rank
