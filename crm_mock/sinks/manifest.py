"""The edge-case manifest file beside a tier's service databases."""

from __future__ import annotations

import json
import os
from pathlib import Path

MANIFEST_NAME = "edge_cases_manifest.json"


def manifest_path(data_dir: str | Path, tier: str) -> Path:
    return Path(data_dir) / tier / MANIFEST_NAME


def write_manifest(path: Path, entries: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(entries, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path


def read_manifest(path: Path) -> list[dict]:
    if not path.is_file():
        raise FileNotFoundError(f"no edge-case manifest at {path}; materialise the tier first "
                                f"(crm-mock materialize --tier …)")
    return json.loads(path.read_text(encoding="utf-8"))
