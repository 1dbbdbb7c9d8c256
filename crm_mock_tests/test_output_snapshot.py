"""The staging tier's generated rows, pinned: a digest of every generated table and of the edge-case manifest,
committed as JSON. Rewriting a generator for speed or memory must leave these digests alone; a change that
means to alter the output updates the snapshot and says so in review.

Digests are over the values as Python sees them (``to_pylist``), so they do not depend on Arrow's encoding.
After an intended change: CRM_MOCK_UPDATE_SNAPSHOT=1 pytest crm_mock_tests/test_output_snapshot.py

The default scenario's ``reference_date: today`` would make every digest of a dated column change at midnight
(UTC), so the snapshot is taken on a fixed day: the one it was first pinned on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

from crm_mock.generate import GENERATORS
from crm_mock.generate.manifest import manifest
from crm_mock.scenario import load_scenario, plan_tier

SNAPSHOT = Path(__file__).parent / "snapshots" / "staging_output.json"
UPDATE_ENV = "CRM_MOCK_UPDATE_SNAPSHOT"
TIER = "staging"
REFERENCE_DATE = dt.date(2026, 11, 30)


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, default=str, ensure_ascii=False).encode()).hexdigest()


def output_digests(tier: str = TIER) -> dict[str, dict]:
    plan = plan_tier(load_scenario(today=REFERENCE_DATE), tier)
    digests = {}
    for name in sorted(GENERATORS):
        table = GENERATORS[name](plan)
        columns = {column: _digest(table.column(column).to_pylist()) for column in table.column_names}
        digests[name] = {"rows": table.num_rows, "columns": columns}
    records = manifest(plan)
    digests["manifest"] = {"rows": len(records), "digest": _digest([p.as_dict() for p in records])}
    return digests


def _differences(pinned: dict, current: dict) -> list[str]:
    """The columns (or whole entries: a new table, the manifest, a row count) whose digests differ."""
    names = []
    for table in sorted(set(pinned) | set(current)):
        old, new = pinned.get(table, {}), current.get(table, {})
        if old == new:
            continue
        old_columns, new_columns = old.get("columns", {}), new.get("columns", {})
        columns = [c for c in sorted(set(old_columns) | set(new_columns)) if old_columns.get(c) != new_columns.get(c)]
        names.extend([f"{table}.{c}" for c in columns] or [table])
    return names


def test_generated_rows_match_the_snapshot():
    current = output_digests()
    if os.environ.get(UPDATE_ENV):
        SNAPSHOT.write_text(json.dumps(current, indent=1) + "\n")
    pinned = json.loads(SNAPSHOT.read_text())
    assert pinned == current, (f"the {TIER} tier's output changed: {', '.join(_differences(pinned, current))}; if "
                               f"that is intended, run {UPDATE_ENV}=1 pytest {Path(__file__).name} and commit the "
                               "snapshot")


def test_a_changed_column_is_named():
    pinned = {"a.t": {"rows": 1, "columns": {"x": "1", "y": "2"}}, "manifest": {"rows": 1, "digest": "m"}}
    current = {"a.t": {"rows": 1, "columns": {"x": "1", "y": "3"}}, "manifest": {"rows": 2, "digest": "n"},
               "b.new": {"rows": 0, "columns": {}}}
    assert _differences(pinned, current) == ["a.t.y", "b.new", "manifest"]
