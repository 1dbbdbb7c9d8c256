"""The replay engine: causal ordering, pacing, retries, exactly-once bookkeeping, verification.

An event starts only after every earlier event sharing one of its keys has finished; events sharing no
key run concurrently (up to the concurrency limit). Events the target does not send — expect events and
event types it leaves out — still sit in that order as barriers, so a payment waits for its order's
shipment through the invoice between them. A failed event's dependants are skipped, naming the root.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from crm_mock.replay.events import BY_ID, DRIVE, EXPECT, STOCK_KEY
from crm_mock.replay.ledger import (
    ALREADY_THERE, EXPECTED_FOUND, EXPECTED_MISSING, FAILED, FINAL, IN_FLIGHT, OK, SKIPPED, SUCCEEDED, Ledger, Outcome,
)
from crm_mock.replay.pacing import Pace, TokenBucket
from crm_mock.replay.plan import Plan
from crm_mock.replay.target import EventTarget, Retry, Target

ACCEPTED, CONFLICT, RETRY, PERMANENT = "accepted", "conflict", "retry", "permanent"
_ORDER_ONLY = f"{STOCK_KEY}:"


@dataclass
class Item:
    seq: int
    event_id: str
    kind: str
    key: str
    idempotency_key: str
    keys: list[str]
    at: object
    record_json: str
    spec: EventTarget | None
    resumed_in_flight: bool = False

    @cached_property
    def record(self) -> dict:
        return json.loads(self.record_json)

    @property
    def sendable(self) -> bool:
        return self.spec is not None and self.kind == DRIVE


@dataclass
class Attempt:
    kind: str  # accepted, conflict, retry, permanent
    status: str | None
    latency_ms: float
    error: str | None = None
    request: str | None = None
    response: str | None = None
    retry_after: float | None = None
    ambiguous: bool = False  # the system may have committed it (timeout, 5xx, connection lost mid-request)
    captures: dict[str, object] = field(default_factory=dict)


class Driver(ABC):
    """Sends one kind of event (HTTP, Celery, AMQP) and answers lookups; retries live in the engine."""

    @abstractmethod
    def limiter(self, item: Item) -> TokenBucket: ...

    @abstractmethod
    async def attempt(self, item: Item, resend: bool) -> Attempt: ...

    def can_lookup(self, item: Item) -> bool:
        return False

    async def exists(self, item: Item) -> tuple[bool | None, dict[str, object]]:
        """(True: the event's record is in the system, False: it is not, None: cannot tell now; the values
        the target captures, read from what the lookup found)."""
        return None, {}

    def describe(self, item: Item) -> dict:
        """What would be sent, for --dry-run (nothing is sent)."""
        raise NotImplementedError

    async def preflight(self) -> list[str]:
        return []

    async def aclose(self) -> None:
        return None


class ReplayCrash(RuntimeError):
    """Raised by the fault-injection option: the replay stops abruptly, as a killed process would."""


@dataclass
class Options:
    concurrency: int = 8
    pace: Pace = field(default_factory=Pace)
    limit: int | None = None  # replay only the first N drive events the target sends (and what they need)
    crash_after: int = 0  # fault injection: raise after this many sends finished (0: never)
    progress: Callable[[dict[str, int]], None] | None = None
    progress_every_s: float = 5.0
    verify: bool = True


def plan_items(plan: Plan, target: Target, limit: int | None) -> list[Item]:
    """The plan's events up to the ``limit``-th event the target sends (everything they depend on is earlier)."""
    items = []
    table = plan.table
    columns = {name: table.column(name).to_pylist() for name in
               ("seq", "event_id", "kind", "key", "idempotency_key", "keys", "at", "record")}
    sent = 0
    for i in range(table.num_rows):
        event_id = columns["event_id"][i]
        spec = target.events.get(event_id)
        item = Item(columns["seq"][i], event_id, columns["kind"][i], columns["key"][i],
                    columns["idempotency_key"][i], columns["keys"][i], columns["at"][i], columns["record"][i], spec)
        if limit is not None and item.sendable and sent >= limit:
            break
        sent += item.sendable
        items.append(item)
    return items


class Engine:
    def __init__(self, target: Target, items: list[Item], drivers: dict[str, Driver], ledger: Ledger | None,
                 options: Options) -> None:
        self.target, self.items, self.drivers, self.ledger, self.options = target, items, drivers, ledger, options
        self.retry: Retry = target.retry
        self.by_seq = {it.seq: it for it in items}
        self.captures: dict[str, dict[str, object]] = ledger.captures() if ledger else {}
        self.prior = ledger.states() if ledger else {}
        for it in items:
            if self.prior.get(it.seq, ("",))[0] == IN_FLIGHT:
                it.resumed_in_flight = True
        self.waiting: dict[int, int] = {}
        # seq -> [(dependant seq, whether it needs this event to have succeeded)]: a shared record makes a
        # dependant, shared stock only an order (a failed shipment does not stop another order's shipment)
        self.dependants: dict[int, list[tuple[int, bool]]] = {}
        self.blocked: dict[int, int] = {}  # seq -> root cause seq
        last: dict[str, int] = {}
        for it in items:
            preds: dict[int, bool] = {}
            for k in it.keys:
                if k in last:
                    preds[last[k]] = preds.get(last[k], False) or not k.startswith(_ORDER_ONLY)
            self.waiting[it.seq] = len(preds)
            for p, needs in preds.items():
                self.dependants.setdefault(p, []).append((it.seq, needs))
            for k in it.keys:
                last[k] = it.seq
        offsets = options.pace.offsets([it.at for it in items])
        self.release = {it.seq: offsets[i] for i, it in enumerate(items)} if offsets else None
        self.sends_finished = 0

    def driver(self, item: Item) -> Driver:
        return self.drivers[item.spec.driver]

    # -- the drive phase --------------------------------------------------------------------------------
    async def run(self) -> None:
        ready = [s for s, n in self.waiting.items() if n == 0]
        heapq.heapify(ready)
        done: asyncio.Queue[Outcome] = asyncio.Queue()
        running: set[asyncio.Task] = set()
        in_flight = 0  # counted by outcomes, not tasks: a finished task leaves `running` a loop turn later
        pending_records: list[Outcome] = []
        start = time.monotonic()
        last_progress = start
        try:
            while ready or in_flight:
                launch: list[Item] = []
                wait_s = None
                while ready and in_flight + len(launch) < self.options.concurrency:
                    item = self.by_seq[ready[0]]
                    outcome = self._settle_without_sending(item)
                    if outcome is not None:
                        heapq.heappop(ready)
                        if outcome.state:
                            pending_records.append(outcome)
                        self._finish(item.seq, outcome, ready)
                        continue
                    if self.release is not None:
                        due = start + self.release[item.seq]
                        if due > time.monotonic():
                            wait_s = due - time.monotonic()
                            break
                    heapq.heappop(ready)
                    launch.append(item)
                # what finished is committed before what depends on it is marked in flight
                if self.ledger:
                    self.ledger.record(pending_records)
                    self.ledger.mark_in_flight([it.seq for it in launch])
                pending_records = []
                for item in launch:
                    task = asyncio.create_task(self._drive(item, start, done))
                    running.add(task)
                    task.add_done_callback(running.discard)
                in_flight += len(launch)
                if not in_flight and not ready:
                    break
                if not in_flight and wait_s is None:
                    continue
                try:
                    first = await asyncio.wait_for(done.get(), timeout=wait_s) if wait_s else await done.get()
                except asyncio.TimeoutError:
                    continue
                finished = [first]
                while not done.empty():
                    finished.append(done.get_nowait())
                in_flight -= len(finished)
                for outcome in finished:
                    if outcome.captures:
                        self.captures.setdefault(outcome.record_key, {}).update(outcome.captures)
                    self._finish(outcome.seq, outcome, ready)
                    self.sends_finished += 1
                pending_records.extend(finished)
                if self.options.crash_after and self.sends_finished >= self.options.crash_after:
                    if self.ledger:
                        self.ledger.record(pending_records)
                    raise ReplayCrash(f"fault injected after {self.sends_finished} sends")
                now = time.monotonic()
                if self.options.progress and now - last_progress >= self.options.progress_every_s:
                    last_progress = now
                    self.options.progress(self.ledger.counts() if self.ledger else {})
            if self.ledger:
                self.ledger.record(pending_records)
        finally:
            for task in list(running):
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    def _settle_without_sending(self, item: Item) -> Outcome | None:
        """The outcome of an event that is not sent now (blocked, finished earlier, a barrier); None to send it.
        An outcome with an empty state is not written to the ledger."""
        prior_state, prior_root = self.prior.get(item.seq, ("", None))
        if prior_state in FINAL:
            return Outcome(item.seq, "", root_seq=prior_root if prior_state not in SUCCEEDED else None,
                           error=None if prior_state in SUCCEEDED else prior_state)
        if item.seq in self.blocked:
            root = self.blocked[item.seq]
            state = SKIPPED if item.spec is not None else ""
            cause = self.by_seq[root]
            return Outcome(item.seq, state, root_seq=root, record_key=item.key,
                           error=f"skipped: {cause.event_id} {cause.key} (seq {root}) did not succeed")
        if not item.sendable:
            return Outcome(item.seq, "")  # a barrier: expect events are verified after the drive phase
        return None

    def _finish(self, seq: int, outcome: Outcome, ready: list[int]) -> None:
        failed = outcome.state in (FAILED, SKIPPED) or (not outcome.state and outcome.error is not None)
        root = (outcome.root_seq if outcome.root_seq is not None else seq) if failed else None
        for d, needs in self.dependants.get(seq, ()):
            if failed and needs and d not in self.blocked:
                self.blocked[d] = root
            self.waiting[d] -= 1
            if self.waiting[d] == 0:
                heapq.heappush(ready, d)

    async def _drive(self, item: Item, start: float, done: asyncio.Queue) -> None:
        lag = None
        if self.release is not None:
            lag = max(0.0, (time.monotonic() - start - self.release[item.seq]) * 1000)
        try:
            outcome = await self.send(item)
        except Exception as exc:  # a bug in a driver must not strand the run: the event fails, named
            outcome = Outcome(item.seq, FAILED, 1, error=f"{type(exc).__name__}: {exc}")
        outcome.lag_ms, outcome.record_key = lag, item.key
        await done.put(outcome)

    async def send(self, item: Item) -> Outcome:
        """One event, with retries: exponential backoff with jitter, honouring Retry-After; an answer that
        may hide a commit (timeout, 5xx, a conflict on a resend) is resolved with the lookup first."""
        driver = self.driver(item)
        jitter = random.Random(item.idempotency_key)
        uncertain = item.resumed_in_flight
        last: Attempt | None = None
        for number in range(1, self.retry.attempts + 1):
            if uncertain and driver.can_lookup(item):
                found, captures = await driver.exists(item)
                if found:
                    return self._outcome(item, ALREADY_THERE, number - 1, last, "found by lookup", captures)
            await driver.limiter(item).take()
            last = await driver.attempt(item, resend=uncertain or number > 1)
            if last.kind == ACCEPTED:
                return self._outcome(item, OK, number, last)
            if last.kind == CONFLICT:
                if driver.can_lookup(item):
                    found, captures = await driver.exists(item)
                    if found:
                        return self._outcome(item, ALREADY_THERE, number, last, captures=captures)
                elif uncertain or number > 1:
                    # the same idempotency key was seen before: the system holds the event
                    return self._outcome(item, ALREADY_THERE, number, last)
                return self._outcome(item, FAILED, number, last)
            if last.kind == PERMANENT:
                return self._outcome(item, FAILED, number, last)
            uncertain = uncertain or last.ambiguous
            if number < self.retry.attempts:
                backoff = min(self.retry.backoff_max_s, self.retry.backoff_s * 2 ** (number - 1))
                delay = backoff * (0.5 + jitter.random() / 2)
                if last.retry_after is not None:
                    # spread the retries of events refused together, or they collide again at the same instant
                    wait = min(last.retry_after, self.retry.backoff_max_s * 6)
                    delay = max(delay, wait + jitter.random() * max(wait, self.retry.backoff_s))
                await asyncio.sleep(delay)
        if uncertain and driver.can_lookup(item):
            found, captures = await driver.exists(item)
            if found:
                return self._outcome(item, ALREADY_THERE, self.retry.attempts, last, captures=captures)
        return self._outcome(item, FAILED, self.retry.attempts, last)

    @staticmethod
    def _outcome(item: Item, state: str, attempts: int, last: Attempt | None, status: str | None = None,
                 captures: dict | None = None) -> Outcome:
        return Outcome(
            item.seq, state, attempts, status or (last.status if last else None),
            last.latency_ms if last else None, error=last.error if (last and state == FAILED) else None,
            request=last.request if last else None, response=last.response if last else None,
            captures=captures or (dict(last.captures) if (last and state == OK) else {}), record_key=item.key,
        )

    # -- the verify phase -------------------------------------------------------------------------------
    async def verify(self) -> None:
        """Check every expect event the target names whose inputs succeeded, each until its deadline."""
        todo = [it for it in self.items if it.kind == EXPECT and it.spec is not None
                and self.prior.get(it.seq, ("",))[0] not in FINAL and it.seq not in self.blocked]
        semaphore = asyncio.Semaphore(self.options.concurrency)
        outcomes: list[Outcome] = []

        async def check(item: Item) -> None:
            async with semaphore:
                outcomes.append(await self._expect(item))

        await asyncio.gather(*(check(it) for it in todo))
        if self.ledger:
            self.ledger.record(outcomes)

    async def _expect(self, item: Item) -> Outcome:
        driver = self.driver(item)
        deadline = time.monotonic() + item.spec.expect.deadline_s
        polls, pause = 0, 0.2
        while True:
            polls += 1
            await driver.limiter(item).take()
            started = time.monotonic()
            found, _ = await driver.exists(item)
            latency = (time.monotonic() - started) * 1000
            if found:
                return Outcome(item.seq, EXPECTED_FOUND, polls, "found", latency, record_key=item.key)
            if time.monotonic() + pause > deadline:
                return Outcome(item.seq, EXPECTED_MISSING, polls, "absent" if found is False else "unknown", latency,
                               error=f"{item.event_id} {item.key}: not produced within {item.spec.expect.deadline_s:g}s",
                               record_key=item.key)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)


def dry_run(items: list[Item], drivers: dict[str, Driver], sample: int = 5) -> dict:
    """What a run would send, without sending: requests per event type and the first few in full."""
    counts: dict[str, int] = {}
    first: list[dict] = []
    for item in items:
        if not item.sendable:
            continue
        described = drivers[item.spec.driver].describe(item)
        counts[item.event_id] = counts.get(item.event_id, 0) + 1
        if len(first) < sample:
            first.append({"seq": item.seq, "event": item.event_id, **described})
    expect = {}
    for item in items:
        if item.kind == EXPECT and item.spec is not None:
            expect[item.event_id] = expect.get(item.event_id, 0) + 1
    return {"would_send": counts, "would_verify": expect, "first": first}


def event_kind(event_id: str) -> str:
    return BY_ID[event_id].kind
