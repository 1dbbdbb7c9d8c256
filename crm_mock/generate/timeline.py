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


def seasonal_weights(start: dt.date, end: dt.date) -> np.ndarray:
    """Relative business volume of each day in [start, end]: a December peak, a summer dip,
    quieter weekends and steady growth toward the reference date."""
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
    day_of_year = (days - days.astype("datetime64[Y]")).astype(np.int64)
    weekday = (days.astype(np.int64) + 3) % 7  # 0 = Monday
    season = 1.0 + 0.3 * np.cos(2 * np.pi * (day_of_year - 340) / 365.25)
    weekend = np.where(weekday >= 5, 0.35, 1.0)
    growth = 1.0 + 0.4 * np.linspace(0.0, 1.0, len(days))
    return season * weekend * growth


def seasonal_moments(start: dt.date, end: dt.date, earliest: np.ndarray, latest: np.ndarray,
                     u_day: np.ndarray, u_time: np.ndarray) -> np.ndarray:
    """Moments between ``earliest`` and ``latest`` (arrays of datetime64[s] within [start, end]),
    with days drawn by the seasonal weights and times within office hours."""
    weights = seasonal_weights(start, end)
    cumulative = np.concatenate([[0.0], np.cumsum(weights)])
    first_day = np.datetime64(start, "D")
    lo = (np.asarray(earliest, dtype="datetime64[s]").astype("datetime64[D]") - first_day).astype(np.int64)
    hi = (np.asarray(latest, dtype="datetime64[s]").astype("datetime64[D]") - first_day).astype(np.int64)
    lo = np.clip(lo, 0, len(weights) - 1)
    hi = np.clip(np.maximum(hi, lo), 0, len(weights) - 1)
    target = cumulative[lo] + u_day * (cumulative[hi + 1] - cumulative[lo])
    day = np.clip(np.searchsorted(cumulative, target, side="right") - 1, lo, hi)
    office_seconds = (8 * 3600 + np.floor(u_time * 10 * 3600)).astype(np.int64)
    moments = (first_day + day.astype("timedelta64[D]")).astype("datetime64[s]") + office_seconds.astype("timedelta64[s]")
    return np.clip(moments, np.asarray(earliest, dtype="datetime64[s]"), np.asarray(latest, dtype="datetime64[s]"))


def within_working_hours(moments: np.ndarray) -> np.ndarray:
    """The same days, with the time of day squeezed into 07:00-19:00 (order within a day kept): goods ship,
    arrive and money posts while people are at work."""
    moments = np.asarray(moments, dtype="datetime64[s]")
    day = moments.astype("datetime64[D]").astype("datetime64[s]")
    seconds = (moments - day).astype(np.int64)
    return day + (7 * 3600 + seconds // 2).astype("timedelta64[s]")
