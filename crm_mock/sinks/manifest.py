"""The edge-case manifest file beside a tier's service databases."""

from __future__ import annotations

import json
from pathlib import Path

from crm_mock.sinks.parquet import written_aside

MANIFEST_NAME = "edge_cases_manifest.json"


def manifest_path(data_dir: str | Path, tier: str) -> Path:
    return Path(data_dir) / tier / MANIFEST_NAME


def write_manifest(path: Path, entries: list[dict]) -> Path:
    with written_aside(path) as partial:
        partial.write_text(json.dumps(entries, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def read_manifest(path: Path) -> list[dict]:
    if not path.is_file():
        raise FileNotFoundError(f"no edge-case manifest at {path}; materialise the tier first "
                                f"(crm-mock materialize --tier …)")
    return json.loads(path.read_text(encoding="utf-8"))
