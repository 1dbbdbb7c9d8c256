"""Replay over HTTP against real servers on 127.0.0.1: json-server as the system's store, Prism validating
every request against an OpenAPI document, nginx rate limiting with 429 + Retry-After."""

from __future__ import annotations

import collections
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
import yaml

from crm_mock.cli import main
from crm_mock.replay.plan import read_plan
from crm_mock.replay.runner import EXIT_FAILED, EXIT_OK, RunSettings, run_replay
from crm_mock.replay.target import load_target
from crm_mock.sinks.parquet import TableStore
from crm_mock_tests.replay_servers import (
    EXAMPLES, access_statuses, json_server, nginx_limiter, prism_proxy, store_rows, write_openapi,
)

pytestmark = pytest.mark.timeout(180)
EXAMPLE = EXAMPLES / "json-server.yaml"
# collection in the store -> (event that creates its records, the record key column)
CREATED = {"leads": ("lead.created", "lead_uuid"), "opportunities": ("opportunity.created", "opportunity_uuid"),
           "quotes": ("quote.created", "quote_uuid"), "orders": ("order.created", "order_uuid"),
           "payments": ("payment.received", "payment_uuid")}


@pytest.fixture
def data_dir(smoke_run, tmp_path) -> Path:
    """A data directory of its own (own ledgers) over the session's smoke tables."""
    directory = tmp_path / "data"
    (directory / "smoke").mkdir(parents=True)
    (directory / "smoke" / "tables").symlink_to(smoke_run.data_dir / "smoke" / "tables")
    return directory


def _target(tmp_path: Path, name: str, edit=None) -> Path:
    """A copy of the example target, optionally edited (still read through ${VAR} from the environment)."""
    document = yaml.safe_load(EXAMPLE.read_text())
    document["name"] = name
    if edit:
        edit(document)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _settings(data_dir: Path, target: Path, **kw) -> RunSettings:
    return RunSettings(tier="smoke", target_path=target, data_dir=data_dir, **kw)


def _expected(data_dir: Path, limit: int | None = None) -> collections.Counter:
    """Records each store collection must hold after replaying the plan (or its first ``limit`` events)."""
    plan = read_plan(TableStore(data_dir), "smoke")
    target, _ = load_target(EXAMPLE)
    sent = [e for e in plan.table.column("event_id").to_pylist() if e in target.events]
    sent = sent[:limit] if limit else sent
    counted = collections.Counter(sent)
    return collections.Counter({c: counted[e] for c, (e, _) in CREATED.items()})


def _assert_store_matches(server, expected: collections.Counter) -> None:
    for collection, (event_id, key) in CREATED.items():
        rows = store_rows(server, collection)
        keys = collections.Counter(r[key] for r in rows)
        assert len(rows) == expected[collection], collection
        assert not [k for k, n in keys.items() if n > 1], f"duplicates in {collection}"


def _ledger_states(data_dir: Path, name: str) -> collections.Counter:
    with closing(sqlite3.connect(data_dir / "smoke" / "replay" / f"{name}.ledger.sqlite")) as conn:
        return collections.Counter(dict(conn.execute("SELECT state, COUNT(*) FROM events GROUP BY state")))


def _ledger_states_so_far(data_dir: Path, name: str) -> collections.Counter:
    """``_ledger_states`` while the replay may still be creating its ledger: the file exists a moment before its
    table does (a poll that caught that moment failed CI once), so until both exist nothing is counted."""
    if not (data_dir / "smoke" / "replay" / f"{name}.ledger.sqlite").exists():
        return collections.Counter()
    try:
        return _ledger_states(data_dir, name)
    except sqlite3.OperationalError as error:
        if "no such table" not in str(error):
            raise
        return collections.Counter()


def test_smoke_chain_through_prism_every_event_accepted_and_no_secret_leaks(data_dir, tmp_path, monkeypatch, capsys):
    secret = "s3cr3t-token-9f27c1"
    monkeypatch.setenv("CRM_MOCK_REPLAY_TEST_TOKEN", secret)
    target = _target(tmp_path, "prism-chain", lambda d: d["services"]["store"].update(
        auth={"header": "Authorization", "env": "CRM_MOCK_REPLAY_TEST_TOKEN", "prefix": "Bearer "}))
    openapi = write_openapi(load_target(target)[0], tmp_path / "openapi.yaml")
    with json_server(tmp_path / "store") as store, prism_proxy(tmp_path, openapi, store.url) as prism:
        monkeypatch.setenv("CRM_MOCK_REPLAY_URL", prism.url)
        report_path = tmp_path / "report"
        code = main(["replay", "run", "--tier", "smoke", "--data-dir", str(data_dir), "--target", str(target),
                     "--report", str(report_path), "--fail-on", "failed>0"])
        out = capsys.readouterr()
        _assert_store_matches(store, _expected(data_dir))
        prism_log = prism.log.read_text()
    assert code == EXIT_OK, out.out + out.err
    report = json.loads(report_path.with_suffix(".json").read_text())
    assert report["totals"]["failed"] == 0 and report["totals"]["ok"] == sum(_expected(data_dir).values()) + 180
    assert "UNPROCESSABLE_ENTITY" not in prism_log
    # the token travelled to the server, and nowhere else
    ledger = (data_dir / "smoke" / "replay" / "prism-chain.ledger.sqlite").read_bytes()
    for where in (out.out, out.err, report_path.with_suffix(".json").read_text(),
                  report_path.with_suffix(".md").read_text(), ledger.decode("latin-1")):
        assert secret not in where


def test_killed_midway_and_resumed_gives_the_same_store_without_duplicates(data_dir, tmp_path):
    target = _target(tmp_path, "kill-resume")
    limit = 400
    with json_server(tmp_path / "store") as store:
        env = {**os.environ, "CRM_MOCK_REPLAY_URL": store.url, "CRM_MOCK_REPLAY_RATE": "40"}
        argv = [sys.executable, "-m", "crm_mock.cli", "replay", "run", "--tier", "smoke", "--data-dir", str(data_dir),
                "--target", str(target), "--limit", str(limit), "--concurrency", "8"]
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120  # a loaded machine starts Python slowly
            while time.monotonic() < deadline and process.poll() is None:
                if _ledger_states_so_far(data_dir, "kill-resume")["ok"] >= 60:
                    break
                time.sleep(0.05)
            assert process.poll() is None, "the replay finished before it could be killed"
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
        interrupted = _ledger_states(data_dir, "kill-resume")
        assert 60 <= interrupted["ok"] < limit
        result = _run_with_env({"CRM_MOCK_REPLAY_URL": store.url},
                               _settings(data_dir, target, resume=True, limit=limit))
        assert result.exit_code == EXIT_OK, result.text
        assert result.report["resumed"] is True
        _assert_store_matches(store, _expected(data_dir, limit))
    states = _ledger_states(data_dir, "kill-resume")
    assert states["ok"] + states["already there"] == limit and states["failed"] == 0


def _run_with_env(env: dict[str, str], settings: RunSettings):
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return run_replay(settings)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_sends_answered_too_late_resolve_as_already_there(data_dir, tmp_path):
    """The store commits, then answers after the client gave up: the lookup finds every stranded send."""
    target = _target(tmp_path, "late", lambda d: d.update(retry={"attempts": 4, "backoff_s": 0.1, "backoff_max_s": 1}))
    with json_server(tmp_path / "store", delay_ms=1200) as store:
        result = _run_with_env({"CRM_MOCK_REPLAY_URL": store.url, "CRM_MOCK_REPLAY_TIMEOUT_S": "0.4",
                                "CRM_MOCK_REPLAY_LOOKUP_TIMEOUT_S": "5"},
                               _settings(data_dir, target, limit=16, concurrency=8))
        leads = store_rows(store, "leads")
    states = _ledger_states(data_dir, "late")
    assert result.exit_code == EXIT_OK, result.text
    assert states == {"already there": 16}
    # the plan's first 16 events are leads and whatever the timeline puts between them
    expected_leads = _expected(data_dir, 16)["leads"]
    assert expected_leads > 0 and len(leads) == expected_leads == len({r["lead_uuid"] for r in leads})


def test_rate_limited_server_retries_to_zero_failures_and_rate_below_limit_sees_no_429(data_dir, tmp_path):
    limit = 60
    target = _target(tmp_path, "limited", lambda d: d.update(retry={"attempts": 12, "backoff_s": 0.2, "backoff_max_s": 2}))
    with json_server(tmp_path / "store") as store, nginx_limiter(tmp_path / "n1", store.url, 20, 2) as nginx:
        result = _run_with_env({"CRM_MOCK_REPLAY_URL": nginx.url}, _settings(data_dir, target, limit=limit))
        answered = collections.Counter(access_statuses(nginx))
        assert result.exit_code == EXIT_OK, result.text
        assert answered[429] > 0, "the server never refused: the test proves nothing"
        assert result.report["totals"]["failed"] == 0
        _assert_store_matches(store, _expected(data_dir, limit))
    target2 = _target(tmp_path, "paced")
    with json_server(tmp_path / "store2") as store, nginx_limiter(tmp_path / "n2", store.url, 20, 2) as nginx:
        result = _run_with_env({"CRM_MOCK_REPLAY_URL": nginx.url}, _settings(data_dir, target2, limit=limit, rate=10))
        answered = collections.Counter(access_statuses(nginx))
        assert result.exit_code == EXIT_OK, result.text
        assert answered[429] == 0 and answered[201] == sum(_expected(data_dir, limit).values())
        _assert_store_matches(store, _expected(data_dir, limit))


def _bad_orders(document: dict) -> None:
    """Only orders, with money as a JSON number: the contract (and the OpenAPI document) want a string."""
    order = document["events"]["order.created"]
    order["http"]["body"]["constants"] = {"status": "PENDING"}
    order["http"]["body"]["rename"] = {}
    shipped = document["events"]["order.shipped"]
    document["events"] = {"order.created": order, "order.shipped": shipped}
    order["http"]["body"]["columns"] = [c for c in order["http"]["body"]["columns"] if c != "total_amount"]
    order["http"]["body"]["constants"]["total_amount"] = 12.5


def test_bad_body_is_reported_with_the_servers_validation_errors_and_dry_run_sends_nothing(data_dir, tmp_path, capsys):
    good_target = _target(tmp_path, "good")
    openapi = write_openapi(load_target(good_target)[0], tmp_path / "openapi.yaml")
    bad_target = _target(tmp_path, "bad-body", _bad_orders)
    with json_server(tmp_path / "store") as store, prism_proxy(tmp_path, openapi, store.url) as prism:
        dry = _run_with_env({"CRM_MOCK_REPLAY_URL": prism.url}, _settings(data_dir, good_target, dry_run=True))
        assert dry.report["would_send"]["order.created"] == 200 and not any(store_rows(store, c) for c in CREATED)
        assert not (data_dir / "smoke" / "replay" / "good.ledger.sqlite").exists()
        result = _run_with_env({"CRM_MOCK_REPLAY_URL": prism.url}, _settings(data_dir, bad_target))
        assert store_rows(store, "orders") == []
    assert result.exit_code == EXIT_FAILED
    totals = result.report["totals"]
    assert totals["failed"] == 200 and totals["skipped"] == 180  # every shipment waits on its failed order
    failure = result.report["first_failures"][0]
    assert failure["status"] == "422" and "total_amount" in failure["response"] and failure["skipped_dependants"] <= 1
    assert result.report["skipped_because_of"][0]["event"] == "order.created"
    assert "## First failures" in result.text


def test_plan_validate_checks_every_body_offline(data_dir, tmp_path, capsys):
    good_target = _target(tmp_path, "good")
    openapi = write_openapi(load_target(good_target)[0], tmp_path / "openapi.yaml")
    for name, edit in (("good", None), ("bad-body", _bad_orders)):
        path = _target(tmp_path, name, lambda d, edit=edit: (edit and edit(d), d["services"]["store"].update(
            openapi=str(openapi))))
        code = main(["replay", "plan", "--tier", "smoke", "--data-dir", str(data_dir), "--target", str(path), "--validate"])
        out = capsys.readouterr().out
        if name == "good":
            assert code == EXIT_OK and "0 violation(s)" in out, out
        else:
            assert code == EXIT_FAILED and "total_amount: 12.5 is not of type 'string'" in out, out
