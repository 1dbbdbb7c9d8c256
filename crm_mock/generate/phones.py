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
import pyarrow as pa

from crm_mock.generate.frame import fixed_width_strings
from crm_mock.generate.phone_plans import FICTIONAL, ORDINARY, NumberBlock
from crm_mock.generate.random import stream_key

FEISTEL_ROUNDS = 4
FIRST_EXTENSION = 100  # the slots of the n-th wrap round carry "ext. 100+n"
_FMIX1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_SHIFT = np.uint64(33)


def number_blocks(country: str, contact_details: str) -> list[NumberBlock]:
    """A country's blocks: its fictional ranges when reserved mode has them, its ordinary ones otherwise."""
    if contact_details == "reserved" and country in FICTIONAL:
        return FICTIONAL[country]
    return ORDINARY[country]


class NumberSpace:
    """A country's numbers in one sequence: position p is a number of block b, digits p - start[b]."""

    def __init__(self, blocks: list[NumberBlock]) -> None:
        # one spare column past the longest template: the digits a shorter block does not use are written there
        width = max(len(b.template) for b in blocks) + 1
        digits = max(b.template.count("#") for b in blocks)
        self.templates = np.zeros((len(blocks), width), dtype=np.uint8)
        self.lengths = np.array([len(b.template) for b in blocks], dtype=np.int64)
        self.digit_counts = np.array([b.template.count("#") for b in blocks], dtype=np.int64)
        # column of each free digit, right-aligned (the last '#' in the last column) so that digit j of
        # every block has the same place value 10**(digits-1-j); unused ones point at the spare column
        self.digit_columns = np.full((len(blocks), digits), width - 1, dtype=np.int64)
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
        return fixed_width_strings(*self.render_bytes(positions)).to_numpy(zero_copy_only=False)

    def render_bytes(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The numbers at ``positions`` as ASCII, one row of a uint8 matrix each, with each number's length."""
        positions = np.asarray(positions, dtype=np.int64)
        block = np.searchsorted(self.starts, positions, side="right") - 1
        value = positions - self.starts[block] + self.firsts[block]
        text = self.templates[block]
        digits = self.digit_columns.shape[1]
        place = 10 ** np.arange(digits - 1, -1, -1, dtype=np.int64)
        cells = self.digit_columns[block]
        cells += (np.arange(len(positions)) * text.shape[1])[:, None]
        text.ravel()[cells.ravel()] = (ord("0") + (value[:, None] // place) % 10).ravel()
        return text, self.lengths[block]


@lru_cache(maxsize=64)
def number_space(country: str, contact_details: str) -> NumberSpace:
    return NumberSpace(number_blocks(country, contact_details))


@lru_cache(maxsize=64)
def _joint_space(countries: tuple[str, ...], contact_details: str) -> NumberSpace:
    """The countries' number spaces one after another, so the numbers of rows of every country render at once
    (a country's position p is the joint space's ``starts_of_country[c] + p``)."""
    return NumberSpace([b for c in countries for b in number_blocks(c, contact_details)])


def _country_starts(countries: tuple[str, ...], contact_details: str) -> np.ndarray:
    sizes = np.array([number_space(c, contact_details).size for c in countries], dtype=np.int64)
    return np.concatenate([[0], np.cumsum(sizes)[:-1]])


def _round(half: np.ndarray, key: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser of the keyed half-word: the Feistel round function (in place on a new
    array: each step of a block's rows allocates nothing more)."""
    z = half ^ key
    shifted = z >> _SHIFT
    with np.errstate(over="ignore"):
        z ^= shifted
        z *= _FMIX1
        np.right_shift(z, _SHIFT, out=shifted)
        z ^= shifted
        z *= _FMIX2
    np.right_shift(z, _SHIFT, out=shifted)
    z ^= shifted
    return z


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
    return _permute(values, sizes, [np.ascontiguousarray(keys[:, r], dtype=np.uint64) for r in range(keys.shape[1])])


def _permute(values: np.ndarray, sizes: np.ndarray, round_keys: list[np.ndarray]) -> np.ndarray:
    """``permute_rows`` with the round keys given one array per round."""
    sizes = np.asarray(sizes, dtype=np.int64)
    half_bits = np.maximum(1, (_bit_length(np.maximum(sizes - 1, 0)) + 1) // 2).astype(np.uint64)
    out = np.asarray(values, dtype=np.uint64).copy()
    rows = np.arange(len(out))
    x, shift, limit = out.copy(), half_bits, sizes.astype(np.uint64)
    mask = (np.uint64(1) << shift) - np.uint64(1)
    while len(rows):
        left, right = x >> shift, x & mask
        for key in round_keys:
            mixed = _round(right, key)
            mixed &= mask
            mixed ^= left
            left, right = right, mixed
        x = left
        x <<= shift
        x |= right
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


@lru_cache(maxsize=4096)
def _keys(seed: int, country: str, wrap: int) -> np.ndarray:
    return np.array([stream_key(seed, "phone", country, wrap, r)[0] for r in range(FEISTEL_ROUNDS)], dtype=np.uint64)


def country_numbers(seed: int, country: str, slots: np.ndarray, contact_details: str) -> np.ndarray:
    """The phone numbers of slots of one country (an object array of str): distinct slots, distinct numbers."""
    slots = np.asarray(slots, dtype=np.int64)
    return phone_numbers(seed, (country,), np.zeros(len(slots), dtype=np.int64), slots,
                         contact_details).to_numpy(zero_copy_only=False)


def phone_numbers(seed: int, countries: tuple[str, ...], country: np.ndarray, slots: np.ndarray,
                  contact_details: str) -> pa.StringArray:
    """Numbers for rows of several countries: ``country`` indexes ``countries``; ``slots`` are each row's
    place among its country's rows (distinct slots of a country, distinct numbers)."""
    country = np.asarray(country, dtype=np.int64)
    slots = np.asarray(slots, dtype=np.int64)
    sizes = np.array([number_space(c, contact_details).size for c in countries], dtype=np.int64)
    size = sizes[country]
    wrap, within = np.divmod(slots, size)
    stride = int(wrap.max(initial=0)) + 1  # one code per (country, wrap): each has its own round keys
    code = country * stride + wrap
    present = np.flatnonzero(np.bincount(code, minlength=len(countries) * stride))
    keys = np.zeros((len(countries) * stride, FEISTEL_ROUNDS), dtype=np.uint64)
    for c in present:
        keys[c] = _keys(seed, countries[c // stride], int(c % stride))
    positions = _permute(within, size, [keys[:, r][code] for r in range(FEISTEL_ROUNDS)])
    numbers, lengths = _joint_space(countries, contact_details).render_bytes(
        _country_starts(countries, contact_details)[country] + positions)
    wrapped = wrap > 0
    extensions = np.char.add(b" ext. ", (FIRST_EXTENSION + wrap[wrapped]).astype("S")) if wrapped.any() \
        else np.zeros(0, dtype="S1")
    text = numbers if not len(extensions) else np.pad(numbers, ((0, 0), (0, extensions.dtype.itemsize)))
    if len(extensions):  # the extension follows the number's last digit
        rows = np.flatnonzero(wrapped)
        suffix = extensions.view(np.uint8).reshape(len(extensions), extensions.dtype.itemsize)
        suffix_lengths = np.char.str_len(extensions)
        columns = lengths[rows][:, None] + np.arange(suffix.shape[1])
        keep = np.arange(suffix.shape[1]) < suffix_lengths[:, None]
        text[np.broadcast_to(rows[:, None], columns.shape)[keep], columns[keep]] = suffix[keep]
        lengths[rows] += suffix_lengths
    return fixed_width_strings(text, lengths)


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
