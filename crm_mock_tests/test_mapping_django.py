"""A Django team's own tables: seven services whose tables ``migrate`` created (crm_mock_tests/django_services)
on SQLite and on the real PostgreSQL. crm_mock drafts a mapping from each live schema, the TODOs are filled,
the staging tier is loaded through it, the Django ORM reads every mapped table, and ``crm-mock check``
finds no drift until a replica row is changed through Django."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections import Counter
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import dagster as dg
import pytest
import yaml

from crm_mock import cli
from crm_mock.defs.consistency.checks import LIVE_RULES, evaluate_tier
from crm_mock.defs.resources import ServiceDatabaseResource, StorageResource
from crm_mock.mapping.port import MAPPING_ENV, MappedDatabases, with_mapping
from crm_mock.mapping.repair import repropagate_through
from crm_mock.mapping.spec import MappingError, load_mapping
from crm_mock.model import CATALOG, SERVICES
from crm_mock.scenario import load_scenario, plan_tier
from crm_mock.sinks.databases import PostgresDatabases, SqliteDatabases, service_databases
from crm_mock.sinks.fixtures import planted_records
from crm_mock.sinks.parquet import TableStore
from crm_mock.sinks.sqlite import load_service, sqlite_path
from crm_mock_tests.conftest import materialize_tier, require_postgres
from crm_mock_tests.django_harness import DjangoServices, postgres_services, sqlite_services

pytest.importorskip("django")

TIER = "staging"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "mappings" / "django.yaml"
UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The staging tier's table store and edge-case manifest (no service database of crm_mock's own)."""
    data_dir = tmp_path_factory.mktemp("mapping_staging") / "data"
    selection = dg.AssetSelection.groups("id_maps", "master_data", "replicas", "transactions",
                                         "edge_cases").without_checks()
    run = materialize_tier(data_dir, TIER, selection=selection)
    assert run.result.success
    return data_dir


@pytest.fixture(scope="module")
def store(staging: Path) -> dict[str, list[dict]]:
    tables = TableStore(staging)
    return {t.qualified_name: tables.read_model_table(TIER, t.qualified_name).to_pylist() for t in CATALOG}


def fill_todos(draft: dict, example: dict) -> dict:
    """What the team does with a draft: every TODO filled, every guess checked, as the example says."""
    for service, spec in draft["services"].items():
        known = example["services"][service]["tables"]
        for name, table in spec["tables"].items():
            wanted = known[name]
            columns = table.setdefault("columns", {})
            for column, how in (wanted.get("columns") or {}).items():
                columns[column] = how  # the example's spelling, its code values and forms
            table["omit"] = [c for c in table.get("omit", []) if c in wanted.get("omit", [])]
            if not table["omit"]:
                del table["omit"]
            mapped = {(h["column"] if isinstance(h, dict) else h) for h in columns.values()}
            fills = {k: v for k, v in (table.get("fill") or {}).items() if k not in mapped}
            fills.update(wanted.get("fill") or {})
            table["fill"] = fills
    return draft


@dataclass
class Team:
    backend: str
    data_dir: Path  # the table store; on SQLite also the services' Django databases
    django: DjangoServices
    port: MappedDatabases
    mappings: list[Path]  # the filled drafts, one per service
    drafts: dict[str, str]  # service -> the draft as crm-mock wrote it
    url_template: str = ""

    def cli(self, *args: str) -> list[str]:
        extra = ["--data-dir", str(self.data_dir)]
        for path in self.mappings:
            extra += ["--mapping", str(path)]
        return [*args, *extra]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def team(request: pytest.FixtureRequest, staging: Path, tmp_path_factory: pytest.TempPathFactory):
    backend = request.param
    work = tmp_path_factory.mktemp(f"team_{backend}")
    if backend == "postgres":
        require_postgres()
        with postgres_services(work / "django.json") as (django, template):
            yield _team(backend, staging, work, django, template)
    else:
        yield _team(backend, staging, work, sqlite_services(work / "django.json", staging, TIER), "")


def _team(backend: str, staging: Path, work: Path, django: DjangoServices, template: str) -> Team:
    django.migrate()
    inner = PostgresDatabases(template) if template else SqliteDatabases(staging)
    drafts, mappings = {}, []
    example = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    for service in SERVICES:
        url = template.replace("{service}", service) if template else f"sqlite:///{sqlite_path(staging, TIER, service)}"
        out = work / f"{service}.draft.yaml"
        assert cli.main(["mapping", "draft", "--service", service, "--url", url, "--output", str(out)]) == 0
        drafts[service] = out.read_text(encoding="utf-8")
        filled = work / f"{service}.yaml"
        filled.write_text(yaml.safe_dump(fill_todos(yaml.safe_load(drafts[service]), example), sort_keys=False))
        mappings.append(filled)
    port = MappedDatabases(inner, load_mapping(mappings))
    store = TableStore(staging)
    for service in SERVICES:
        port.load(TIER, service, {t.name: partial(store.model_batches, TIER, t.qualified_name)
                                  for t in CATALOG.service_tables(service)}, None)
    return Team(backend, staging, django, port, mappings, drafts, template)


@pytest.fixture
def environment(team: Team, monkeypatch: pytest.MonkeyPatch) -> Team:
    """The process environment a user of ``team`` would have (restored afterwards: the CLI sets the mapping)."""
    monkeypatch.setenv(MAPPING_ENV, "")
    if team.url_template:
        monkeypatch.setenv("CRM_MOCK_DATABASE_URL", team.url_template)
    else:
        monkeypatch.delenv("CRM_MOCK_DATABASE_URL", raising=False)
    return team


def test_draft_guesses_django_names_and_refuses_its_todos(team: Team):
    contact = team.drafts["contact"]
    guessed = yaml.safe_load(contact)["services"]["contact"]["tables"]
    assert {n: t["table"] for n, t in guessed.items()} == {
        "accounts": "contacts_account", "contacts": "contacts_contact", "employee_replica": "contacts_employee"}
    columns = guessed["accounts"]["columns"]
    # the key, a reference through the service's own foreign key, a moment without _at, a shorter name
    assert columns["account_uuid"]["column"] == "id" and columns["owner_employee_uuid"]["column"] == "owner_id"
    assert columns["created_at"]["column"] == "created" and columns["country_code"] == "country"
    assert re.search(r"owner_employee_uuid: .*# TODO check: guessed", contact)
    money = yaml.safe_load(team.drafts["inventory"])["services"]["inventory"]["tables"]["products"]["columns"]
    assert money["unit_cost"] == {"column": "unit_cost_cents", "money": "cents"}
    # every NOT NULL column nothing fills is a TODO, and the draft is refused until it is filled
    path = team.data_dir.parent / "contact.draft.yaml"
    path.write_text(contact, encoding="utf-8")
    with pytest.raises(MappingError) as refused:
        load_mapping(path)
    lines = contact.splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.strip().startswith("is_active: TODO"))
    column = lines[line - 1].index("TODO") + 1
    assert f"{path}:{line}:{column}: services.contact.tables.accounts.fill.is_active is still TODO" in str(refused.value)
    assert len(refused.value.problems) == contact.count(": TODO")


def _uuid(value: str | None) -> dict | None:
    return None if value is None else {"uuid": value}


def _moment(value: dt.datetime | None) -> dict | None:
    return None if value is None else {"datetime": value.replace(tzinfo=UTC).isoformat(), "utcoffset": 0.0}


def _money(value: float) -> dict:
    return {"decimal": f"{value:.2f}"}


def test_the_orm_reads_every_mapped_table(team: Team, store: dict):
    mapping = load_mapping(team.mappings)
    models = {"hr.employees": "hr.Employee", "contact.accounts": "contacts.Account", "contact.contacts":
              "contacts.Contact", "contact.employee_replica": "contacts.Employee"}
    for service, spec in mapping.services.items():
        for name, table in spec.tables.items():
            app = {"contact": "contacts"}.get(service, service)
            models.setdefault(f"{service}.{name}", f"{app}.{table.table.split('_', 1)[1]}")
    counts = team.django.orm(*({"count": m} for m in models.values()))
    assert dict(zip(models, counts)) == {t: len(store[t]) for t in models}
    assert len(models) == sum(len(s.tables) for s in mapping.services.values()) == 27


def test_orm_get_by_key_follows_foreign_keys_with_aware_moments_and_enum_values(team: Team, store: dict):
    employees = {e["employee_uuid"]: e for e in store["hr.employees"]}
    reports = Counter(e["manager_uuid"] for e in employees.values())
    boss = next(e for e in employees.values() if e["manager_uuid"] and reports[e["employee_uuid"]])
    acme = next(a for a in store["contact.accounts"] if a["name"] == "Acme Corp")
    discontinued = next(p for p in store["inventory.products"] if p["status"] == "DISCONTINUED")
    payment = store["finance.payments"][7]
    ticket = next(t for t in store["support.tickets"] if t["resolved_at"] and t["assignee_employee_uuid"])
    order = next(o for o in store["orders.sales_orders"] if o["shipped_at"])
    holds = {a["account_uuid"]: a for a in store["finance.customer_accounts"]}
    held = next(a for a in holds.values() if a["credit_status"] == "ON_HOLD")
    employee, account, product, paid, resolved, shipped, hold = team.django.orm(
        {"get": "hr.Employee", "pk": boss["employee_uuid"], "follow": ["manager", "reports"]},
        {"get": "contacts.Account", "pk": acme["account_uuid"], "follow": ["owner", "contacts"]},
        {"get": "inventory.Product", "pk": discontinued["product_uuid"], "follow": ["stock"]},
        {"get": "finance.Payment", "pk": payment["payment_uuid"], "follow": ["invoice"]},
        {"get": "support.Ticket", "pk": ticket["ticket_uuid"], "follow": ["assignee", "account"]},
        {"get": "orders.SalesOrder", "pk": order["order_uuid"], "follow": ["lines", "account"]},
        {"get": "finance.CustomerAccount", "pk": held["account_uuid"], "follow": ["invoices"]})

    assert employee["id"] == _uuid(boss["employee_uuid"]) and employee["manager"]["id"] == _uuid(boss["manager_uuid"])
    assert employee["reports"] == sorted(k for k, e in employees.items() if e["manager_uuid"] == boss["employee_uuid"])
    assert (employee["title"], employee["hired_on"]) == (boss["job_title"], {"date": boss["hire_date"].isoformat()})
    assert employee["status"] == boss["status"].lower() and employee["is_active"] == (boss["status"] != "TERMINATED")
    assert employee["version"] == 1

    owner = employees[acme["owner_employee_uuid"]]
    assert account["segment"] == "enterprise" and account["choice_labels"]["segment"] == "Enterprise"
    assert account["created"] == _moment(acme["created_at"]) and account["created"]["utcoffset"] == 0.0
    assert account["owner"]["id"] == _uuid(owner["employee_uuid"]) and account["owner"]["last_name"] == owner["last_name"]
    assert len(account["contacts"]) == 5  # Acme Corp's five contacts, reached backwards
    assert account["contacts"] == sorted(c["contact_uuid"] for c in store["contact.contacts"]
                                         if c["account_uuid"] == acme["account_uuid"])

    assert product["active"] is False and product["unit_cost_cents"] == round(discontinued["unit_cost"] * 100)
    assert product["list_price"] == _money(discontinued["list_price"])
    assert len(product["stock"]) == sum(s["product_uuid"] == discontinued["product_uuid"] for s in store["inventory.stock_levels"])

    assert paid["amount_cents"] == round(payment["amount"] * 100) and paid["paid"] == _moment(payment["paid_at"])
    assert paid["invoice"]["id"] == _uuid(payment["invoice_uuid"]) and paid["method"] == payment["method"].lower()

    assert resolved["priority"] == ["LOW", "NORMAL", "HIGH", "URGENT"].index(ticket["priority"]) + 1
    assert resolved["resolved"] == _moment(ticket["resolved_at"]) and resolved["status"] == ticket["status"].lower()
    assert resolved["assignee"]["id"] == _uuid(ticket["assignee_employee_uuid"])

    assert shipped["shipped"] == _moment(order["shipped_at"]) and shipped["status"] == order["status"].lower()
    assert shipped["lines"] == sorted(line["order_line_uuid"] for line in store["orders.order_lines"]
                                      if line["order_uuid"] == order["order_uuid"])
    assert hold["on_hold"] is True and hold["credit_status"] == "on_hold"
    assert hold["invoices"] == sorted(i["invoice_uuid"] for i in store["finance.invoices"]
                                      if i["account_uuid"] == held["account_uuid"])


def _check(team: Team, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(team.cli("check", "--tier", TIER))
    return code, capsys.readouterr().out


def test_check_finds_no_drift_then_the_replica_row_changed_through_django(
        environment: Team, capsys: pytest.CaptureFixture, store: dict):
    team = environment
    code, out = _check(team, capsys)
    assert code == 0, out
    assert re.search(r"tier 'staging': (\d+) of \1 rules consistent", out)
    # the live asset checks and the sensor evaluate the same rules through the resource's mapping
    resource = ServiceDatabaseResource(storage=StorageResource(data_dir=str(team.data_dir)),
                                       database_url=team.url_template, mapping=os.pathsep.join(map(str, team.mappings)))
    live = evaluate_tier(resource, plan_tier(load_scenario(None), TIER))
    assert len(live) == len(LIVE_RULES) and [r.key for r, result in live if not result.passed] == []

    replica = store["contact.employee_replica"][3]
    changed = team.django.orm({"update": "contacts.Employee", "pk": replica["employee_uuid"],
                               "set": {"last_name": "Changed-By-Django"}})[0]
    assert changed["last_name"] == "Changed-By-Django"
    code, out = _check(team, capsys)
    assert code == 1
    drift = [line for line in out.splitlines() if line.startswith("DRIFT")]
    assert drift == [f"DRIFT replica_in_sync contact contact.employee_replica: 1 offending; {replica['employee_uuid']}"]

    # repropagate through the mapping puts HR's value back, in the service's own table
    repairs = {r.table: r for r in repropagate_through(with_mapping(service_databases(team.url_template, team.data_dir),
                                                            team.mappings), plan_tier(load_scenario(None), TIER))}
    assert repairs["contact.employee_replica"].upserted == len(store["hr.employees"])
    assert team.django.orm({"get": "contacts.Employee", "pk": replica["employee_uuid"]})[0]["last_name"] == \
        replica["last_name"]
    assert _check(team, capsys)[0] == 0


def test_export_fixtures_through_the_mapping_equals_the_model_tables(team: Team, tmp_path: Path):
    """The planted records read back from the service's tables are those crm_mock's own tables hold."""
    plain = SqliteDatabases(tmp_path)
    tables = TableStore(team.data_dir)
    for service in SERVICES:
        load_service(plain.path(TIER, service), service, {
            t.name: partial(tables.model_batches, TIER, t.qualified_name) for t in CATALOG.service_tables(service)})
    ours, theirs = planted_records(plain, team.data_dir, TIER), planted_records(team.port, team.data_dir, TIER)
    assert ours and sum(len(c["records"]) for c in ours.values()) > 20
    for case in ours.values():  # the service does not keep stock levels' reorder points
        for record in case["records"]:
            if record["table"] == "inventory.stock_levels" and record["row"]:
                record["row"]["reorder_point"] = None
    assert theirs == ours


def test_a_reload_keeps_the_services_own_rows_and_gives_the_same_rows(team: Team, store: dict):
    acme = next(a for a in store["contact.accounts"] if a["name"] == "Acme Corp")
    note = team.django.orm({"create": "contacts.Note", "values": {"account_id": acme["account_uuid"],
                                                                  "text": "call back on Monday"}})[0]
    before = planted_snapshot(team.port)
    tables = TableStore(team.data_dir)
    counts = team.port.load(TIER, "contact", {t.name: partial(tables.model_batches, TIER, t.qualified_name)
                                              for t in CATALOG.service_tables("contact")}, None)
    assert counts == {t: len(store[f"contact.{t}"]) for t in ("accounts", "contacts", "employee_replica")}
    assert planted_snapshot(team.port) == before
    kept = team.django.orm({"get": "contacts.Note", "pk": note["id"], "follow": ["account"]})[0]
    assert kept["text"] == "call back on Monday" and kept["account"]["name"] == "Acme Corp"


def planted_snapshot(port: MappedDatabases) -> list[tuple]:
    """Every contact table read through the mapping, in key order."""
    rows = []
    with port.connect(TIER, "contact") as connection:
        for table in CATALOG.service_tables("contact"):
            keys = ", ".join(table.primary_key)
            result = connection.exec_driver_sql(f"SELECT {', '.join(table.column_names)} FROM {table.name} ORDER BY {keys}")
            rows += [(table.name, *map(str, row)) for row in result]
    return rows
