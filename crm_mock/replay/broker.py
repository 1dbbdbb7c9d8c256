"""The Celery and AMQP drivers: tasks sent by name (no import of the system's code) and plain messages,
both with publisher confirms, and a preflight that refuses queues nobody consumes."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor

import kombu
from celery import Celery
from kombu.exceptions import KombuError, OperationalError

from crm_mock.replay.bodies import build_body
from crm_mock.replay.engine import ACCEPTED, PERMANENT, RETRY, Attempt, Driver, Item
from crm_mock.replay.pacing import TokenBucket
from crm_mock.replay.redact import Redactor
from crm_mock.replay.target import Broker, Target

IDEMPOTENCY_HEADER = "idempotency_key"
PREFLIGHT_TIMEOUT_S = 5.0


def celery_app(name: str, broker: Broker) -> Celery:
    app = Celery(f"crm_mock_replay_{name}", broker=broker.url, backend=broker.result_backend or None, set_as_current=False)
    app.conf.update(
        broker_transport_options={"confirm_publish": True, "confirm_timeout": broker.confirm_timeout_s},
        broker_connection_retry_on_startup=False, broker_connection_max_retries=0,
        task_publish_retry=False, result_extended=False,
    )
    return app


class BrokerDriver(Driver):
    """Celery tasks (``celery:``) and AMQP messages (``amqp:``) of one target; publishing blocks, so it runs
    in a small thread pool off the event loop."""

    def __init__(self, target: Target, redactor: Redactor, concurrency: int, rate: float | None = None,
                 resolve_wait_s: float = 10.0) -> None:
        self.target, self.redactor, self.resolve_wait_s = target, redactor, resolve_wait_s
        self.apps = {name: celery_app(name, b) for name, b in target.brokers.items()}
        self.buckets = {name: TokenBucket(b.rate if rate is None else rate, b.burst) for name, b in target.brokers.items()}
        self.pool = ThreadPoolExecutor(max_workers=max(1, min(concurrency, 8)), thread_name_prefix="replay-broker")

    def _broker_of(self, item: Item) -> str:
        spec = item.spec
        return spec.celery.broker if spec.celery else spec.amqp.broker

    def limiter(self, item: Item) -> TokenBucket:
        return self.buckets[self._broker_of(item)]

    def describe(self, item: Item) -> dict:
        spec = item.spec
        if spec.celery:
            return {"task": spec.celery.task, "queue": spec.celery.queue, "task_id": item.idempotency_key,
                    "kwargs": build_body(item.event_id, spec.celery.kwargs, item.record)}
        return {"exchange": spec.amqp.exchange, "routing_key": spec.amqp.routing_key,
                "body": build_body(item.event_id, spec.amqp.body, item.record)}

    async def _call(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def attempt(self, item: Item, resend: bool) -> Attempt:
        spec = item.spec
        described = self.describe(item)
        excerpt = self.redactor.text(json.dumps(described, ensure_ascii=False))
        started = time.monotonic()
        try:
            if spec.celery:
                await self._call(self._send_task, item, described["kwargs"])
            else:
                await self._call(self._publish, item, described["body"])
        except (OperationalError, ConnectionError, OSError) as exc:
            # a publish that was never confirmed may still have reached the queue
            return Attempt(RETRY, type(exc).__name__, _ms(started), error=self.redactor.text(f"{type(exc).__name__}: {exc}"),
                           request=excerpt, ambiguous=True)
        except KombuError as exc:
            return Attempt(PERMANENT, type(exc).__name__, _ms(started), error=self.redactor.text(exc), request=excerpt)
        latency = _ms(started)
        if spec.celery and spec.celery.wait_result_s:
            state, detail = await self._call(self._wait_result, item)
            if state != "SUCCESS":
                return Attempt(PERMANENT, state, latency, error=self.redactor.text(f"task {state}: {detail}"),
                               request=excerpt, response=self.redactor.text(detail))
            return Attempt(ACCEPTED, "SUCCESS", latency, request=excerpt, response=self.redactor.text(detail))
        return Attempt(ACCEPTED, "confirmed", latency, request=excerpt)

    def _send_task(self, item: Item, kwargs: dict) -> None:
        spec = item.spec.celery
        self.apps[spec.broker].send_task(spec.task, kwargs=kwargs, task_id=item.idempotency_key, queue=spec.queue,
                                         headers={IDEMPOTENCY_HEADER: item.idempotency_key})

    def _publish(self, item: Item, body: dict) -> None:
        spec = item.spec.amqp
        app = self.apps[spec.broker]
        with app.producer_or_acquire() as producer:
            producer.publish(body, exchange=spec.exchange, routing_key=spec.routing_key, serializer="json",
                             message_id=item.idempotency_key, headers={IDEMPOTENCY_HEADER: item.idempotency_key},
                             delivery_mode=2, retry=False)

    def _wait_result(self, item: Item) -> tuple[str, str]:
        spec = item.spec.celery
        result = self.apps[spec.broker].AsyncResult(item.idempotency_key)
        deadline = time.monotonic() + spec.wait_result_s
        while time.monotonic() < deadline:
            state = result.state
            if state in ("SUCCESS", "FAILURE", "REVOKED"):
                return state, repr(result.result)
            time.sleep(0.1)
        return "TIMEOUT", f"no result within {spec.wait_result_s:g}s"

    def can_lookup(self, item: Item) -> bool:
        spec = item.spec
        return bool(spec.celery and self.target.brokers[spec.celery.broker].result_backend)

    async def exists(self, item: Item) -> tuple[bool | None, dict[str, object]]:
        """A task whose state is past PENDING reached a worker. PENDING cannot tell "never sent" from "still
        queued", so a stranded task is given ``resolve_wait_s`` to show up before it is sent again."""
        app = self.apps[item.spec.celery.broker]
        deadline = time.monotonic() + self.resolve_wait_s
        while True:
            state = await self._call(lambda: app.AsyncResult(item.idempotency_key).state)
            if state != "PENDING":
                return True, {}
            if time.monotonic() >= deadline:
                return False, {}
            await asyncio.sleep(0.2)

    async def preflight(self) -> list[str]:
        return await self._call(self._preflight)

    def _preflight(self) -> list[str]:
        problems = []
        queues: dict[str, set[str]] = {}
        tasks: dict[str, set[str]] = {}
        for event_id, spec in self.target.events.items():
            if spec.celery:
                queues.setdefault(spec.celery.broker, set()).add(spec.celery.queue)
                tasks.setdefault(spec.celery.broker, set()).add(spec.celery.task)
            elif spec.amqp:
                queues.setdefault(spec.amqp.broker, set())
        for broker, names in sorted(queues.items()):
            app = self.apps[broker]
            try:
                with app.connection_for_write() as conn:
                    conn.ensure_connection(max_retries=1, timeout=PREFLIGHT_TIMEOUT_S)
                    for queue in sorted(names):
                        problems += _queue_problem(conn, broker, queue)
            except (OperationalError, OSError) as exc:
                problems.append(f"broker {broker} at {self.redactor.text(self.target.brokers[broker].url, None)} "
                                f"is unreachable: {self.redactor.text(exc)}")
                continue
            if tasks.get(broker):
                registered = app.control.inspect(timeout=PREFLIGHT_TIMEOUT_S).registered() or {}
                known = {t for names_ in registered.values() for t in names_}
                for task in sorted(tasks[broker] - known):
                    problems.append(f"task {task!r} is not registered on any worker of broker {broker} "
                                    "(NotRegistered: check the task name)")
        return problems

    async def aclose(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        for app in self.apps.values():
            app.close()


def _queue_problem(conn: kombu.Connection, broker: str, queue: str) -> list[str]:
    """Celery declares a mistyped queue silently and the tasks wait there forever: refuse it up front."""
    channel = conn.channel()
    try:
        _, _, consumers = channel.queue_declare(queue, passive=True)
    except Exception as exc:  # amqp's NotFound closes the channel; any failure means no usable queue
        return [f"queue {queue!r} on broker {broker} does not exist: no worker consumes it ({type(exc).__name__})"]
    finally:
        try:
            channel.close()
        except Exception:
            pass
    if consumers == 0:
        return [f"queue {queue!r} on broker {broker} has no consumer: no worker would run its tasks"]
    return []


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000
