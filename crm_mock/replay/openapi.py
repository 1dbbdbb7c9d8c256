"""Offline check of every request body against the system's OpenAPI documents (``plan --validate``)."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import yaml

from crm_mock.replay.bodies import build_body
from crm_mock.replay.engine import Item
from crm_mock.replay.target import Target, TargetError

_PARAM = re.compile(r"\{[^}]*\}")


@dataclass(frozen=True)
class Violation:
    seq: int
    event_id: str
    key: str
    message: str


def _resolve(node: object, document: dict, depth: int = 0) -> object:
    """Inline local ``$ref``s and turn OpenAPI 3.0 ``nullable`` into JSON Schema."""
    if depth > 40:
        raise TargetError("OpenAPI schema nests $refs more than 40 deep (a cycle?)")
    if isinstance(node, list):
        return [_resolve(n, document, depth) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise TargetError(f"OpenAPI: only local $refs are supported, not {ref!r}")
        target: object = document
        for part in ref[2:].split("/"):
            target = target[part]
        return _resolve(copy.deepcopy(target), document, depth + 1)
    out = {k: _resolve(v, document, depth) for k, v in node.items()}
    if out.pop("nullable", False):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def _route(document: dict, path: str, method: str) -> dict | None:
    """The operation whose path template matches the template used by the target."""
    wanted = _PARAM.sub("{}", path.split("?")[0])
    for template, operations in (document.get("paths") or {}).items():
        if _PARAM.sub("{}", template) == wanted:
            return operations.get(method.lower())
    return None


def validate_bodies(target: Target, base: Path, items: list[Item], limit: int = 50) -> tuple[list[Violation], int]:
    """(the first ``limit`` violations, bodies checked)."""
    documents = {}
    for name, service in target.services.items():
        if service.openapi:
            path = (base / service.openapi).resolve()
            try:
                documents[name] = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError) as exc:
                raise TargetError(f"services.{name}.openapi: cannot read {path}: {exc}") from None
    validators: dict[str, jsonschema.protocols.Validator | None] = {}
    violations: list[Violation] = []
    checked = 0
    for item in items:
        spec = item.spec
        if not item.sendable or not spec.http or spec.http.service not in documents or spec.http.body is None:
            continue
        if item.event_id not in validators:
            document = documents[spec.http.service]
            operation = _route(document, spec.http.path, spec.http.method)
            if operation is None:
                violations.append(Violation(item.seq, item.event_id, item.key,
                                            f"{spec.http.method} {spec.http.path} is not in the OpenAPI document"))
                validators[item.event_id] = None
                continue
            schema = (((operation.get("requestBody") or {}).get("content") or {}).get("application/json") or {}).get("schema")
            validators[item.event_id] = jsonschema.Draft7Validator(_resolve(schema, document)) if schema else None
        validator = validators[item.event_id]
        if validator is None:
            continue
        checked += 1
        for error in validator.iter_errors(build_body(item.event_id, spec.http.body, item.record)):
            where = "/".join(map(str, error.absolute_path)) or "(body)"
            if len(violations) < limit:
                violations.append(Violation(item.seq, item.event_id, item.key, f"{where}: {error.message}"))
    return violations, checked
