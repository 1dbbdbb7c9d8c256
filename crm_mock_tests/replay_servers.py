"""Real servers for the replay tests, each on 127.0.0.1 on a free port and killed by its PID afterwards:
json-server (a stateful JSON store), Prism (validating every request against an OpenAPI document derived
here from the data model), nginx (limit_req answering 429 with Retry-After). Missing tools skip the tests
on a laptop and fail them under CI=true."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from crm_mock.model import CATALOG, Kind
from crm_mock.replay.events import BY_ID
from crm_mock.replay.target import Target

SERVERS_DIR = Path(__file__).parent / "servers"
NODE_BIN = SERVERS_DIR / "node_modules" / ".bin"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "replay"
COLLECTIONS = ("leads", "opportunities", "quotes", "orders", "payments", "invoices", "executions",
               "stock_movements", "tickets")


def require(tool: str) -> str:
    """The path of a server binary: a skip when absent on a laptop, a failure under CI."""
    path = NODE_BIN / tool if tool in ("json-server", "prism") else shutil.which(tool) or (
        Path("/usr/sbin") / tool if (Path("/usr/sbin") / tool).exists() else None)
    if path is None or not Path(path).exists():
        message = f"{tool} is not installed (npm ci in {SERVERS_DIR}; apt-get install nginx)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return str(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path

    def stop(self) -> None:
        """By PID: the server was started in its own process group, so its children go with it."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def _start(argv: list[str], url: str, log: Path, ready_path: str = "/", deadline_s: float = 40) -> Server:
    env = {**os.environ, "SCARF_ANALYTICS": "false", "NO_COLOR": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                   start_new_session=True)
    server = Server(process, url, log)
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{argv[0]} exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            httpx.get(url + ready_path, timeout=5)
            return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{argv[0]} did not answer within {deadline_s}s: {log.read_text()[-2000:]}")


@contextlib.contextmanager
def json_server(workdir: Path, delay_ms: int = 0) -> Iterator[Server]:
    """In memory (a .js database is never written back), so it stays fast as it fills."""
    binary = require("json-server")
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "db.js"
    db.write_text("module.exports = () => (" + json.dumps({c: [] for c in COLLECTIONS}) + ")\n")
    port = free_port()
    argv = [binary, "--host", "127.0.0.1", "--port", str(port), "--quiet", str(db)]
    if delay_ms:
        argv += ["--delay", str(delay_ms)]
    server = _start(argv, f"http://127.0.0.1:{port}", workdir / "json-server.log", "/leads?_limit=1")
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def prism_proxy(workdir: Path, openapi: Path, upstream: str) -> Iterator[Server]:
    binary = require("prism")
    port = free_port()
    argv = [binary, "proxy", "--host", "127.0.0.1", "--port", str(port), "--errors", str(openapi), upstream]
    server = _start(argv, f"http://127.0.0.1:{port}", workdir / "prism.log", "/leads?lead_uuid=x", deadline_s=60)
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def nginx_limiter(workdir: Path, upstream: str, rate_per_s: int, burst: int) -> Iterator[Server]:
    """nginx in front of ``upstream`` refusing what exceeds ``rate_per_s`` with 429 and Retry-After: 1."""
    binary = require("nginx")
    port = free_port()
    prefix = workdir / "nginx"
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log {prefix}/logs/access.log;
  client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi; uwsgi_temp_path {prefix}/uwsgi; scgi_temp_path {prefix}/scgi;
  limit_req_zone $server_port zone=replay:1m rate={rate_per_s}r/s;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      limit_req zone=replay burst={burst} nodelay;
      limit_req_status 429;
      error_page 429 = @too_many;
      proxy_pass {upstream};
    }}
    location @too_many {{
      add_header Retry-After 1 always;
      return 429 "too many requests\\n";
    }}
  }}
}}
""")
    argv = [binary, "-p", str(prefix), "-c", str(conf)]
    if os.geteuid() == 0:
        argv += ["-g", "user root;"]
    server = _start(argv, f"http://127.0.0.1:{port}", prefix / "stdout.log", "/leads?_limit=1")
    try:
        yield server
    finally:
        server.stop()


def access_statuses(server: Server) -> list[int]:
    """Status codes nginx answered, from its access log (combined format)."""
    log = server.log.parent / "logs" / "access.log"
    return [int(line.split('"')[2].split()[0]) for line in log.read_text().splitlines() if line.count('"') >= 2]


def store_rows(server: Server, collection: str) -> list[dict]:
    return httpx.get(f"{server.url}/{collection}", timeout=10).json()


# -- an OpenAPI document for the example target, derived from the data model ------------------------------
def _column_schema(kind: Kind, nullable: bool, vocabulary, max_length) -> dict:
    schema: dict = {
        Kind.UUID: {"type": "string", "format": "uuid"},
        Kind.TEXT: {"type": "string", "maxLength": max_length},
        Kind.CODE: {"type": "string", "enum": list(vocabulary or [])},
        Kind.INTEGER: {"type": "integer"},
        Kind.MONEY: {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$"},
        Kind.DATE: {"type": "string", "format": "date"},
        Kind.TIMESTAMP: {"type": "string", "format": "date-time"},
    }[kind]
    if nullable:
        schema["nullable"] = True
    return schema


def _object(table_name: str, columns, rename: dict, constants: dict) -> dict:
    table = CATALOG[table_name]
    names = table.column_names if columns == "*" else columns
    properties = {}
    for name in names:
        c = table.column(name)
        properties[rename.get(name, name)] = _column_schema(c.kind, c.nullable, c.vocabulary, c.max_length)
    for name, value in constants.items():
        properties[name] = {"type": "string", "enum": [value]}
    return {"type": "object", "additionalProperties": False, "required": sorted(properties), "properties": properties}


def openapi_for(target: Target) -> dict:
    """Request schemas for every HTTP event of ``target``: what a strict system would accept."""
    paths: dict = {}
    for event_id, spec in target.events.items():
        if not spec.http:
            continue
        event = BY_ID[event_id]
        http = spec.http
        body = _object(event.table, http.body.columns, http.body.rename, http.body.constants)
        for child, how in http.body.children.items():
            child_table = next(c for c in event.children if CATALOG[c].name == child)
            body["properties"][how.name or child] = {"type": "array",
                                                    "items": _object(child_table, how.columns, how.rename, {})}
            body["required"] = sorted(body["properties"])
        template = http.path.split("?")[0]
        params = [p.strip("{}") for p in template.split("/") if p.startswith("{")]
        operation = {"requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
                     "responses": {str(s): {"description": "accepted"} for s in http.accepted}}
        if params:
            operation["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                                       for p in params]
        paths.setdefault(template, {})[http.method.lower()] = operation
        if http.lookup:
            lookup = http.lookup.path.split("?")[0]
            query = [q.split("=")[0] for q in http.lookup.path.partition("?")[2].split("&") if q]
            paths.setdefault(lookup, {})["get"] = {
                "parameters": [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}}
                               for q in query],
                "responses": {"200": {"description": "matching records"}},
            }
    return {"openapi": "3.0.3", "info": {"title": "crm_mock replay test system", "version": "1"}, "paths": paths}


def write_openapi(target: Target, path: Path) -> Path:
    path.write_text(yaml.safe_dump(openapi_for(target), sort_keys=False))
    return path
