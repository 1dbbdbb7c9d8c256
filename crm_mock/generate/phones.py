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
_X, _SHIFT_ROW, _MASK, _LIMIT, _ROW, _FIRST_KEY = range(6)  # rows of the walk's state


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

    def render_bytes(self, positions: np.ndarray, spare: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The numbers at ``positions`` as ASCII, one row of a uint8 matrix each, with each number's length;
        ``spare`` more zero columns on the right leave room for a suffix."""
        positions = np.asarray(positions, dtype=np.int64)
        block = np.searchsorted(self.starts, positions, side="right") - 1
        value = positions - self.starts[block] + self.firsts[block]
        width = self.templates.shape[1] + spare
        text = np.zeros((len(positions), width), dtype=np.uint8)
        text[:, :self.templates.shape[1]] = self.templates[block]
        cells = text.ravel()
        row_starts = np.arange(0, len(positions) * width, width, dtype=np.int64)
        columns = self.digit_columns[block]
        digit, rest = np.empty_like(value), np.empty_like(value)
        for j in range(columns.shape[1] - 1, -1, -1):  # last digit first: numpy divides by a constant fast,
            np.floor_divide(value, 10, out=rest)       # but its remainder by one is several times slower
            np.multiply(rest, -10, out=digit)
            digit += value
            digit += ord("0")
            cells[row_starts + columns[:, j]] = digit
            value, rest = rest, value
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
    array: each step of a block's rows allocates nothing more; uint64 arrays wrap on overflow without a warning,
    so no ``errstate`` is entered, which cost a quarter of a round on the walk's short arrays)."""
    z = half ^ key
    shifted = z >> _SHIFT
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
    return _permute(values, sizes, np.asarray(keys, dtype=np.uint64).T)


def _permute(values: np.ndarray, sizes: np.ndarray, round_keys: np.ndarray) -> np.ndarray:
    """``permute_rows`` with the round keys given one row per round."""
    sizes = np.asarray(sizes, dtype=np.int64)
    half_bits = np.maximum(1, (_bit_length(np.maximum(sizes - 1, 0)) + 1) // 2).astype(np.uint64)
    out = np.asarray(values, dtype=np.uint64).copy()
    # everything a walking value carries, one row each, so that one gather drops the values that have landed:
    # a block's walk takes up to ~25 passes whose arrays are short, where numpy's cost per call dominates
    state = np.empty((_FIRST_KEY + len(round_keys), len(out)), dtype=np.uint64)
    state[_X], state[_SHIFT_ROW], state[_LIMIT], state[_ROW] = out, half_bits, sizes, np.arange(len(out))
    state[_MASK] = (np.uint64(1) << half_bits) - np.uint64(1)
    state[_FIRST_KEY:] = round_keys
    while state.shape[1]:
        x, shift, mask = state[_X], state[_SHIFT_ROW], state[_MASK]
        left, right = x >> shift, x & mask
        for key in state[_FIRST_KEY:]:
            mixed = _round(right, key)
            mixed &= mask
            mixed ^= left
            left, right = right, mixed
        np.left_shift(left, shift, out=x)
        x |= right
        out[state[_ROW]] = x
        walking = np.flatnonzero(x >= state[_LIMIT])
        if len(walking) == 0:
            break
        state = state.take(walking, axis=1)
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
    positions = _permute(within, size, keys.T[:, code])
    wrapped = np.flatnonzero(wrap > 0)
    wraps, which = np.unique(wrap[wrapped], return_inverse=True)
    suffixes = _extensions(tuple(wraps.tolist()))
    text, lengths = _joint_space(countries, contact_details).render_bytes(
        _country_starts(countries, contact_details)[country] + positions, spare=suffixes.shape[1])
    if len(wrapped):  # the extension follows the number's last digit (what follows a row's length is not read)
        text[wrapped[:, None], lengths[wrapped][:, None] + np.arange(suffixes.shape[1])] = suffixes[which]
        lengths[wrapped] += np.count_nonzero(suffixes, axis=1)[which]
    return fixed_width_strings(text, lengths)


@lru_cache(maxsize=256)
def _extensions(wraps: tuple[int, ...]) -> np.ndarray:
    """The written extensions of these wrap rounds, one zero-padded ASCII row each."""
    texts = [f" ext. {FIRST_EXTENSION + w}".encode("ascii") for w in wraps]
    out = np.zeros((len(texts), max(map(len, texts), default=0)), dtype=np.uint8)
    for row, text in zip(out, texts):
        row[:len(text)] = np.frombuffer(text, dtype=np.uint8)
    out.flags.writeable = False
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
