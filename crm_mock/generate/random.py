"""Counter-based randomness: every (seed, table, purpose, block) owns an independent Philox stream.

Only raw 64-bit words are taken from numpy (their stream is stable across numpy releases); the
conversions to uniforms, integers, choices and normals are ours, so the data does not change when
numpy changes a distribution algorithm.
"""

from __future__ import annotations

import hashlib

import numpy as np

_TWO_POW_MINUS_53 = 1.0 / (1 << 53)


def stream_key(seed: int, *names: str | int) -> np.ndarray:
    digest = hashlib.blake2b(":".join(map(str, (seed, *names))).encode(), digest_size=16).digest()
    return np.frombuffer(digest, dtype="<u8").copy()


class Stream:
    """Random draws for one block of one purpose. Same arguments, same draws, on any machine."""

    def __init__(self, seed: int, *names: str | int, block: int = 0) -> None:
        self._key, self._block = stream_key(seed, *names), block
        self._bits = np.random.Philox(key=self._key, counter=np.array([0, 0, block, 0], dtype=np.uint64))
        self.position = 0  # words drawn so far

    def raw(self, n: int) -> np.ndarray:
        self.position += n
        return self._bits.random_raw(n).astype(np.uint64, copy=False)

    def at(self, word: int) -> Stream:
        """The same stream, from its ``word``-th word on (as a fresh one would draw after ``word`` words): Philox
        counts its output in blocks of four words, so any word is reached without drawing those before it."""
        other = object.__new__(Stream)
        other._key, other._block, other.position = self._key, self._block, word
        other._bits = np.random.Philox(key=self._key, counter=np.array([0, 0, self._block, 0], dtype=np.uint64))
        other._bits.advance(word // 4)
        other._bits.random_raw(word % 4)
        return other

    def uniform(self, n: int) -> np.ndarray:
        """Floats in [0, 1)."""
        return (self.raw(n) >> np.uint64(11)).astype(np.float64) * _TWO_POW_MINUS_53

    def integers(self, low, high, n: int) -> np.ndarray:
        """Integers in [low, high); low and high may be arrays of length n."""
        low = np.asarray(low, dtype=np.int64)
        span = np.asarray(high, dtype=np.int64) - low
        if np.any(span <= 0):
            raise ValueError("integers: high must exceed low")
        return low + np.floor(self.uniform(n) * span).astype(np.int64)

    def choice(self, n: int, weights) -> np.ndarray:
        """Indices into ``weights`` drawn with those (not necessarily normalised) weights."""
        cumulative = np.cumsum(np.asarray(weights, dtype=np.float64))
        picks = np.searchsorted(cumulative / cumulative[-1], self.uniform(n), side="right")
        return np.minimum(picks, len(cumulative) - 1)

    def bernoulli(self, p, n: int) -> np.ndarray:
        return self.uniform(n) < np.asarray(p, dtype=np.float64)

    def normal(self, n: int) -> np.ndarray:
        """Standard normals by Box-Muller."""
        return _box_muller(self.uniform(n), self.uniform(n))

    def lognormal(self, median, sigma, n: int) -> np.ndarray:
        return np.asarray(median, dtype=np.float64) * np.exp(np.asarray(sigma, dtype=np.float64) * self.normal(n))

    def permutation(self, n: int) -> np.ndarray:
        return np.argsort(self.uniform(n), kind="stable")


def _box_muller(u1: np.ndarray, u2: np.ndarray) -> np.ndarray:
    return np.sqrt(-2.0 * np.log(1.0 - u1)) * np.cos(2.0 * np.pi * u2)  # 1 - u1 in (0, 1] keeps log finite


class Draws:
    """Draws made one after another on a stream, each of a known number of rows, taken a range of rows at a time.

    ``Draws(rng, [("product", m, "uniform"), ("base", m, "normal")])`` stands for ``rng.uniform(m)`` then
    ``rng.normal(m)`` drawn in that order from where ``rng`` stands; ``draws.uniform("product", a, b)`` gives rows
    ``a:b`` of the first with the same bytes, without drawing the rest (a plan of millions of rows is drawn a part
    at a time). A normal takes two words per row, laid out as ``normal`` lays them: every row's first word, then
    every row's second.
    """

    _WORDS = {"uniform": 1, "normal": 2}

    def __init__(self, rng: Stream, layout: list[tuple[str, int, str]]) -> None:
        self._rng, self._start, self._rows = rng, {}, {}
        word = rng.position
        for name, rows, kind in layout:
            self._start[name], self._rows[name] = word, rows
            word += rows * self._WORDS[kind]

    def _range(self, name: str, start: int, stop: int) -> tuple[int, int]:
        if not 0 <= start <= stop <= self._rows[name]:
            raise IndexError(f"rows {start}:{stop} of draw {name!r} of {self._rows[name]}")
        return self._start[name] + start, stop - start

    def uniform(self, name: str, start: int, stop: int) -> np.ndarray:
        word, n = self._range(name, start, stop)
        return self._rng.at(word).uniform(n)

    def integers(self, name: str, low, high, start: int, stop: int) -> np.ndarray:
        word, n = self._range(name, start, stop)
        return self._rng.at(word).integers(low, high, n)

    def normal(self, name: str, start: int, stop: int) -> np.ndarray:
        word, n = self._range(name, start, stop)
        return _box_muller(self._rng.at(word).uniform(n), self._rng.at(word + self._rows[name]).uniform(n))

    def lognormal(self, name: str, median, sigma, start: int, stop: int) -> np.ndarray:
        return (np.asarray(median, dtype=np.float64)
                * np.exp(np.asarray(sigma, dtype=np.float64) * self.normal(name, start, stop)))
