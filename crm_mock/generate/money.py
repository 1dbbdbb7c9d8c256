"""Money in a document's currency: conversion from the base currency, rounding to the currency's minor
unit (whole yen for JPY), discounted line totals, and human-readable document numbers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crm_mock.model import vocabularies as v
from crm_mock.scenario import TierPlan


def cents_per_unit(codes: np.ndarray) -> np.ndarray:
    """How many hundredths make the smallest amount of each currency: 1 for cents, 100 for whole yen."""
    table = {code: 10 ** (2 - digits) for code, digits in v.CURRENCY_MINOR_UNITS.items()}
    return np.array([table[c] for c in codes], dtype=np.int64) if len(codes) else np.zeros(0, np.int64)


def rates(plan: TierPlan, codes: np.ndarray) -> np.ndarray:
    """Units of each currency per unit of the base currency."""
    table = plan.commercial.exchange_rates
    return np.array([table[c] for c in codes], dtype=np.float64) if len(codes) else np.zeros(0)


def round_to(cents: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """Amounts in hundredths rounded half up to a multiple of ``unit`` hundredths."""
    cents = np.asarray(cents, dtype=np.float64)
    return (np.floor(cents / unit + 0.5) * unit).astype(np.int64)


# elements per slice of discounted_total: its intermediates are a few int64 arrays of this size, not of the
# whole input (7-9 M lines at the stress tier made them 300 MB)
TOTAL_SLICE = 1 << 20


def discounted_total(quantity: np.ndarray, price_cents: np.ndarray, discount_percent: np.ndarray,
                     unit: np.ndarray) -> np.ndarray:
    """quantity × unit price × (100 − discount) / 100, in hundredths, rounded half up to the minor unit."""
    parts = np.broadcast_arrays(np.asarray(quantity), np.asarray(price_cents), np.asarray(discount_percent),
                                np.asarray(unit))
    if parts[0].ndim != 1 or len(parts[0]) <= TOTAL_SLICE:
        return _discounted_total(*parts)
    out = np.empty(len(parts[0]), dtype=np.result_type(np.int64, parts[3]))
    for start in range(0, len(out), TOTAL_SLICE):
        out[start:start + TOTAL_SLICE] = _discounted_total(*(p[start:start + TOTAL_SLICE] for p in parts))
    return out


def document_totals(offsets: np.ndarray, quantity: np.ndarray, price_cents: np.ndarray, discount_percent: np.ndarray,
                    unit: np.ndarray) -> np.ndarray:
    """Each document's total: the sum of its lines' ``discounted_total`` (document d's lines are
    ``offsets[d]:offsets[d + 1]``; ``unit`` is per document), worked out about TOTAL_SLICE lines at a time, so no
    int64 array of every line is ever held (three of them, 200 MB, for the stress tier's 8.6 M quote lines)."""
    n = len(offsets) - 1
    totals = np.zeros(max(n, 0), dtype=np.int64)
    start = 0
    while start < n:
        # the documents whose lines end within the slice, and at least one
        stop = max(start + 1, min(n, int(np.searchsorted(offsets, offsets[start] + TOTAL_SLICE, side="right")) - 1))
        first, last = int(offsets[start]), int(offsets[stop])
        line_unit = np.repeat(unit[start:stop], np.diff(offsets[start:stop + 1]))
        line = discounted_total(quantity[first:last], price_cents[first:last], discount_percent[first:last], line_unit)
        running = np.concatenate([[0], np.cumsum(line, dtype=np.int64)])
        ends = offsets[start:stop + 1] - first
        totals[start:stop] = running[ends[1:]] - running[ends[:-1]]
        start = stop
    return totals


def _discounted_total(quantity: np.ndarray, price_cents: np.ndarray, discount_percent: np.ndarray,
                      unit: np.ndarray) -> np.ndarray:
    exact = np.asarray(quantity, np.int64) * np.asarray(price_cents, np.int64) * (100 - np.asarray(discount_percent, np.int64))
    scale = 100 * np.asarray(unit, np.int64)
    return np.floor_divide(exact + scale // 2, scale) * unit


@dataclass(frozen=True)
class DocumentNumbers:
    """PREFIX-YYYY-NNNNNNN per row, kept as year and sequence (6 bytes a row, not a Python string) and
    written out only for the rows asked for: ``numbers[rows]`` is an object array (None where undated),
    ``numbers[i]`` a str or None."""

    prefix: str
    year: np.ndarray  # int16
    sequence: np.ndarray  # int64, 0 where undated

    def __len__(self) -> int:
        return len(self.sequence)

    def __getitem__(self, rows):
        year, sequence = self.year[rows], self.sequence[rows]
        if np.ndim(sequence) == 0:
            return f"{self.prefix}-{int(year)}-{int(sequence):07d}" if sequence else None
        out = np.full(len(sequence), None, dtype=object)
        dated = sequence > 0
        if not dated.any():  # a block of documents none of which is issued yet (the newest, at the stress tier)
            return out
        out[dated] = np.char.add(np.char.add(f"{self.prefix}-", year[dated].astype(np.int64).astype(str)),
                                 np.char.add("-", np.char.zfill(sequence[dated].astype(str), 7))).astype(object)
        return out


def document_numbers(prefix: str, moments: np.ndarray) -> DocumentNumbers:
    """Numbered from 1 in each calendar year in time order (ties in row order), so numbers are unique and
    increase with time; none where the moment is NaT."""
    moments = np.asarray(moments).astype("datetime64[s]")
    year = np.zeros(len(moments), dtype=np.int16)
    sequence = np.zeros(len(moments), dtype=np.int64)
    dated = np.flatnonzero(~np.isnat(moments))
    if len(dated):
        order = dated[np.lexsort((dated, moments[dated]))]
        years = moments[order].astype("datetime64[Y]").astype(np.int64) + 1970
        first_of_year = np.r_[True, years[1:] != years[:-1]]
        start = np.maximum.accumulate(np.where(first_of_year, np.arange(len(order)), 0))
        year[order] = years
        sequence[order] = np.arange(len(order)) - start + 1
    return DocumentNumbers(prefix, year, sequence)
