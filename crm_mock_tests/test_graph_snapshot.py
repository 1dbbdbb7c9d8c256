"""A snapshot of the Dagster graph (every asset's key, deps, group, description, owners, tags, kinds and
checks; the jobs, schedules and sensors), committed as JSON, so any edit of the model, the catalogue or the
definitions shows up in review as a graph diff.

After an intended change: CRM_MOCK_UPDATE_SNAPSHOT=1 pytest crm_mock_tests/test_graph_snapshot.py
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import dagster as dg

from crm_mock_tests.conftest import build_defs

SNAPSHOT = Path(__file__).parent / "snapshots" / "graph.json"
UPDATE_ENV = "CRM_MOCK_UPDATE_SNAPSHOT"


def _key(key: dg.AssetKey) -> str:
    return key.to_user_string()


def graph_snapshot(defs: dg.Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=_key):
        node = graph.get(key)
        checks = {}
        for check_key in sorted(node.check_keys, key=lambda k: k.name):
            check = graph.get(check_key)
            checks[check_key.name] = {"blocking": check.blocking, "description": check.description}
        assets[_key(key)] = {
            "group": node.group_name,
            "deps": sorted(_key(parent) for parent in node.parent_keys),
            "description": node.description,
            "owners": sorted(node.owners),
            "tags": dict(sorted(node.tags.items())),
            "kinds": sorted(node.kinds),
            "partitions": sorted(node.partitions_def.get_partition_keys()) if node.partitions_def else None,
            "checks": checks,
        }
    return {
        "assets": assets,
        "jobs": sorted(job.name for job in defs.jobs),
        "schedules": sorted(schedule.name for schedule in defs.schedules),
        "sensors": sorted(sensor.name for sensor in defs.sensors),
    }


def _dump(snapshot: dict) -> str:
    return json.dumps(snapshot, indent=2, ensure_ascii=False) + "\n"


def test_the_graph_matches_its_snapshot(tmp_path):
    current = _dump(graph_snapshot(build_defs(tmp_path)))
    if os.environ.get(UPDATE_ENV):
        SNAPSHOT.write_text(current, encoding="utf-8")
    committed = SNAPSHOT.read_text(encoding="utf-8") if SNAPSHOT.exists() else ""
    diff = "".join(difflib.unified_diff(committed.splitlines(keepends=True), current.splitlines(keepends=True),
                                        "snapshots/graph.json (committed)", "the graph now"))
    assert not diff, (f"the graph changed; review the diff and, if it is intended, run "
                      f"{UPDATE_ENV}=1 pytest {Path(__file__).name}:\n{diff}")


def test_the_snapshot_sees_a_changed_dependency(tmp_path):
    """The snapshot is not blind: a graph with one dependency removed differs from it."""
    snapshot = graph_snapshot(build_defs(tmp_path))
    committed = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    with_deps = next(name for name, asset in snapshot["assets"].items() if asset["deps"])
    snapshot["assets"][with_deps]["deps"] = snapshot["assets"][with_deps]["deps"][1:]
    assert snapshot != committed
