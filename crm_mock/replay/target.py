"""The target file: where and how each event of the plan is sent to a running system.

YAML with ``${VAR}`` / ``${VAR:-default}`` taken from the environment, validated before anything is sent;
an error names the file, the line and the field. Secrets are never in the file: ``auth.env`` names the
environment variable that holds a header's value, read only when the replay runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import string
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crm_mock.model import CATALOG
from crm_mock.replay.events import BY_ID, DRIVE, EXPECT

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
DEFAULT_RETRY_STATUSES = (408, 425, 429, 500, 502, 503, 504)


class TargetError(ValueError):
    """A target file that cannot be used; the message names the file, line and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Auth(_Strict):
    header: str = "Authorization"
    env: str = Field(description="environment variable holding the secret; its value is never logged")
    prefix: str = ""


class Service(_Strict):
    base_url: str
    headers: dict[str, str] = {}
    auth: Auth | None = None
    timeout_s: Annotated[float, Field(gt=0)] = 10.0
    rate: Annotated[float, Field(ge=0)] = 0.0  # requests/s, 0 = unlimited
    burst: Annotated[int, Field(ge=1)] = 1
    idempotency_header: str | None = "Idempotency-Key"
    openapi: str | None = None  # relative to the target file

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class Broker(_Strict):
    url: str
    result_backend: str | None = None
    rate: Annotated[float, Field(ge=0)] = 0.0
    burst: Annotated[int, Field(ge=1)] = 1
    confirm_timeout_s: Annotated[float, Field(gt=0)] = 10.0


class Child(_Strict):
    name: str | None = None  # field name in the body; default: the child table's name
    columns: list[str] | Literal["*"] = "*"
    rename: dict[str, str] = {}
    values: dict[str, dict[str, object]] = {}  # column -> code -> how the service spells it
    cents: list[str] = []  # money columns the service takes as integer cents


class Body(_Strict):
    columns: list[str] | Literal["*"] = "*"
    rename: dict[str, str] = {}
    values: dict[str, dict[str, object]] = {}  # column -> code -> how the service spells it
    cents: list[str] = []  # money columns the service takes as integer cents
    constants: dict[str, object] = {}
    children: dict[str, Child] = {}  # child table name -> how it nests


class Lookup(_Strict):
    path: str
    found: list[int] = [200]
    absent: list[int] = [404]
    timeout_s: Annotated[float, Field(gt=0)] | None = None  # default: the service's


class Http(_Strict):
    service: str
    method: Literal["POST", "PUT", "PATCH", "DELETE", "GET"] = "POST"
    path: str
    body: Body | None = Body()
    accepted: list[int] = [200, 201, 202, 204]
    conflict: list[int] = [409]
    lookup: Lookup | None = None
    capture: dict[str, str] = {}  # name -> dotted field of the JSON response


class Celery(_Strict):
    broker: str
    task: str
    queue: str
    kwargs: Body = Body()
    wait_result_s: Annotated[float, Field(ge=0)] = 0.0  # 0: do not wait for the result backend


class Amqp(_Strict):
    broker: str
    exchange: str
    routing_key: str
    body: Body = Body()


class Expect(_Strict):
    service: str
    lookup: Lookup
    deadline_s: Annotated[float, Field(gt=0)] = 30.0


class EventTarget(_Strict):
    http: Http | None = None
    celery: Celery | None = None
    amqp: Amqp | None = None
    expect: Expect | None = None

    @model_validator(mode="after")
    def _one(self) -> "EventTarget":
        chosen = [n for n in ("http", "celery", "amqp", "expect") if getattr(self, n) is not None]
        if len(chosen) != 1:
            raise ValueError(f"give exactly one of http, celery, amqp, expect (got {chosen or 'none'})")
        return self

    @property
    def driver(self) -> str:
        return next(n for n in ("http", "celery", "amqp", "expect") if getattr(self, n) is not None)


class Retry(_Strict):
    attempts: Annotated[int, Field(ge=1, le=50)] = 6
    backoff_s: Annotated[float, Field(gt=0)] = 0.2
    backoff_max_s: Annotated[float, Field(gt=0)] = 10.0
    statuses: list[int] = list(DEFAULT_RETRY_STATUSES)


class Target(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")]
    services: dict[str, Service] = {}
    brokers: dict[str, Broker] = {}
    retry: Retry = Retry()
    concurrency: Annotated[int, Field(ge=1, le=1024)] = 8
    events: dict[str, EventTarget]

    @property
    def secret_envs(self) -> list[str]:
        return sorted({s.auth.env for s in self.services.values() if s.auth})

    def fingerprint(self) -> str:
        """Identifies what is sent where, for the ledger: the events and the addresses (pacing, timeouts and
        retries may change between a run and its resume; secrets are only environment variable names)."""
        content = {"events": {k: v.model_dump(mode="json") for k, v in self.events.items()},
                   "services": {k: v.base_url for k, v in self.services.items()},
                   "brokers": {k: v.url for k, v in self.brokers.items()}}
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _placeholders(template: str) -> list[str]:
    return [field for _, field, _, _ in string.Formatter().parse(template) if field]


def _check_semantics(target: Target) -> list[tuple[tuple, str]]:
    """Cross-field rules pydantic cannot see: event names, columns from the model, services, captures."""
    problems: list[tuple[tuple, str]] = []
    captures = {n for e in target.events.values() if e.http for n in e.http.capture}
    for event_id, spec in target.events.items():
        where = ("events", event_id)
        event = BY_ID.get(event_id)
        if event is None:
            problems.append((where, f"unknown event {event_id!r}; the plan has {', '.join(BY_ID)}"))
            continue
        if (spec.driver == "expect") != (event.kind == EXPECT):
            problems.append((where, f"{event_id} is a {event.kind} event: "
                             + ("verify it with expect" if event.kind == EXPECT else "send it with http, celery or amqp")))
            continue
        columns = set(CATALOG[event.table].column_names) if event.model_table else None
        body, lookup, templates = None, None, []
        if spec.http:
            body, lookup = spec.http.body, spec.http.lookup
            templates.append((("http", "path"), spec.http.path))
            if spec.http.service not in target.services:
                problems.append((where + ("http", "service"), f"no service {spec.http.service!r} under services"))
        elif spec.celery:
            body = spec.celery.kwargs
            if spec.celery.broker not in target.brokers:
                problems.append((where + ("celery", "broker"), f"no broker {spec.celery.broker!r} under brokers"))
        elif spec.amqp:
            body = spec.amqp.body
            if spec.amqp.broker not in target.brokers:
                problems.append((where + ("amqp", "broker"), f"no broker {spec.amqp.broker!r} under brokers"))
        elif spec.expect:
            lookup = spec.expect.lookup
            if spec.expect.service not in target.services:
                problems.append((where + ("expect", "service"), f"no service {spec.expect.service!r} under services"))
        if lookup:
            templates.append(((spec.driver, "lookup", "path"), lookup.path))
        for field, template in templates:
            for name in _placeholders(template):
                column, _, via = name.partition("@")
                known = (columns is None or column in columns or column in captures)
                if not known or (via and columns is not None and via not in columns):
                    problems.append((where + field, f"{{{name}}} is neither a column of {event.table} nor a capture"))
        if body is not None and columns is not None:
            section = where + (spec.driver, "kwargs" if spec.celery else "body")
            if body.columns != "*":
                for c in body.columns:
                    if c not in columns:
                        problems.append((section + ("columns",), f"{c!r} is not a column of {event.table}"))
            for child, how in body.children.items():
                if child not in {CATALOG[c].name for c in event.children}:
                    problems.append((section + ("children", child),
                                     f"{event_id} nests {', '.join(CATALOG[c].name for c in event.children) or 'no children'}"))
                    continue
                child_columns = set(CATALOG[next(c for c in event.children if CATALOG[c].name == child)].column_names)
                for c in (how.columns if how.columns != "*" else []):
                    if c not in child_columns:
                        problems.append((section + ("children", child, "columns"), f"{c!r} is not a column of {child}"))
    for name, service in target.services.items():
        if service.auth and service.auth.env not in os.environ:
            problems.append((("services", name, "auth", "env"),
                             f"environment variable {service.auth.env} is not set"))
    return problems


def _lines(node: yaml.Node, path: tuple = ()) -> dict[tuple, int]:
    """Each mapping key's and sequence item's path -> its 1-based line in the file."""
    out = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out.update(_lines(value, path + (key.value,)))
            out[path + (key.value,)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out.update(_lines(item, path + (i,)))
    return out


def _interpolate(value: object, path: tuple, missing: list[tuple[tuple, str]]) -> object:
    if isinstance(value, dict):
        return {k: _interpolate(v, path + (k,), missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, path + (i,), missing) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is None:
            missing.append((path, f"environment variable {name} is not set and has no default"))
            return ""
        return default

    return _ENV.sub(replace, value)


def _line_of(lines: dict[tuple, int], path: tuple) -> int:
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


def load_target(path: str | Path) -> tuple[Target, Path]:
    """The validated target and the folder its relative paths are resolved against."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text)
        raw = yaml.safe_load(text)
    except OSError as exc:
        raise TargetError(f"cannot read target file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise TargetError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise TargetError(f"{path}: a target file is a mapping (name, services, events)")
    lines = _lines(node)
    problems: list[tuple[tuple, str]] = []
    raw = _interpolate(raw, (), problems)
    if not problems:
        try:
            target = Target.model_validate(raw)
        except ValidationError as exc:
            problems = [(tuple(e["loc"]), e["msg"]) for e in exc.errors()]
        else:
            problems = _check_semantics(target)
    if problems:
        listed = "\n".join(f"  line {_line_of(lines, where)}: {'.'.join(map(str, where)) or '(top)'}: {msg}"
                           for where, msg in problems)
        raise TargetError(f"invalid target file {path}:\n{listed}")
    return target, path.parent


def driven_events(target: Target) -> dict[str, EventTarget]:
    return {e: t for e, t in target.events.items() if BY_ID[e].kind == DRIVE}
