"""Phone numbers drawn without replacement: row slot -> a keyed bijection -> a number of the country.

Each row has a slot, its place among the rows of its country (accounts first, then contacts), so the
slots of one country are 0, 1, 2, … with no gaps or repeats at any tier. A keyed permutation of the
country's number space (a Feistel network, cycle-walked into range) turns the slot into a position,
and the position into digits of one of the country's blocks; distinct slots give distinct numbers,
computed block by block with no lookup. When a tier has more rows of a country than the country has
fictional numbers, the slots past the end wrap round with an extension ("ext. 101", …): the dialled
number stays fictional and the written number stays unique.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from crm_mock.generate.phone_plans import FICTIONAL, ORDINARY, NumberBlock
from crm_mock.generate.random import stream_key

FEISTEL_ROUNDS = 4
FIRST_EXTENSION = 100  # the slots of the n-th wrap round carry "ext. 100+n"
_FMIX1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX2 = np.uint64(0xC4CEB9FE1A85EC53)


def number_blocks(country: str, contact_details: str) -> list[NumberBlock]:
    """A country's blocks: its fictional ranges when reserved mode has them, its ordinary ones otherwise."""
    if contact_details == "reserved" and country in FICTIONAL:
        return FICTIONAL[country]
    return ORDINARY[country]


class NumberSpace:
    """A country's numbers in one sequence: position p is a number of block b, digits p - start[b]."""

    def __init__(self, blocks: list[NumberBlock]) -> None:
        width = max(len(b.template) for b in blocks)
        digits = max(b.template.count("#") for b in blocks)
        self.templates = np.zeros((len(blocks), width), dtype=np.uint8)
        self.lengths = np.array([len(b.template) for b in blocks], dtype=np.int64)
        self.digit_counts = np.array([b.template.count("#") for b in blocks], dtype=np.int64)
        # column of each free digit, right-aligned (the last '#' in the last column) so that digit j of
        # every block has the same place value 10**(digits-1-j); unused columns point at column 0
        self.digit_columns = np.zeros((len(blocks), digits), dtype=np.int64)
        for i, block in enumerate(blocks):
            self.templates[i, :len(block.template)] = np.frombuffer(block.template.encode("ascii"), dtype=np.uint8)
            columns = [c for c, ch in enumerate(block.template) if ch == "#"]
            self.digit_columns[i, digits - len(columns):] = columns
        self.firsts = np.array([b.first for b in blocks], dtype=np.int64)
        sizes = np.array([b.size for b in blocks], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.size = int(sizes.sum())

    def render(self, positions: np.ndarray) -> np.ndarray:
        """The numbers at ``positions`` (each in [0, size)) as an object array of str."""
        positions = np.asarray(positions, dtype=np.int64)
        block = np.searchsorted(self.starts, positions, side="right") - 1
        value = positions - self.starts[block] + self.firsts[block]
        text = self.templates[block]
        rows = np.arange(len(positions))
        digits = self.digit_columns.shape[1]
        for j in range(digits):
            used = j >= digits - self.digit_counts[block]
            digit = (value // 10 ** (digits - 1 - j)) % 10
            text[rows[used], self.digit_columns[block[used], j]] = ord("0") + digit[used]
        # fixed-width bytes drop their trailing NULs, so shorter templates come out at their own length
        return text.view(f"S{text.shape[1]}").ravel().astype(str).astype(object)


@lru_cache(maxsize=64)
def number_space(country: str, contact_details: str) -> NumberSpace:
    return NumberSpace(number_blocks(country, contact_details))


def _round(half: np.ndarray, key: np.uint64) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser of the keyed half-word: the Feistel round function."""
    with np.errstate(over="ignore"):
        z = half ^ key
        z = (z ^ (z >> np.uint64(33))) * _FMIX1
        z = (z ^ (z >> np.uint64(33))) * _FMIX2
    return z ^ (z >> np.uint64(33))


def permute(values: np.ndarray, size: int, keys: np.ndarray) -> np.ndarray:
    """A keyed bijection of [0, size): a balanced Feistel network on the smallest even number of bits
    that holds ``size``, re-applied to any value that lands outside the range (cycle walking)."""
    values = np.asarray(values)
    return permute_rows(values, np.full(len(values), size, dtype=np.int64),
                        np.broadcast_to(np.asarray(keys, dtype=np.uint64), (len(values), len(keys))))


def permute_rows(values: np.ndarray, sizes: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """``permute`` of each value with its own range size and round keys (one row of ``keys`` per value):
    the rows of every country and wrap of a block go through the network together, so its cost is a few
    array operations per round rather than per country. Values still out of range walk on; the others
    leave the working arrays, which shrink every pass."""
    sizes = np.asarray(sizes, dtype=np.int64)
    half_bits = np.maximum(1, (_bit_length(np.maximum(sizes - 1, 0)) + 1) // 2).astype(np.uint64)
    out = np.asarray(values, dtype=np.uint64).copy()
    rows = np.arange(len(out))
    x, shift, limit = out.copy(), half_bits, sizes.astype(np.uint64)
    mask = (np.uint64(1) << shift) - np.uint64(1)
    round_keys = [np.ascontiguousarray(keys[:, r], dtype=np.uint64) for r in range(keys.shape[1])]
    while len(rows):
        left, right = x >> shift, x & mask
        for key in round_keys:
            left, right = right, left ^ (_round(right, key) & mask)
        x = (left << shift) | right
        out[rows] = x
        walk = x >= limit
        if not walk.any():
            break
        rows, x, shift, mask, limit = rows[walk], x[walk], shift[walk], mask[walk], limit[walk]
        round_keys = [key[walk] for key in round_keys]
    return out.astype(np.int64)


def _bit_length(values: np.ndarray) -> np.ndarray:
    """int.bit_length of each non-negative value (below 2**53, exact in float64)."""
    out = np.zeros(len(values), dtype=np.int64)
    positive = values > 0
    out[positive] = np.floor(np.log2(values[positive].astype(np.float64))).astype(np.int64) + 1
    return out


def _keys(seed: int, country: str, wrap: int) -> np.ndarray:
    return np.array([stream_key(seed, "phone", country, wrap, r)[0] for r in range(FEISTEL_ROUNDS)], dtype=np.uint64)


def country_numbers(seed: int, country: str, slots: np.ndarray, contact_details: str) -> np.ndarray:
    """The phone numbers of slots of one country: distinct slots, distinct numbers."""
    slots = np.asarray(slots, dtype=np.int64)
    return phone_numbers(seed, (country,), np.zeros(len(slots), dtype=np.int64), slots, contact_details)


def phone_numbers(seed: int, countries: tuple[str, ...], country: np.ndarray, slots: np.ndarray,
                  contact_details: str) -> np.ndarray:
    """Numbers for rows of several countries: ``country`` indexes ``countries``; ``slots`` are each row's
    place among its country's rows (distinct slots of a country, distinct numbers)."""
    country = np.asarray(country, dtype=np.int64)
    slots = np.asarray(slots, dtype=np.int64)
    present = np.unique(country)
    spaces = {int(c): number_space(countries[c], contact_details) for c in present}
    size = np.array([spaces[int(c)].size for c in present], dtype=np.int64)[np.searchsorted(present, country)]
    wrap, within = np.divmod(slots, size)
    stride = int(wrap.max(initial=0)) + 1  # one code per (country, wrap): each has its own round keys
    codes, inverse = np.unique(country * stride + wrap, return_inverse=True)
    key_table = np.array([_keys(seed, countries[c // stride], int(c % stride)) for c in codes],
                         dtype=np.uint64).reshape(len(codes), FEISTEL_ROUNDS)
    positions = permute_rows(within, size, key_table[np.ravel(inverse)])
    out = np.empty(len(country), dtype=object)
    for c in present:
        rows = country == c
        numbers = spaces[int(c)].render(positions[rows])
        wrapped = wrap[rows] > 0
        if wrapped.any():
            numbers[wrapped] = (numbers[wrapped] + " ext. "
                                + (FIRST_EXTENSION + wrap[rows][wrapped]).astype(str).astype(object))
        out[rows] = numbers
    return out


def slots_by_group(groups: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """For each item, the total weight of the earlier items of its group (its rank when unweighted)."""
    groups = np.asarray(groups)
    weights = np.ones(len(groups), dtype=np.int64) if weights is None else np.asarray(weights, dtype=np.int64)
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    before = np.cumsum(weights[order]) - weights[order]
    group_start = np.searchsorted(sorted_groups, sorted_groups, side="left")
    out = np.empty(len(groups), dtype=np.int64)
    out[order] = before - before[group_start]
    return out
