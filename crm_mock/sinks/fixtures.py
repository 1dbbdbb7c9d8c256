"""Export the planted records of a materialised tier, per edge case, for users' own unit tests."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import yaml

from crm_mock.model import CATALOG, Kind, Table
from crm_mock.model.ddl import UuidStorage
from crm_mock.sinks.manifest import manifest_path, read_manifest
from crm_mock.sinks.sqlite import sqlite_path, uuid_storage_of
from crm_mock.sinks.values import canonical_uuid, stored_uuid


def planted_records(data_dir: str | Path, tier: str) -> dict[str, dict]:
    """case id -> {theme, tests, records: [{service, table, uuid, column, row}]} read from the service
    databases, so what is exported is what was loaded. UUIDs are exported in canonical text whatever the
    databases' storage setting."""
    cases: dict[str, dict] = {}
    connections: dict[str, sqlite3.Connection] = {}
    storages: dict[str, UuidStorage] = {}
    try:
        for entry in read_manifest(manifest_path(data_dir, tier)):
            service = entry["service"]
            if service not in connections:
                database = sqlite_path(data_dir, tier, service)
                if not database.is_file():
                    raise FileNotFoundError(f"no {service} database at {database}; materialise the tier first")
                connections[service] = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
                storages[service] = uuid_storage_of(connections[service], service)
            table = CATALOG[entry["table"]]
            cursor = connections[service].execute(
                f"SELECT {', '.join(table.column_names)} FROM {table.name} WHERE {table.primary_key[0]} = ?",
                (stored_uuid(entry["uuid"], storages[service]),))
            row = cursor.fetchone()
            case = cases.setdefault(entry["case_id"], {"theme": entry["theme"], "tests": entry["tests"],
                                                       "records": []})
            case["records"].append({"service": service, "table": entry["table"], "uuid": entry["uuid"],
                                    "column": entry["column"], "row": _record(table, row) if row else None})
    finally:
        for connection in connections.values():
            connection.close()
    return cases


def _record(table: Table, row: tuple) -> dict:
    return {c.name: canonical_uuid(v) if c.kind is Kind.UUID and v is not None else v
            for c, v in zip(table.columns, row)}


def render(cases: dict[str, dict], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(cases, ensure_ascii=False, indent=2) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(cases, allow_unicode=True, sort_keys=False, width=120)
    raise ValueError(f"unknown format {fmt!r}; choose json or yaml")


