"""Pacing (when an event may start) and rate limits (how fast a service may be called)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from dataclasses import dataclass

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"not a duration: {text!r} (e.g. 500ms, 30s, 5m, 2h)")
    return float(match[1]) * _UNITS[match[2]]


@dataclass(frozen=True)
class Pace:
    """``asap`` (default): an event starts as soon as what it follows has finished. ``x600``: the history
    replays 600 times faster than it happened. ``fit:2h``: the history is squeezed into two hours. Gaps
    between consecutive events are capped at ``max_gap_s`` either way."""

    mode: str = "asap"
    factor: float = 1.0
    duration_s: float = 0.0
    max_gap_s: float = 5.0

    @classmethod
    def parse(cls, text: str, max_gap: str = "5s") -> "Pace":
        gap = parse_duration(max_gap)
        text = text.strip()
        if text == "asap":
            return cls(max_gap_s=gap)
        if re.fullmatch(r"x\d+(\.\d+)?", text) and float(text[1:]) > 0:
            return cls("speed", factor=float(text[1:]), max_gap_s=gap)
        if text.startswith("fit:"):
            return cls("fit", duration_s=parse_duration(text[4:]), max_gap_s=gap)
        raise ValueError(f"pace must be asap, x<factor> (e.g. x3600) or fit:<duration> (e.g. fit:30m), not {text!r}")

    def offsets(self, moments: list[dt.datetime]) -> list[float] | None:
        """Seconds after the start at which each event (in plan order) is released; None for asap."""
        if self.mode == "asap" or not moments:
            return None
        factor = self.factor
        if self.mode == "fit":
            span = (moments[-1] - moments[0]).total_seconds()
            factor = max(span / self.duration_s, 1e-9) if span > 0 else 1.0
        offsets, now = [0.0], 0.0
        for previous, current in zip(moments, moments[1:]):
            now += min(max((current - previous).total_seconds(), 0.0) / factor, self.max_gap_s)
            offsets.append(now)
        return offsets


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; 0 means unlimited."""

    def __init__(self, rate: float, burst: int = 1) -> None:
        self.rate, self.burst = rate, max(1, burst)
        self.tokens = float(self.burst)
        self.stamp = time.monotonic()
        self.lock = asyncio.Lock()

    async def take(self) -> None:
        if self.rate <= 0:
            return
        async with self.lock:
            while True:
                now = time.monotonic()
                self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)
