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
        counter = np.array([0, 0, block, 0], dtype=np.uint64)
        self._bits = np.random.Philox(key=stream_key(seed, *names), counter=counter)

    def raw(self, n: int) -> np.ndarray:
        return self._bits.random_raw(n).astype(np.uint64, copy=False)

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
        u1 = 1.0 - self.uniform(n)  # (0, 1], keeps log finite
        u2 = self.uniform(n)
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)

    def lognormal(self, median, sigma, n: int) -> np.ndarray:
        return np.asarray(median, dtype=np.float64) * np.exp(np.asarray(sigma, dtype=np.float64) * self.normal(n))

    def permutation(self, n: int) -> np.ndarray:
        return np.argsort(self.uniform(n), kind="stable")
