"""The edge-case catalogue: every case planted, findable in the service databases, stored byte for byte,
and the Part A rules intact with planting on or off."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from contextlib import closing

import pytest

from crm_mock.cli import EXIT_OK, main
from crm_mock.consistency.registry import registry, run_rules
from crm_mock.consistency.sources import StoreSource
from crm_mock.sinks.parquet import TableStore
from crm_mock.edge_cases import EdgeCase, load_catalog
from crm_mock.generate.manifest import manifest, planted_records
from crm_mock.generate import GENERATORS
from crm_mock.model import CATALOG, Kind
from crm_mock.scenario import load_scenario, plan_tier
from crm_mock.sinks.manifest import manifest_path, read_manifest
from crm_mock_tests.conftest import TierRun

CASE_IDS = {c.id for c in load_catalog()}


@pytest.fixture(scope="module")
def planted(smoke_run: TierRun) -> list[dict]:
    return read_manifest(manifest_path(smoke_run.data_dir, "smoke"))


def _row(run: TierRun, table: str, uuid: str) -> dict | None:
    model = CATALOG[table]
    with closing(sqlite3.connect(run.sqlite(model.service))) as conn:
        cursor = conn.execute(f"SELECT * FROM {model.name} WHERE {model.primary_key[0]} = ?", (uuid,))
        names = [d[0] for d in cursor.description]
        row = cursor.fetchone()
    return dict(zip(names, row)) if row else None


def _query(run: TierRun, service: str, sql: str, *args) -> list[tuple]:
    with closing(sqlite3.connect(run.sqlite(service))) as conn:
        return conn.execute(sql, args).fetchall()


def test_the_catalogue_has_every_kind_the_brief_asks_for():
    text = {c.id for c in load_catalog() if c.theme == "text"}
    assert {"max_length_ascii_account_name", "max_length_multibyte_product_name", "long_multiline_address",
            "apostrophe_and_hyphen_surname", "cjk_name", "arabic_name", "hebrew_company", "devanagari_name",
            "cyrillic_name", "greek_name", "combining_marks", "emoji_in_company_name",
            "non_breaking_and_zero_width_spaces", "leading_trailing_whitespace", "sql_injection_lookalike",
            "html_injection_lookalike"} <= text
    assert {"largest_amount_line", "smallest_amount_line", "zero_quantity_line", "zero_price_line",
            "negative_balance", "leap_day_hire", "end_of_month_hire", "leap_day_account",
            "empty_nullable"} <= CASE_IDS
    assert {"discontinued_product_on_open_order", "suspended_account_open_ticket", "account_without_orders",
            "partially_paid_several_payments", "credit_note_over_remaining_balance", "acme_corp",
            "credit_hold_account"} <= CASE_IDS


@pytest.mark.parametrize("tier", ["smoke", "staging"])
def test_the_manifest_lists_every_case(tier: str):
    assert {entry.case_id for entry in manifest(plan_tier(load_scenario(), tier))} == CASE_IDS


@pytest.mark.parametrize("tier", ["smoke", "staging"])
def test_what_the_generators_record_lands_in_the_tables_the_catalogue_names(tier: str):
    """The manifest is made of the generators' records; the catalogue says where each case plants (the
    graph's edges come from it), so the two cannot drift apart unnoticed."""
    cases = {c.id: c for c in load_catalog()}
    records = planted_records(plan_tier(load_scenario(), tier))
    outside = [(r.case_id, r.table) for r in records if r.table not in cases[r.case_id].planted_tables]
    assert not outside
    assert {r.case_id for r in records} == CASE_IDS


def test_a_case_with_a_kind_must_name_real_tables():
    with pytest.raises(ValueError, match="not tables of the model"):
        EdgeCase(id="x", description="x", kind="x", tables=("orders.no_such_table",))
    with pytest.raises(ValueError, match="names the tables"):
        EdgeCase(id="x", description="x", kind="x")


def test_the_manifest_is_written_beside_the_databases(planted: list[dict]):
    assert {entry["case_id"] for entry in planted} == CASE_IDS


def test_every_planted_record_is_in_its_service_database(smoke_run: TierRun, planted: list[dict]):
    for entry in planted:
        assert _row(smoke_run, entry["table"], entry["uuid"]) is not None, entry


def test_planted_values_survive_the_round_trip_byte_for_byte(smoke_run: TierRun, planted: list[dict]):
    checked = 0
    for entry in planted:
        if entry["column"] is None or (entry["value"] is None and entry["case_id"] != "empty_nullable"):
            continue
        stored = _row(smoke_run, entry["table"], entry["uuid"])[entry["column"]]
        expected = entry["value"]
        if isinstance(expected, str):
            assert isinstance(stored, str) and stored.encode("utf-8") == expected.encode("utf-8"), entry["case_id"]
        elif isinstance(expected, float):
            assert stored == pytest.approx(expected, abs=0.001), entry["case_id"]
        else:
            assert stored == expected, entry["case_id"]
        checked += 1
    assert checked >= 20


def test_boundaries_come_from_the_model():
    for case in load_catalog():
        if case.boundary == "max_length":
            column = CATALOG[case.table].column(case.column)
            assert column.kind is Kind.TEXT and len(case.text()) == column.max_length


def test_golden_credit_hold_account(smoke_run: TierRun, planted: list[dict]):
    golden = [e for e in planted if e["case_id"] == "credit_hold_account"]
    account = next(e["uuid"] for e in golden if e["table"] == "contact.accounts")
    assert _query(smoke_run, "contact", "SELECT status FROM accounts WHERE account_uuid = ?", account) == [("ON_HOLD",)]
    assert _query(smoke_run, "finance", "SELECT credit_status FROM customer_accounts WHERE account_uuid = ?",
                  account) == [("ON_HOLD",)]
    overdue = _query(smoke_run, "finance", "SELECT COUNT(*) FROM invoices WHERE account_uuid = ? AND status = "
                     "'OVERDUE'", account)
    assert overdue == [(3,)]
    tickets = _query(smoke_run, "support", "SELECT priority, status FROM tickets WHERE account_uuid = ?", account)
    assert ("URGENT", "OPEN") in tickets


def test_golden_uuids_are_the_same_in_every_tier():
    def golden(tier: str) -> set[str]:
        return {e.uuid for e in manifest(plan_tier(load_scenario(), tier)) if e.theme == "golden"
                and e.table == "contact.accounts"}

    assert golden("smoke") == golden("staging") == golden("load")


def test_business_cases_mean_what_they_say(smoke_run: TierRun, planted: list[dict]):
    by_case = {e["case_id"]: e for e in planted}
    line = _row(smoke_run, "orders.order_lines", by_case["discontinued_product_on_open_order"]["uuid"])
    order = _row(smoke_run, "orders.sales_orders", line["order_uuid"])
    product = _row(smoke_run, "inventory.products", line["product_uuid"])
    assert product["status"] == "DISCONTINUED" and order["status"] in ("PENDING", "CONFIRMED")

    ticket = _row(smoke_run, "support.tickets", by_case["suspended_account_open_ticket"]["uuid"])
    assert ticket["status"] == "OPEN"
    assert _row(smoke_run, "contact.accounts", ticket["account_uuid"])["status"] == "SUSPENDED"

    idle = by_case["account_without_orders"]["uuid"]
    assert _row(smoke_run, "contact.accounts", idle)["status"] == "ACTIVE"
    assert _query(smoke_run, "orders", "SELECT COUNT(*) FROM sales_orders WHERE account_uuid = ?", idle) == [(0,)]

    partial = by_case["partially_paid_several_payments"]["uuid"]
    assert _row(smoke_run, "finance.invoices", partial)["status"] == "PARTIALLY_PAID"
    assert _query(smoke_run, "finance", "SELECT COUNT(*) FROM payments WHERE invoice_uuid = ?", partial) == [(3,)]

    credited = _row(smoke_run, "finance.invoices", by_case["credit_note_over_remaining_balance"]["uuid"])
    assert credited["status"] == "PAID"
    assert _query(smoke_run, "finance", "SELECT COUNT(*) FROM invoice_lines WHERE invoice_uuid = ? AND "
                  "line_total < 0", credited["invoice_uuid"]) == [(1,)]
    balance = _row(smoke_run, "finance.customer_accounts", by_case["negative_balance"]["uuid"])["balance"]
    assert balance < 0


def test_density_zero_plants_only_the_golden_scenarios_and_keeps_the_quotas(tmp_path):
    plan = dataclasses.replace(plan_tier(load_scenario(), "smoke"), edge_density=0)
    assert {e.theme for e in manifest(plan)} == {"golden"}
    tables = {name: generate(plan) for name, generate in GENERATORS.items()}
    store = TableStore(tmp_path)
    for name, table in tables.items():
        store.write("smoke", tuple(name.split(".")), table)
    quota_rules = [r for r in registry() if r.name in ("quotas", "stock")]
    with StoreSource(store, "smoke") as source:
        results = run_rules(source, plan, quota_rules)
    assert len(results) >= 6 and [r for r in results if not r.passed] == []
    names = set(tables["contact.accounts"].column("name").to_pylist())
    assert "Robert'); DROP TABLE accounts;--" not in names


def test_export_fixtures(smoke_run: TierRun, tmp_path):
    out = tmp_path / "fixtures.json"
    assert main(["export-fixtures", "--tier", "smoke", "--data-dir", str(smoke_run.data_dir), "--format", "json",
                 "--output", str(out)]) == EXIT_OK
    cases = json.loads(out.read_text(encoding="utf-8"))
    assert set(cases) == CASE_IDS
    record = cases["sql_injection_lookalike"]["records"][0]
    assert record["row"]["name"] == "Robert'); DROP TABLE accounts;--"
    assert all(r["row"] for case in cases.values() for r in case["records"])


def test_the_readme_lists_the_golden_uuids():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    golden = {e.uuid for e in manifest(plan_tier(load_scenario(), "staging"))
              if e.theme == "golden" and e.table in ("contact.accounts", "contact.contacts", "support.tickets")}
    assert golden and all(uuid in readme for uuid in golden)
