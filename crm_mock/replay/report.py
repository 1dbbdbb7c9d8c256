"""The replay report, built from the ledger (so it covers every resume): per event type the counts by state,
status codes, errors, latency percentiles and schedule lag; the first failures with their redacted request
and response; what the pipeline failed to produce. JSON and Markdown; thresholds decide the exit code."""

from __future__ import annotations

import json
import math
import operator
import re
from collections import Counter
from dataclasses import dataclass

from crm_mock.replay.ledger import (
    ALREADY_THERE, EXPECTED_FOUND, EXPECTED_MISSING, FAILED, IN_FLIGHT, OK, PENDING, SKIPPED, STATES, Ledger,
)
from crm_mock.replay.redact import Redactor

FIRST_FAILURES = 10
_THRESHOLD = re.compile(r"^\s*([a-z_0-9.]+)\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")
_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne}
METRICS = ("ok", "already_there", "failed", "skipped", "pending", "in_flight", "expected_found", "expected_missing",
           "p50_ms", "p95_ms", "p99_ms", "max_ms", "lag_p95_ms", "lag_max_ms")


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))], 1)


def _latency(values: list[float], prefix: str = "") -> dict[str, float | None]:
    return {f"{prefix}p50_ms": percentile(values, 50), f"{prefix}p95_ms": percentile(values, 95),
            f"{prefix}p99_ms": percentile(values, 99), f"{prefix}max_ms": round(max(values), 1) if values else None}


@dataclass(frozen=True)
class Threshold:
    metric: str
    op: str
    value: float

    @classmethod
    def parse(cls, text: str) -> "Threshold":
        match = _THRESHOLD.match(text)
        if not match or match[1] not in METRICS:
            raise ValueError(f"--fail-on {text!r}: write METRIC OP NUMBER (e.g. 'failed>0', 'p95_ms>500'); "
                             f"metrics: {', '.join(METRICS)}")
        return cls(match[1], match[2], float(match[3]))

    def crossed(self, totals: dict) -> bool:
        value = totals.get(self.metric)
        return value is not None and _OPS[self.op](value, self.value)

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"


def build_report(ledger: Ledger, redactor: Redactor, extra: dict | None = None) -> dict:
    rows = ledger.rows()
    by_event: dict[str, list[dict]] = {}
    for row in rows:
        by_event.setdefault(row["event_id"], []).append(row)
    events = {}
    for event_id, group in by_event.items():
        latencies = [r["latency_ms"] for r in group if r["latency_ms"] is not None and r["kind"] == "drive"]
        lags = [r["lag_ms"] for r in group if r["lag_ms"] is not None]
        errors = Counter(_first_line(r["error"]) for r in group if r["error"] and r["state"] in (FAILED, EXPECTED_MISSING))
        events[event_id] = {
            "kind": group[0]["kind"],
            "states": dict(Counter(r["state"] for r in group)),
            "statuses": dict(Counter(r["status"] for r in group if r["status"])),
            "attempts": sum(r["attempts"] for r in group),
            "errors": dict(errors.most_common(10)),
            **_latency(latencies), **_latency(lags, "lag_"),
        }
    states = Counter(r["state"] for r in rows)
    latencies = [r["latency_ms"] for r in rows if r["latency_ms"] is not None and r["kind"] == "drive"]
    lags = [r["lag_ms"] for r in rows if r["lag_ms"] is not None]
    totals = {state.replace(" ", "_").replace("-", "_"): states.get(state, 0) for state in STATES}
    totals.update(_latency(latencies))
    totals.update(_latency(lags, "lag_"))
    by_seq = {r["seq"]: r for r in rows}
    failures = []
    for row in [r for r in rows if r["state"] == FAILED][:FIRST_FAILURES]:
        failures.append({"seq": row["seq"], "event": row["event_id"], "key": row["key"], "status": row["status"],
                         "attempts": row["attempts"], "error": redactor.text(row["error"] or ""),
                         "request": redactor.text(row["request"] or ""), "response": redactor.text(row["response"] or ""),
                         "skipped_dependants": sum(1 for r in rows if r["root_seq"] == row["seq"])})
    skipped_roots = Counter(r["root_seq"] for r in rows if r["state"] == SKIPPED)
    root_causes = [{"root_seq": seq, "event": by_seq[seq]["event_id"] if seq in by_seq else None,
                    "key": by_seq[seq]["key"] if seq in by_seq else None, "skipped": n}
                   for seq, n in skipped_roots.most_common(FIRST_FAILURES)]
    missing = [{"seq": r["seq"], "event": r["event_id"], "key": r["key"]}
               for r in rows if r["state"] == EXPECTED_MISSING][:50]
    report = {"meta": {k: v for k, v in ledger.meta().items() if k != "target"}, "totals": totals,
              "events": events, "first_failures": failures, "skipped_because_of": root_causes,
              "expected_missing": missing}
    if extra:
        report.update(extra)
    return json.loads(redactor.text(json.dumps(report, default=str), None))


def _first_line(text: str) -> str:
    line = text.splitlines()[0] if text else ""
    return line[:200]


def crossed(report: dict, thresholds: list[Threshold]) -> list[str]:
    return [str(t) for t in thresholds if t.crossed(report["totals"])]


def failed_by_default(report: dict) -> bool:
    t = report["totals"]
    return bool(t["failed"] or t["skipped"] or t["expected_missing"] or t["in_flight"] or t["pending"])


def markdown(report: dict) -> str:
    meta = report["meta"]
    lines = [f"# Replay report: {meta.get('target_name', '?')} · tier {meta.get('tier', '?')}", "",
             f"plan `{meta.get('plan_hash', '')[:16]}…`", ""]
    cols = (OK, ALREADY_THERE, FAILED, SKIPPED, PENDING, IN_FLIGHT, EXPECTED_FOUND, EXPECTED_MISSING)
    lines.append("| event | kind | " + " | ".join(cols) + " | statuses | p50 ms | p95 ms | p99 ms | max ms | lag p95 ms |")
    lines.append("|---|---|" + "---:|" * len(cols) + "---|---:|---:|---:|---:|---:|")
    for event_id, e in report["events"].items():
        statuses = ", ".join(f"{k}×{v}" for k, v in sorted(e["statuses"].items()))
        lines.append(f"| {event_id} | {e['kind']} | " + " | ".join(str(e["states"].get(c, 0)) for c in cols)
                     + f" | {statuses} | {_num(e['p50_ms'])} | {_num(e['p95_ms'])} | {_num(e['p99_ms'])}"
                       f" | {_num(e['max_ms'])} | {_num(e['lag_p95_ms'])} |")
    t = report["totals"]
    lines += ["", "**Totals:** " + ", ".join(f"{k} {v}" for k, v in t.items() if v not in (None, 0)), ""]
    if report["first_failures"]:
        lines += ["## First failures", ""]
        for f in report["first_failures"]:
            lines += [f"- seq {f['seq']} `{f['event']}` {f['key']}: status {f['status']} after {f['attempts']} "
                      f"attempt(s), {f['skipped_dependants']} dependant(s) skipped",
                      f"  - error: `{f['error']}`", f"  - request: `{f['request']}`", f"  - response: `{f['response']}`"]
        lines.append("")
    if report["skipped_because_of"]:
        lines += ["## Skipped because of", ""]
        lines += [f"- {r['skipped']} event(s) after seq {r['root_seq']} `{r['event']}` {r['key']}"
                  for r in report["skipped_because_of"]]
        lines.append("")
    if report["expected_missing"]:
        lines += ["## What the system did not produce", ""]
        lines += [f"- `{m['event']}` {m['key']}" for m in report["expected_missing"]]
        lines.append("")
    if report.get("thresholds_crossed"):
        lines += ["## Thresholds crossed", "", *(f"- `{t}`" for t in report["thresholds_crossed"]), ""]
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"
