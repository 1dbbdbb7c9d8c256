"""Turning generated columns into Arrow tables that match the data model exactly, block by block."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crm_mock.generate.progress import phase
from crm_mock.generate.shared_plans import drop_all_pages
from crm_mock.model import CATALOG, Table
from crm_mock.model.ddl import arrow_schema
from crm_mock.scenario import TierPlan

T = TypeVar("T")


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


def join_strings(*parts: pa.Array | str) -> pa.StringArray:
    """Element-wise concatenation of Arrow string arrays and plain strings (``concat`` without Python objects);
    every part must be free of nulls."""
    if len(parts) == 2 and isinstance(parts[0], str) and not isinstance(parts[1], str):
        return pc.binary_replace_slice(parts[1], 0, 0, parts[0])  # a prefix: 3-5x faster than a join with a scalar
    return pc.binary_join_element_wise(*parts, "")


def fixed_width_strings(text: np.ndarray, lengths: np.ndarray) -> pa.StringArray:
    """Row i of a (rows, width) uint8 matrix of ASCII, cut to ``lengths[i]`` bytes, as Arrow strings built
    straight from the bytes."""
    lengths = np.asarray(lengths, dtype=np.int64)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    data = text[np.arange(text.shape[1]) < lengths[:, None]]
    return pa.Array.from_buffers(pa.string(), len(lengths), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


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


# how often a table's stream lets the pages of the plans it reads go: each drop costs the next blocks a page fault
# per page they read again; without drops a stress-tier step kept every page of its plans it had read (the stock
# movements' 490 MB). Every 128 blocks: 573 -> 290 MiB for the stress movements alone, time within noise
BLOCKS_BETWEEN_PAGE_DROPS = 128


@dataclass(frozen=True)
class Blocks:
    """A table as its blocks: ``make_block`` builds block ``i`` alone (it depends only on its index), so any
    subset can be generated on its own, in any order, and streamed without the whole table in memory.
    ``unit`` says what a block's rows are ("orders" where each order yields its lines)."""

    make_block: Callable[[Block], pa.Table]
    n_rows: int
    block_rows: int
    unit: str = "rows"

    @property
    def count(self) -> int:
        return -(-self.n_rows // self.block_rows)

    def chosen(self, only: Iterable[int] | None = None) -> list[Block]:
        blocks = blocks_of(self.n_rows, self.block_rows)
        return blocks if only is None else [blocks[i] for i in sorted(set(only))]

    def stream(self, only: Iterable[int] | None = None) -> Iterator[pa.Table]:
        """The chosen blocks (all by default) in block order; the step at work hears of each one done."""
        chosen = self.chosen(only)
        progress = phase("generate", sum(block.size for block in chosen), self.unit)
        for done, block in enumerate(chosen, 1):
            yield self.make_block(block)
            progress.advance(block.size)
            if done % BLOCKS_BETWEEN_PAGE_DROPS == 0:
                drop_all_pages()

    def table(self, only: Iterable[int] | None = None) -> pa.Table:
        tables = list(self.stream(only))
        if not tables:
            raise ValueError("no blocks to generate")
        return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


class TableGenerator:
    """A generator as the graph uses it: called, the whole table (or the chosen blocks of it); ``blocks`` gives
    the lazy form that steps stream into the table store block by block, or in shards of blocks."""

    def __init__(self, blocks: Callable[[TierPlan], Blocks]) -> None:
        self.blocks = blocks
        functools.update_wrapper(self, blocks)

    def __call__(self, plan: TierPlan, blocks: Iterable[int] | None = None) -> pa.Table:
        return self.blocks(plan).table(blocks)


def blocked(blocks: Callable[[TierPlan], Blocks]) -> TableGenerator:
    """Decorate a function that describes a table's blocks (its plan is built once, when it is called)."""
    return TableGenerator(blocks)


def concat_ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """``np.concatenate([np.arange(a, b) for a, b in zip(starts, stops)])`` without an array per range."""
    lengths = np.asarray(stops, dtype=np.int64) - np.asarray(starts, dtype=np.int64)
    total = int(lengths.sum())
    before = np.cumsum(lengths) - lengths  # where each range begins in the output
    return np.repeat(np.asarray(starts, dtype=np.int64) - before, lengths) + np.arange(total, dtype=np.int64)


def used_up(columns: list[T]) -> Iterator[T]:
    """Each of ``columns`` in turn, the list letting go of it: a column goes once the caller is done with it (at the
    stress tier a plan's columns are tens of MB each, and holding the old ones beside their copies set peaks)."""
    while columns:
        yield columns.pop(0)


def taken_at(order: np.ndarray, columns: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """``columns`` (used up) each taken at ``order``, one at a time."""
    return tuple(column[order] for column in used_up(columns))


def occurrence_rank(values: np.ndarray | pa.Array | pa.ChunkedArray) -> np.ndarray:
    """For each value, how many equal values come before it (0 for a first occurrence): strings (an object
    array or Arrow's) are hashed by Arrow, so millions take a fraction of a second; integers are taken as codes."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        codes = values.dictionary_encode().indices.to_numpy(zero_copy_only=False)
    elif values.dtype.kind in "iu":  # already codes
        codes = values
    else:
        codes = pa.array(values, pa.string()).dictionary_encode().indices.to_numpy(zero_copy_only=False)
    # each temporary goes as soon as it is spent: at the stress tier these are arrays of millions of opportunities
    order = np.argsort(codes, kind="stable")
    grouped = codes[order]
    starts = np.empty(len(order), dtype=bool)
    starts[0] = True
    np.not_equal(grouped[1:], grouped[:-1], out=starts[1:])
    del grouped
    in_order = np.arange(len(order), dtype=np.int64)
    first = np.where(starts, in_order, 0)
    del starts
    np.maximum.accumulate(first, out=first)
    in_order -= first
    del first
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = in_order
    return rank
