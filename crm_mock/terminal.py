"""What `crm-mock materialize` prints while its run goes on: one line per finished step, read from the run's
events as they are stored, and the steps' progress as they report it (crm_mock.generate.progress): a bar
redrawn in place on a terminal; plain lines when the output is a file or a pipe, at most one per step every
``every`` seconds, and one at least every 30 s while a step runs, so a long run is never silent.
"""

from __future__ import annotations

import logging
import resource
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TextIO

import dagster as dg

from crm_mock.generate.progress import HEARTBEAT_SECONDS, LIVE_LOGGER, Report, bar_line, duration

PLAIN_EVERY_SECONDS = 10.0
REDRAW_SECONDS = 0.5  # the bar's clock moves even when no report comes
CLEAR_LINE = "\r\x1b[K"


def step_label(step_key: str) -> str:
    return step_key.replace("__", "/")


class Display:
    """Everything written to the output while a run goes on, from the event follower's thread and the steps'
    threads alike (one lock). On a terminal the last line is the bar; step lines are written above it."""

    def __init__(self, stream: TextIO | None = None, *, tty: bool | None = None, every: float = PLAIN_EVERY_SECONDS,
                 heartbeat: float = HEARTBEAT_SECONDS, clock: Callable[[], float] = time.monotonic,
                 width: Callable[[], int] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.every, self.heartbeat, self.clock = every, heartbeat, clock
        self.width = width or (lambda: shutil.get_terminal_size((100, 24)).columns)
        self._lock = threading.RLock()
        self.running: dict[str, float] = {}  # step -> when it was first seen
        self.latest: dict[str, Report] = {}  # step -> its last report
        self.printed: dict[str, float] = {}  # step -> when a progress line about it was last printed
        self.focus: str | None = None  # the step heard from last: the bar's
        # reads the steps' ends up to now (the event follower's), so a step's line comes before the next's progress
        self.catch_up: Callable[[], None] = lambda: None
        self.last_output = clock()
        self.drawn = ""  # what the bar shows now
        self.drawn_at = 0.0

    def started(self, step: str) -> None:
        with self._lock:
            self.running.setdefault(step, self.clock())
            self.focus = step
            self._redraw()

    def report(self, report: Report) -> None:
        if report.step != self.focus:  # the first word from a step: the previous one has ended, say so first
            self.catch_up()  # outside the lock: the follower takes its own lock, then this one
        with self._lock:
            now = self.clock()
            self.running.setdefault(report.step, now)
            self.latest[report.step] = report
            self.focus = report.step
            if self.tty:
                self._redraw()
            elif now - self.printed.get(report.step, self.running[report.step]) >= self.every:
                self.printed[report.step] = now
                self._write(f"  ...  {report.text}")

    def finished(self, step: str, line: str) -> None:
        with self._lock:
            for known in (self.running, self.latest, self.printed):
                known.pop(step, None)
            self._write(line)

    def tick(self) -> None:
        """Called often: moves the bar's clock; in plain output, says which step runs after a long silence."""
        with self._lock:
            now = self.clock()
            if self.tty:
                if now - self.drawn_at >= REDRAW_SECONDS:
                    self._redraw()
            elif self.running and now - self.last_output >= self.heartbeat:
                step, since = min(self.running.items(), key=lambda item: item[1])
                self.printed[step] = now  # the step's own heartbeat, due about now, would say the same
                self._write(f"  ...  {step}: running for {duration(now - since)}")

    def close(self) -> None:
        with self._lock:
            self.running.clear()
            self._clear()

    def _write(self, line: str) -> None:
        self._clear()
        self.stream.write(line + "\n")
        self.stream.flush()
        self.last_output = self.clock()
        self._redraw()

    def _clear(self) -> None:
        if self.drawn:
            self.stream.write(CLEAR_LINE)
            self.stream.flush()
            self.drawn = ""

    def _redraw(self) -> None:
        if not self.tty:
            return
        now = self.clock()
        text = self._bar(now)
        if text != self.drawn:
            self.stream.write(CLEAR_LINE + text if text else CLEAR_LINE)
            self.stream.flush()
            self.drawn = text
        self.drawn_at = now

    def _bar(self, now: float) -> str:
        if not self.running:
            return ""
        # steps run one after another in the CLI's process: the one heard from last, else the last started
        step = self.focus if self.focus in self.running else max(self.running, key=self.running.__getitem__)
        elapsed = now - self.running[step]
        if step in self.latest:
            return bar_line(self.latest[step], self.width(), elapsed)
        return f"  ...  {step}  elapsed {duration(elapsed)}"[:max(self.width() - 1, 0)]


class StepFollower:
    """Follows the run (found by its tags) in the instance's event log from a thread: a step's start shows in
    the bar, its end prints a line with the time since the previous line and the process's peak memory (the
    steps run in this process)."""

    def __init__(self, instance: dg.DagsterInstance, run_tags: Mapping[str, str], display: Display) -> None:
        self.instance, self.run_tags, self.display = instance, dict(run_tags), display
        self.last = time.monotonic()
        self.run_id: str | None = None
        self.cursor: str | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._follow, name="crm-mock-steps", daemon=True)
        self._lock = threading.Lock()  # the follower's thread and a step's (through catch_up) may both read
        display.catch_up = self._drain

    def __enter__(self) -> "StepFollower":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join(timeout=30)
        self._drain()  # whatever arrived after the last poll
        self.display.close()

    def _follow(self) -> None:
        while not self.done.wait(0.25):
            self._drain()
            self.display.tick()

    def _drain(self) -> None:
        with self._lock:
            self._read()

    def _read(self) -> None:
        if self.run_id is None:
            records = self.instance.get_run_records(dg.RunsFilter(tags=self.run_tags), limit=1)
            if not records:
                return
            self.run_id = records[0].dagster_run.run_id
        kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
        while True:
            page = self.instance.get_records_for_run(self.run_id, cursor=self.cursor, of_type=kinds, limit=100)
            for record in page.records:
                event = record.event_log_entry.dagster_event
                if event.event_type == dg.DagsterEventType.STEP_START:
                    self.display.started(step_label(event.step_key))
                elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
                    self.line("ok", event.step_key)
                else:
                    error = event.step_failure_data.error
                    cause = error.cause if error and error.cause else error
                    self.line("FAIL", event.step_key, f": {cause.message.strip() if cause else ''}")
            self.cursor = page.cursor
            if not page.has_more:
                return

    def line(self, status: str, step_key: str, detail: str = "") -> None:
        now = time.monotonic()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        step = step_label(step_key)
        self.display.finished(step, f"  {status:<4} {now - self.last:6.1f}s {peak_mb:6.0f} MB peak  {step}{detail}")
        self.last = now


class _ReportHandler(logging.Handler):
    def __init__(self, display: Display) -> None:
        super().__init__(logging.INFO)
        self.display = display

    def emit(self, record: logging.LogRecord) -> None:
        report = getattr(record, "progress", None)
        if isinstance(report, Report):
            self.display.report(report)


@contextmanager
def listening(display: Display) -> Iterator[None]:
    """While open, the steps of this process send their fine-grained reports to ``display``."""
    logger = logging.getLogger(LIVE_LOGGER)
    handler = _ReportHandler(display)
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # ours alone: not the root logger's handlers
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
