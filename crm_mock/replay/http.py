"""The HTTP driver (httpx, async): user actions as requests, lookups that prove a record exists."""

from __future__ import annotations

import email.utils
import json
import os
import time

import httpx

from crm_mock.replay.bodies import MissingCapture, build_body, dig, render_path
from crm_mock.replay.engine import ACCEPTED, CONFLICT, PERMANENT, RETRY, Attempt, Driver, Item
from crm_mock.replay.pacing import TokenBucket
from crm_mock.replay.redact import Redactor
from crm_mock.replay.target import Lookup, Service, Target


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as delay-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def auth_headers(service: Service) -> dict[str, str]:
    if not service.auth:
        return {}
    return {service.auth.header: service.auth.prefix + os.environ[service.auth.env]}


def secrets_of(target: Target) -> list[str]:
    """The secret values this target's requests carry, so the redactor can mask them anywhere."""
    return [os.environ[s.auth.env] for s in target.services.values() if s.auth and s.auth.env in os.environ]


class HttpDriver(Driver):
    def __init__(self, target: Target, redactor: Redactor, concurrency: int, rate: float | None = None) -> None:
        self.target, self.redactor = target, redactor
        self.retry_statuses = set(target.retry.statuses)
        self.clients: dict[str, httpx.AsyncClient] = {}
        self.buckets: dict[str, TokenBucket] = {}
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        for name, service in target.services.items():
            headers = {"Accept": "application/json", **service.headers, **auth_headers(service)}
            self.clients[name] = httpx.AsyncClient(base_url=service.base_url, headers=headers, limits=limits,
                                                   timeout=httpx.Timeout(service.timeout_s))
            self.buckets[name] = TokenBucket(service.rate if rate is None else rate, service.burst)
        self.captures: dict[str, dict[str, object]] = {}

    def bind_captures(self, captures: dict[str, dict[str, object]]) -> None:
        """The engine's live map of server-assigned ids, shared so later paths can use them."""
        self.captures = captures

    def _service_of(self, item: Item) -> str:
        spec = item.spec
        return spec.http.service if spec.http else spec.expect.service

    def limiter(self, item: Item) -> TokenBucket:
        return self.buckets[self._service_of(item)]

    def _request(self, item: Item, captures=None) -> tuple[str, str, dict | None, dict[str, str]]:
        http = item.spec.http
        path = render_path(http.path, item.record, item.key, self.captures if captures is None else captures)
        body = None
        if http.body is not None and http.method not in ("GET", "DELETE"):
            body = build_body(item.event_id, http.body, item.record)
        headers = {}
        header = self.target.services[http.service].idempotency_header
        if header:
            headers[header] = item.idempotency_key
        return http.method, path, body, headers

    def describe(self, item: Item) -> dict:
        placeholders = _Placeholders()
        method, path, body, headers = self._request(item, placeholders)
        base = self.target.services[item.spec.http.service].base_url
        return {"method": method, "url": self.redactor.text(base + path, None), "headers": headers, "json": body}

    async def attempt(self, item: Item, resend: bool) -> Attempt:
        http = item.spec.http
        client = self.clients[http.service]
        try:
            method, path, body, headers = self._request(item)
        except MissingCapture as exc:
            return Attempt(PERMANENT, None, 0.0, error=str(exc))
        started = time.monotonic()
        try:
            response = await client.request(method, path, json=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # never reached the server
            return Attempt(RETRY, type(exc).__name__, _ms(started), error=self.redactor.text(exc),
                           request=self._excerpt(method, path, body))
        except httpx.TransportError as exc:
            # sent, but the answer was lost: the server may have committed it
            return Attempt(RETRY, type(exc).__name__, _ms(started), error=self.redactor.text(f"{type(exc).__name__}: {exc}"),
                           request=self._excerpt(method, path, body), ambiguous=True)
        latency = _ms(started)
        status = response.status_code
        if status in http.accepted:
            captures = {}
            if http.capture:
                try:
                    document = response.json()
                except ValueError:
                    document = None
                captures = {name: dig(document, field) for name, field in http.capture.items()}
            # excerpts of what went well are not kept: they cost more than the request on a fast server
            return Attempt(ACCEPTED, str(status), latency, captures=captures)
        excerpt, answer = self._excerpt(method, path, body), self.redactor.text(response.text)
        if status in http.conflict:
            return Attempt(CONFLICT, str(status), latency, error=f"HTTP {status}", request=excerpt, response=answer)
        if status in self.retry_statuses:
            return Attempt(RETRY, str(status), latency, error=f"HTTP {status}", request=excerpt, response=answer,
                           retry_after=retry_after_seconds(response.headers.get("retry-after")), ambiguous=status >= 500)
        return Attempt(PERMANENT, str(status), latency, error=f"HTTP {status}: {answer}", request=excerpt, response=answer)

    def _excerpt(self, method: str, path: str, body: dict | None) -> str:
        return self.redactor.text(f"{method} {path} {json.dumps(body, ensure_ascii=False) if body is not None else ''}")

    def _lookup_of(self, item: Item) -> Lookup | None:
        spec = item.spec
        return spec.http.lookup if spec.http else spec.expect.lookup

    def can_lookup(self, item: Item) -> bool:
        return self._lookup_of(item) is not None

    async def exists(self, item: Item) -> tuple[bool | None, dict[str, object]]:
        lookup = self._lookup_of(item)
        client = self.clients[self._service_of(item)]
        try:
            path = render_path(lookup.path, item.record, item.key, self.captures)
        except MissingCapture:
            return None, {}
        try:
            response = await client.get(path, timeout=lookup.timeout_s or httpx.USE_CLIENT_DEFAULT)
        except httpx.TransportError:
            return None, {}
        if response.status_code in lookup.found:
            try:
                document = response.json()
            except ValueError:
                return True, {}
            # a list query (?order_uuid=…) proves existence only when it returns something
            if isinstance(document, list):
                if not document:
                    return False, {}
                document = document[0]
            capture = item.spec.http.capture if item.spec.http else {}
            return True, {name: dig(document, field) for name, field in capture.items()}
        if response.status_code in lookup.absent:
            return False, {}
        return None, {}

    async def preflight(self) -> list[str]:
        problems = []
        used = {e.http.service for e in self.target.events.values() if e.http}
        used |= {e.expect.service for e in self.target.events.values() if e.expect}
        for name in sorted(used):
            try:
                await self.clients[name].get("/")
            except httpx.TransportError as exc:
                url = self.redactor.text(self.target.services[name].base_url, None)
                problems.append(f"service {name} at {url} is unreachable: {type(exc).__name__}")
        return problems

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()


class _Placeholders(dict):
    """Captured ids stand-ins for a dry run: the server has not assigned them yet."""

    def __getitem__(self, key: str) -> dict:
        return _Named()


class _Named(dict):
    def __getitem__(self, name: str) -> str:
        return f"<captured {name}>"


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000
