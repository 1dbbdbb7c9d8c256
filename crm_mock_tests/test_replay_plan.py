"""The replay plan, target files and reports: pure tests on the smoke tier's tables (no server)."""

from __future__ import annotations

import json
import uuid

import pytest

from crm_mock.model import CATALOG
from crm_mock.replay.events import BY_ID, EVENT_TYPES
from crm_mock.replay.plan import NAMESPACE, build_plan
from crm_mock.replay.redact import Redactor
from crm_mock.replay.report import Threshold
from crm_mock.replay.target import TargetError, load_target
from crm_mock.sinks.parquet import TableStore
from crm_mock_tests.replay_servers import EXAMPLES


@pytest.fixture(scope="module")
def plan(smoke_run):
    return build_plan(TableStore(smoke_run.data_dir), "smoke")


def test_plan_is_a_function_of_the_tables(smoke_run, plan):
    again = build_plan(TableStore(smoke_run.data_dir), "smoke")
    assert again.plan_hash == plan.plan_hash and again.table.equals(plan.table)
    rows = plan.table.to_pylist()
    assert [r["seq"] for r in rows] == list(range(len(rows)))
    for r in rows[:200]:
        assert r["idempotency_key"] == str(uuid.uuid5(NAMESPACE, f"{plan.plan_hash}/{r['event_id']}/{r['key']}"))
    assert len({r["idempotency_key"] for r in rows}) == len(rows)  # per event, never just the record's UUID


def test_plan_covers_every_record_and_nests_children(smoke_run, plan):
    store = TableStore(smoke_run.data_dir)
    counts = plan.counts()
    orders = store.read_model_table("smoke", "orders.sales_orders")
    assert counts["order.created"] == orders.num_rows
    assert counts["order.shipped"] == orders.num_rows - orders.column("shipped_at").null_count
    for event in EVENT_TYPES:
        if event.kind == "expect" and event.model_table and event.model_table.is_replica:
            assert counts[event.event_id] == store.read_model_table("smoke", event.table).num_rows
    lines = store.read_model_table("smoke", "orders.order_lines").num_rows
    nested = sum(len(json.loads(r)["order_lines"]) for e, r in zip(plan.table.column("event_id").to_pylist(),
                                                                   plan.table.column("record").to_pylist())
                 if e == "order.created")
    assert nested == lines
    # every column of the model table is in the record, so a new column flows through without a change here
    record = json.loads(next(r for e, r in zip(plan.table.column("event_id").to_pylist(),
                                               plan.table.column("record").to_pylist()) if e == "quote.created"))
    assert set(CATALOG["sales.quotes"].column_names) <= set(record)
    assert record["total_amount"].count(".") == 1 and record["created_at"].endswith("+00:00")


def test_causal_order_every_event_after_what_it_follows(plan):
    rows = plan.table.to_pylist()
    first_seen: dict[str, int] = {}
    for r in rows:
        for ref in r["keys"][1:]:
            table = ref.split(":")[0]
            if table != "stock" and ref in first_seen:
                assert first_seen[ref] < r["seq"]
        first_seen.setdefault(r["keys"][0], r["seq"])
    seq_of = {(r["event_id"], r["key"]): r["seq"] for r in rows}
    for r in rows:
        record = json.loads(r["record"])
        if r["event_id"] == "order.created" and record["quote_uuid"]:
            assert seq_of[("quote.created", record["quote_uuid"])] < r["seq"]
        if r["event_id"] == "payment.received":
            assert seq_of[("invoice.issued", record["invoice_uuid"])] < r["seq"]
        if r["event_id"] == "order.shipped":
            assert seq_of[("order.created", r["key"])] < r["seq"]
    ats = [r["at"] for r in rows]
    assert ats == sorted(ats)


def test_target_errors_name_the_line(tmp_path, monkeypatch):
    monkeypatch.delenv("CRM_MOCK_REPLAY_TEST_MISSING", raising=False)
    text = (EXAMPLES / "json-server.yaml").read_text()
    bad = text.replace("columns: [order_uuid, account_uuid, quote_uuid, order_date, total_amount]",
                       "columns: [order_uuid, account_uuid, quote_uuid, order_date, totl_amount]")
    bad = bad.replace("path: /payments", "path: /payments\n      methd: POST")
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    with pytest.raises(TargetError) as caught:
        load_target(path)
    message = str(caught.value)
    line = next(i for i, l in enumerate(bad.splitlines(), 1) if "methd" in l)
    assert f"line {line}: events.payment.received.http.methd" in message
    path.write_text(text.replace("columns: [order_uuid, account_uuid", "columns: [order_uuid, acount_uuid"))
    with pytest.raises(TargetError, match=r"line \d+: events.order.created.http.body.columns: 'acount_uuid' is not a column"):
        load_target(path)
    path.write_text(text.replace("${CRM_MOCK_REPLAY_URL:-http://127.0.0.1:3000}", "${CRM_MOCK_REPLAY_TEST_MISSING}"))
    with pytest.raises(TargetError, match="line 8: services.store.base_url: environment variable CRM_MOCK_REPLAY_TEST_MISSING"):
        load_target(path)


def test_both_example_targets_are_valid(monkeypatch):
    monkeypatch.setenv("CRM_MOCK_API_TOKEN", "example-token")
    for name in ("json-server.yaml", "django-rest.yaml"):
        target, _ = load_target(EXAMPLES / name)
        assert all(event in BY_ID for event in target.events)


def test_redaction_and_thresholds():
    redactor = Redactor(["tok-123456"], ["X-Api-Token"])
    assert redactor.text("amqp://guest:hunter2@127.0.0.1:5672// Bearer tok-123456") == "amqp://guest:***@127.0.0.1:5672// Bearer ***"
    assert redactor.headers({"X-Api-Token": "abc", "Accept": "json"}) == {"X-Api-Token": "***", "Accept": "json"}
    assert Threshold.parse("p95_ms>500").crossed({"p95_ms": 501}) and not Threshold.parse("failed>0").crossed({"failed": 0})
    with pytest.raises(ValueError, match="metrics"):
        Threshold.parse("latency>5")
