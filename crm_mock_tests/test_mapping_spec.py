"""Mapping files checked against the data model before any database is touched: each problem names the
file, the line and the column; the example mapping covers every service; the rules follow what is left out;
drafts and diffs against a live SQLite schema; the replay bodies spell what the loads spell."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from crm_mock import cli
from crm_mock.consistency.registry import registry
from crm_mock.mapping.diff import diff_service
from crm_mock.mapping.live import read_live
from crm_mock.mapping.replay import mapped_body
from crm_mock.mapping.rules import mapped_rules
from crm_mock.mapping.spec import MappingError, load_mapping
from crm_mock.model import CATALOG, SERVICES
from crm_mock.replay.bodies import build_body

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "mappings" / "django.yaml"


def write(tmp_path: Path, text: str, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(MappingError) as refused:
        load_mapping(path)
    return refused.value.problems


def test_the_example_maps_every_table_of_every_service():
    mapping = load_mapping(EXAMPLE)
    assert sorted(mapping.services) == sorted(SERVICES)
    for service, spec in mapping.services.items():
        assert set(spec.tables) | set(spec.skip) == {t.name for t in CATALOG.service_tables(service)}


def at(path: Path, line: int, text: str) -> str:
    """file:line:column of ``text`` on ``line`` (1-based)."""
    return f"{path}:{line}:{path.read_text().splitlines()[line - 1].index(text) + 1}"


def test_each_problem_names_the_file_line_and_column(tmp_path: Path):
    path = write(tmp_path, """\
        version: 1
        services:
          hr:
            tables:
              employees:
                table: hr_employee
                columns:
                  employee_uuid: {column: id, uuid: sideways}
                  nickname: nick
                  status: {column: status, values: {ACTIVE: a, ON_LEAVE: a}}
                omit: [employee_uuid]
                fill:
                  is_active: {from: status, values: {ACTIVE: true}}
          contact:
            tables: {}
        """)
    # the file's shape first; the model's checks once it parses
    assert problems(path) == [f"{at(path, 8, 'sideways')}: services.hr.tables.employees.columns.employee_uuid.uuid: "
                              "Input should be 'native', 'text', 'hex' or 'bytes'"]
    path.write_text(path.read_text().replace("uuid: sideways", "uuid: hex"))
    assert problems(path) == [
        f"{at(path, 9, 'nickname')}: hr.employees has no column 'nickname'",
        f"{at(path, 11, 'employee_uuid')}: employee_uuid is hr.employees's key: it cannot be left out",
        f"{at(path, 10, '{ACTIVE')}: no spelling for TERMINATED of status",
        f"{at(path, 10, 'a}}')}: ACTIVE and ON_LEAVE are both written 'a': the code could not be read back",
        f"{at(path, 13, '{ACTIVE')}: no spelling for ON_LEAVE, TERMINATED of status",
        *(f"{at(path, 15, '{}')}: model table contact.{t} is not mapped: map it under tables, or list it under skip"
          for t in ("accounts", "contacts", "employee_replica")),
    ]


def test_yaml_that_does_not_parse_and_unknown_fields_are_located(tmp_path: Path):
    broken = write(tmp_path, "version: 1\nservices:\n  hr: [\n", "broken.yaml")
    assert problems(broken)[0].startswith(f"{broken}:4:1: not valid YAML:")
    unknown = write(tmp_path, """\
        version: 1
        services:
          hr:
            tables:
              employees: {table: t, colums: {}}
        """, "unknown.yaml")
    assert problems(unknown) == [f"{unknown}:5:29: services.hr.tables.employees.colums: unknown field 'colums'"]


def test_a_service_in_two_files_is_refused(tmp_path: Path):
    first = write(tmp_path, "services: {hr: {skip: [employees]}}\n", "a.yaml")
    second = write(tmp_path, "services:\n  hr: {skip: [employees]}\n", "b.yaml")
    with pytest.raises(MappingError) as refused:
        load_mapping([first, second])
    assert refused.value.problems == [f"{second}:2:3: service 'hr' is already mapped in {first}"]
    assert sorted(load_mapping(tmp_path.parent / tmp_path.name / "a.yaml").services) == ["hr"]


def test_rules_follow_what_a_mapping_skips_and_leaves_out(tmp_path: Path):
    path = write(tmp_path, """\
        services:
          inventory:
            skip: [stock_movements]
            tables:
              products: {table: p, omit: [unit_of_measure, list_price]}
              warehouses: {table: w}
              stock_levels: {table: s}
        """)
    rules = {r.key: r for r in mapped_rules(load_mapping(path))}
    assert not [k for k in rules if "inventory.stock_movements" in k]
    assert len(rules) == len(registry()) - sum("inventory.stock_movements" in r.key for r in registry())
    conformance = rules["conforms_to_model inventory.products"]
    assert "unit_of_measure" not in conformance.table.column_names and "sku" in conformance.table.column_names
    replica = rules["replica_in_sync sales.product_replica"]  # the price is not kept where the master lives
    assert replica.table.replica_of.columns == ("sku", "name", "product_type", "status")
    assert rules["replica_in_sync sales.account_replica"] is next(
        r for r in registry() if r.key == "replica_in_sync sales.account_replica")


def test_replay_bodies_spell_codes_cents_and_names_as_the_mapping(tmp_path: Path):
    mapping = load_mapping(EXAMPLE)
    body = mapped_body(mapping, "payment.received")
    record = {"payment_uuid": "p", "invoice_uuid": "i", "method": "BANK_TRANSFER", "amount": "1234.56",
              "currency_code": "EUR", "paid_at": "2024-05-01T10:00:00+00:00"}
    assert build_body("payment.received", body, record) == {
        "id": "p", "invoice_id": "i", "method": "bank_transfer", "amount_cents": 123456, "currency": "EUR",
        "paid": "2024-05-01T10:00:00+00:00"}
    order = mapped_body(mapping, "order.created")
    assert order.children["order_lines"].rename["order_uuid"] == "order_id"
    assert cli.main(["mapping", "replay-bodies", "--mapping", str(EXAMPLE)]) == 0


@pytest.fixture
def contact_schema(tmp_path: Path) -> sa.Engine:
    """A small Contact service on SQLite, the way a team might have written it."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'contact.sqlite'}")
    metadata = sa.MetaData()
    sa.Table("crm_person", metadata, sa.Column("id", sa.CHAR(32), primary_key=True),
             sa.Column("first_name", sa.String(50), nullable=False), sa.Column("last_name", sa.String(50)),
             sa.Column("email", sa.String(120), nullable=False), sa.Column("department", sa.String(20)),
             sa.Column("status", sa.String(20)))
    sa.Table("crm_account", metadata, sa.Column("id", sa.CHAR(32), primary_key=True),
             sa.Column("name", sa.String(120), nullable=False), sa.Column("segment", sa.String(20), nullable=False),
             sa.Column("owner_id", sa.CHAR(32), sa.ForeignKey("crm_person.id"), nullable=False),
             sa.Column("created_at", sa.DateTime, nullable=False), sa.Column("archived", sa.Boolean, nullable=False),
             sa.Column("notes", sa.Text))
    metadata.create_all(engine)
    return engine


def test_draft_guesses_from_names_and_foreign_keys_and_marks_todos(contact_schema: sa.Engine, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture):
    assert cli.main(["mapping", "draft", "--service", "contact", "--url", str(contact_schema.url)]) == 0
    draft = capsys.readouterr().out
    assert "skip: [contacts]  # TODO check: no table found for them" in draft
    assert "table: crm_account  # TODO check: guessed" in draft
    # no name says crm_person holds employees; the accounts' owner foreign key does
    assert "table: crm_person  # TODO check: guessed from the foreign key crm_account.owner_id" in draft
    assert "owner_employee_uuid: {column: owner_id, uuid: hex}  # TODO check: guessed" in draft
    assert "created_at: {column: created_at, moment: naive_utc}\n" in draft
    assert "archived: TODO  # TODO: BOOLEAN NOT NULL without a default: a constant, or {from: status, values: " \
           "{ACTIVE: ..., ON_HOLD: ..., SUSPENDED: ..., CLOSED: ...}}; or map industry or status or currency_code to it under columns" in draft
    assert "# left to the service's defaults (or null): notes" in draft
    path = write(tmp_path, draft, "draft.yaml")
    assert [p.split(": ", 1)[1] for p in problems(path)] == [
        "services.contact.tables.accounts.fill.archived is still TODO: fill it in"]


def test_diff_shows_what_changed_in_the_schema(contact_schema: sa.Engine, tmp_path: Path):
    path = write(tmp_path, """\
        services:
          contact:
            skip: [contacts]
            tables:
              employee_replica: {table: crm_person, columns: {employee_uuid: id}}
              accounts:
                table: crm_account
                columns: {account_uuid: id, owner_employee_uuid: owner_id, segment: {column: segment, values: lower}}
                omit: [industry, status, street, city, region, postal_code, country_code, currency_code, phone, website]
                fill: {archived: false}
        """)
    mapping = load_mapping(path)
    with contact_schema.connect() as connection:
        fits = diff_service(mapping, "contact", read_live(connection))
    assert (fits.problems, fits.changes) == ([], [])
    assert fits.notes == ["main.crm_account.notes TEXT: not in the mapping (left to its default or null)",
                          "contact.contacts is skipped (not loaded, its rules not run)"]
    with contact_schema.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE crm_account ADD COLUMN website VARCHAR(200)")
        connection.exec_driver_sql("ALTER TABLE crm_account DROP COLUMN created_at")
        connection.exec_driver_sql("ALTER TABLE crm_account ADD COLUMN created VARCHAR(10) NOT NULL DEFAULT ''")
    with contact_schema.connect() as connection:
        changed = diff_service(mapping, "contact", read_live(connection))
    assert [p.split(": ", 1)[1] for p in changed.problems] == [
        "contact.accounts.created_at is not mapped and main.crm_account has no column 'created_at' (did you mean "
        "created?): map it under columns, or list it under omit"]
    assert changed.changes == ["contact.accounts.website is left out, but main.crm_account has a column 'website' now"]
