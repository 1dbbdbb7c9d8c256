"""Export the planted records of a materialised tier, per edge case, for users' own unit tests."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import sqlalchemy as sa
import yaml

from crm_mock.model import CATALOG, Kind, Table
from crm_mock.sinks.databases import ServiceDatabases
from crm_mock.sinks.manifest import manifest_path, read_manifest
from crm_mock.sinks.values import canonical_text, canonical_uuid, stored_uuid


def planted_records(databases: ServiceDatabases, data_dir: str | Path, tier: str) -> dict[str, dict]:
    """case id -> {theme, tests, records: [{service, table, uuid, column, row}]} read from the service
    databases (SQLite or PostgreSQL, through the port), so what is exported is what was loaded. UUIDs are
    exported in canonical text whatever the databases' storage."""
    cases: dict[str, dict] = {}
    entries = read_manifest(manifest_path(data_dir, tier))
    by_service: dict[str, list[dict]] = {}
    for entry in entries:
        by_service.setdefault(entry["service"], []).append(entry)
    rows: dict[int, tuple | None] = {}
    for service, planted in by_service.items():
        storage = databases.uuid_storage(tier, service)
        with databases.connect(tier, service) as connection:
            for entry in planted:
                table = CATALOG[entry["table"]]
                key = entry["uuid"] if storage is None else stored_uuid(entry["uuid"], storage)
                query = sa.text(f"SELECT {', '.join(table.column_names)} FROM {table.name} "
                                f"WHERE {table.primary_key[0]} = :key")
                rows[id(entry)] = connection.execute(query, {"key": key}).first()
    for entry in entries:
        table, row = CATALOG[entry["table"]], rows[id(entry)]
        case = cases.setdefault(entry["case_id"], {"theme": entry["theme"], "tests": entry["tests"], "records": []})
        case["records"].append({"service": entry["service"], "table": entry["table"], "uuid": entry["uuid"],
                                "column": entry["column"], "row": _record(table, row) if row else None})
    return cases


def _record(table: Table, row: tuple) -> dict:
    """The row as plain JSON/YAML values, spelled the same whichever database it came from."""
    record = {}
    for c, v in zip(table.columns, row):
        if v is None:
            record[c.name] = None
        elif c.kind is Kind.UUID:
            record[c.name] = canonical_uuid(v)
        elif isinstance(v, (dt.date, dt.datetime)):
            record[c.name] = canonical_text(c, v)
        elif c.kind is Kind.MONEY:  # SQLite hands back whole amounts as integers, PostgreSQL as Decimal
            record[c.name] = float(v)
        else:
            record[c.name] = v
    return record


def render(cases: dict[str, dict], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(cases, ensure_ascii=False, indent=2) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(cases, allow_unicode=True, sort_keys=False, width=120)
    raise ValueError(f"unknown format {fmt!r}; choose json or yaml")


