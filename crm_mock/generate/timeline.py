"""Dates and moments derived from the scenario's reference date, never from today."""

from __future__ import annotations

import datetime as dt

import numpy as np

SECONDS_PER_DAY = 86_400


def moment(value: dt.date | dt.datetime) -> np.datetime64:
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    return np.datetime64(value, "s")


def moments_between(start, end, u: np.ndarray) -> np.ndarray:
    """Moments (seconds) spread over [start, end] by the uniforms ``u``; start/end may be arrays."""
    start = np.asarray(start, dtype="datetime64[s]")
    end = np.asarray(end, dtype="datetime64[s]")
    span = (end - start).astype(np.int64)
    return start + np.floor(u * span).astype(np.int64).astype("timedelta64[s]")


def days_before(reference: dt.date, days: np.ndarray) -> np.ndarray:
    return np.datetime64(reference, "D") - np.asarray(days, dtype=np.int64).astype("timedelta64[D]")


def to_date(moments: np.ndarray) -> np.ndarray:
    return np.asarray(moments, dtype="datetime64[s]").astype("datetime64[D]")
