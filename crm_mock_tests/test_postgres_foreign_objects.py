"""A refresh meets a service database that is already in use: everything the service owns survives.

Against the real PostgreSQL on 127.0.0.1:5432: a migrations table with rows, a user table, a custom index on
one of our tables, views and a materialised view in another schema, a function, a sequence, a read-only
role with grants and default privileges. After a refresh (and after a refresh killed midway) they are all
there, the views show the current rows, and the role still reads every table.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest

from crm_mock.model import CATALOG, Kind
from crm_mock.sinks.parquet import TableStore
from crm_mock.sinks.postgres import DatabaseTargetError, PostgresTarget, connect, load_service_postgres
from crm_mock.sinks.postgres_refresh import RefreshRefused
from crm_mock_tests.conftest import POSTGRES_URL, TierRun, require_postgres

PER_SERVICE = POSTGRES_URL.format(database="crm_mock_test_foreign_{tier}_{service}")
PER_SCHEMA = POSTGRES_URL.format(database="crm_mock_test_foreign_{tier}")
READER = "crm_mock_test_foreign_reader"
REPO = Path(__file__).resolve().parent.parent
ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@pytest.fixture(scope="module", autouse=True)
def postgres():
    require_postgres()
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        for database in ("crm_mock_test_foreign_smoke_support", "crm_mock_test_foreign_smoke_finance",
                         "crm_mock_test_foreign_smoke"):
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.execute(f"DROP ROLE IF EXISTS {READER}")
        admin.execute(f"CREATE ROLE {READER} LOGIN")
    yield
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        for database in ("crm_mock_test_foreign_smoke_support", "crm_mock_test_foreign_smoke_finance",
                         "crm_mock_test_foreign_smoke"):
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.execute(f"DROP ROLE IF EXISTS {READER}")


def _sources(store: TableStore, service: str, tickets: int | None = None) -> dict:
    """The service's tables from the store; ``tickets`` keeps only the first rows of support.tickets."""
    sources = {t.name: partial(store.model_batches, "smoke", t.qualified_name) for t in CATALOG.service_tables(service)}
    if tickets is not None:
        def first_tickets():
            remaining = tickets
            for batch in store.model_batches("smoke", "support.tickets"):
                yield batch.slice(0, remaining)
                remaining -= min(remaining, batch.num_rows)
        sources["tickets"] = first_tickets
    return sources


def _service_objects(conn: psycopg.Connection, schema: str) -> None:
    """What a Django support service and its reporting team put beside crm_mock's tables."""
    s = f'"{schema}"'
    conn.execute(f"CREATE TABLE {s}.django_migrations (id serial PRIMARY KEY, app text NOT NULL, name text NOT NULL)")
    conn.execute(f"INSERT INTO {s}.django_migrations (app, name) VALUES ('support', '0001_initial')")
    conn.execute(f"CREATE TABLE {s}.auth_user (id serial PRIMARY KEY, username text UNIQUE NOT NULL)")
    conn.execute(f"INSERT INTO {s}.auth_user (username) VALUES ('alice')")
    conn.execute(f"CREATE INDEX tickets_status_custom ON {s}.tickets (status, priority)")
    conn.execute(f"CREATE SEQUENCE {s}.ticket_export_seq START 41")
    conn.execute(f"SELECT nextval('{schema}.ticket_export_seq')")
    conn.execute(f"CREATE FUNCTION {s}.open_ticket_count() RETURNS bigint LANGUAGE sql STABLE "
                 f"AS $$ SELECT count(*) FROM {s}.tickets WHERE status IN ('NEW', 'OPEN', 'PENDING') $$")
    conn.execute("CREATE SCHEMA IF NOT EXISTS reporting")
    conn.execute(f"CREATE VIEW reporting.open_tickets AS SELECT ticket_uuid, account_uuid, priority, created_at "
                 f"FROM {s}.tickets WHERE status IN ('NEW', 'OPEN', 'PENDING')")
    conn.execute(f"CREATE VIEW reporting.tickets_by_account AS SELECT a.account_uuid, a.name, count(t.ticket_uuid) "
                 f"AS tickets FROM {s}.account_replica a LEFT JOIN {s}.tickets t USING (account_uuid) "
                 f"GROUP BY a.account_uuid")  # relies on account_replica's primary key (functional dependency)
    conn.execute(f"CREATE MATERIALIZED VIEW reporting.ticket_total AS SELECT count(*) AS n FROM {s}.tickets")
    for target in (s, "reporting"):
        conn.execute(f"GRANT USAGE ON SCHEMA {target} TO {READER}")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {target} TO {READER}")
    conn.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT ON TABLES TO {READER}")


def _snapshot(template: str, service: str = "support") -> dict:
    """Everything the service owns, and what its views show."""
    conn, schema = connect(template, "smoke", service)
    with conn:
        def one(query, *args):
            return conn.execute(query, args).fetchone()[0]

        return {
            "migrations": conn.execute(f'SELECT app, name FROM "{schema}".django_migrations').fetchall(),
            "users": conn.execute(f'SELECT username FROM "{schema}".auth_user').fetchall(),
            "custom_index": one("SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND indexname = "
                                "'tickets_status_custom'", schema),
            "sequence": one(f'SELECT last_value FROM "{schema}".ticket_export_seq'),
            "function": one(f'SELECT "{schema}".open_ticket_count()'),
            "tickets": one(f'SELECT count(*) FROM "{schema}".tickets'),
            "open_view": one("SELECT count(*) FROM reporting.open_tickets"),
            "open_direct": one(f"""SELECT count(*) FROM "{schema}".tickets WHERE status IN ('NEW', 'OPEN', 'PENDING')"""),
            "by_account": one("SELECT sum(tickets) FROM reporting.tickets_by_account"),
            "materialized": one("SELECT n FROM reporting.ticket_total"),
            "default_privileges": one("SELECT count(*) FROM pg_default_acl d JOIN pg_namespace n "
                                      "ON n.oid = d.defaclnamespace WHERE n.nspname = %s", schema),
            "owners": conn.execute("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = %s ORDER BY 1",
                                   (schema,)).fetchall(),
            "grants": conn.execute("SELECT table_name, privilege_type FROM information_schema.role_table_grants "
                                   "WHERE grantee = %s ORDER BY 1, 2", (READER,)).fetchall(),
        }


def _reader_sees_every_table(template: str, service: str = "support") -> None:
    target = PostgresTarget.resolve(template, "smoke", service)
    conninfo = psycopg.conninfo.make_conninfo(target.conninfo, user=READER)
    with psycopg.connect(conninfo) as conn:
        for table in CATALOG.service_tables(service):
            conn.execute(f'SELECT count(*) FROM "{target.schema}"."{table.name}"').fetchone()
        conn.execute("SELECT count(*) FROM reporting.open_tickets").fetchone()


@pytest.mark.parametrize("template", [PER_SERVICE, PER_SCHEMA], ids=["database_per_service", "schema_per_service"])
def test_a_refresh_keeps_everything_the_service_owns(smoke_run: TierRun, template: str):
    store = TableStore(smoke_run.data_dir)
    load_service_postgres(template, "smoke", "support", _sources(store, "support", tickets=40))
    conn, schema = connect(template, "smoke", "support")
    with conn:
        _service_objects(conn, schema)
    before = _snapshot(template)
    assert before["tickets"] == 40 and before["materialized"] == 40

    notes: list[str] = []
    load_service_postgres(template, "smoke", "support", _sources(store, "support"), notify=notes.append)
    after = _snapshot(template)
    full = store.read("smoke", ("support", "tickets"), ["ticket_uuid"]).num_rows
    assert after["tickets"] == full > 40
    # the views show the new rows; the materialised view was refreshed in the same transaction
    assert after["open_view"] == after["open_direct"] and after["open_view"] > before["open_view"]
    assert after["by_account"] == full and after["materialized"] == full and after["function"] == after["open_direct"]
    # the service's objects are untouched
    for key in ("migrations", "users", "custom_index", "sequence", "default_privileges", "owners", "grants"):
        assert after[key] == before[key], key
    assert after["migrations"] == [("support", "0001_initial")] and after["users"] == [("alice",)]
    assert ("tickets", "SELECT") in after["grants"] and ("django_migrations", "SELECT") in after["grants"]
    _reader_sees_every_table(template)
    assert any("reporting.open_tickets" in n for n in notes) and any("tickets_status_custom" in n for n in notes)
    assert any("refreshed materialized view reporting.ticket_total" in n for n in notes)

    # a re-run is idempotent and still keeps everything
    load_service_postgres(template, "smoke", "support", _sources(store, "support"))
    assert _snapshot(template) == after


KILLED_LOADER = """
import sys, time
from functools import partial
from pathlib import Path
from crm_mock.model import CATALOG
from crm_mock.sinks.parquet import TableStore
from crm_mock.sinks.postgres import load_service_postgres
store = TableStore(sys.argv[1])
marker = Path(sys.argv[2])

def slow():
    for batch in store.model_batches("smoke", "support.tickets"):
        for i in range(batch.num_rows):
            yield batch.slice(i, 1)
            marker.touch()
            time.sleep(0.01)

sources = {t.name: partial(store.model_batches, "smoke", t.qualified_name) for t in CATALOG.service_tables("support")}
sources["tickets"] = slow
load_service_postgres(sys.argv[3], "smoke", "support", sources)
"""


def test_a_killed_refresh_leaves_the_previous_rows_and_the_service_objects(smoke_run: TierRun, tmp_path: Path):
    store = TableStore(smoke_run.data_dir)
    load_service_postgres(PER_SERVICE, "smoke", "support", _sources(store, "support", tickets=40))
    conn, schema = connect(PER_SERVICE, "smoke", "support")
    with conn:
        if not conn.execute("SELECT to_regclass('public.django_migrations')").fetchone()[0]:
            _service_objects(conn, schema)
    conn, _ = connect(PER_SERVICE, "smoke", "support")
    with conn:
        conn.execute("REFRESH MATERIALIZED VIEW reporting.ticket_total")
    before = _snapshot(PER_SERVICE)
    assert before["tickets"] == 40
    marker = tmp_path / "copying"
    process = subprocess.Popen([sys.executable, "-c", KILLED_LOADER, str(smoke_run.data_dir), str(marker), PER_SERVICE],
                               cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the loader never started copying tickets"
        # meanwhile a reader waits for the refresh to commit rather than seeing a half-loaded table
        conn, _ = connect(PER_SERVICE, "smoke", "support")
        with conn, pytest.raises(psycopg.errors.LockNotAvailable):
            conn.execute("SET lock_timeout = '300ms'")
            conn.execute("SELECT count(*) FROM tickets")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert _snapshot(PER_SERVICE) == before
    _reader_sees_every_table(PER_SERVICE)


def _column_type(template: str, service: str, table: str, column: str) -> str:
    conn, schema = connect(template, "smoke", service)
    with conn:
        return conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                            "format('%%I.%%I', %s::text, %s::text)::regclass AND attname = %s",
                            (schema, table, column)).fetchone()[0]


def test_a_refresh_that_would_break_a_service_object_stops_before_changing_anything(smoke_run: TierRun):
    store = TableStore(smoke_run.data_dir)
    load_service_postgres(PER_SERVICE, "smoke", "finance", _sources(store, "finance"))
    conn, _ = connect(PER_SERVICE, "smoke", "finance")
    with conn:
        # an older layout of ours with a view on the column, and a service table pointing at our rows
        conn.execute("ALTER TABLE invoices ALTER COLUMN status TYPE text")
        conn.execute("CREATE VIEW invoice_status AS SELECT invoice_uuid, status FROM invoices")
        conn.execute("CREATE TABLE dunning_letters (id serial PRIMARY KEY, "
                     "invoice_uuid uuid NOT NULL CONSTRAINT dunning_invoice_fk REFERENCES invoices (invoice_uuid))")
        conn.execute("INSERT INTO dunning_letters (invoice_uuid) SELECT invoice_uuid FROM invoices LIMIT 3")
        invoices = conn.execute("SELECT count(*) FROM invoices").fetchone()[0]
    with pytest.raises(RefreshRefused) as refused:
        load_service_postgres(PER_SERVICE, "smoke", "finance", _sources(store, "finance"))
    message = str(refused.value)
    assert "dunning_invoice_fk" in message and "dunning_letters" in message
    assert "invoices.status" in message and "view invoice_status" in message
    conn, _ = connect(PER_SERVICE, "smoke", "finance")
    with conn:  # nothing changed
        assert conn.execute("SELECT count(*) FROM invoices").fetchone()[0] == invoices
        assert conn.execute("SELECT count(*) FROM dunning_letters").fetchone()[0] == 3
        assert conn.execute("SELECT count(*) FROM invoice_status").fetchone()[0] == invoices
    assert _column_type(PER_SERVICE, "finance", "invoices", "status") == "text"

    # once the service moves its own objects out of the way, the refresh goes through and restores our layout
    conn, _ = connect(PER_SERVICE, "smoke", "finance")
    with conn:
        conn.execute("DROP VIEW invoice_status")
        conn.execute("DROP TABLE dunning_letters")
    load_service_postgres(PER_SERVICE, "smoke", "finance", _sources(store, "finance"))
    assert _column_type(PER_SERVICE, "finance", "invoices", "status") == "character varying(20)"


def test_types_constraints_and_comments_are_what_services_expect(smoke_run: TierRun):
    store = TableStore(smoke_run.data_dir)
    load_service_postgres(PER_SERVICE, "smoke", "finance", _sources(store, "finance"))
    conn, _ = connect(PER_SERVICE, "smoke", "finance")
    with conn:
        expected = {Kind.TIMESTAMP: "timestamp with time zone", Kind.DATE: "date", Kind.MONEY: "numeric(12,2)",
                    Kind.UUID: "uuid"}
        for table in CATALOG.service_tables("finance"):
            for column in table.columns:
                if column.kind in expected:
                    assert _column_type(PER_SERVICE, "finance", table.name, column.name) == expected[column.kind]
        unique = conn.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'u' "
                              "AND conrelid = 'invoices'::regclass").fetchall()
        assert sorted(unique) == [("UNIQUE (invoice_number)",), ("UNIQUE (order_uuid)",)]
        foreign_keys = conn.execute("SELECT conname, convalidated FROM pg_constraint WHERE contype = 'f' "
                                    "AND connamespace = 'public'::regnamespace").fetchall()
        assert foreign_keys and all(valid for _, valid in foreign_keys), foreign_keys
        assert conn.execute("SELECT obj_description('invoices'::regclass)").fetchone()[0] == \
            CATALOG["finance.invoices"].description
        assert conn.execute("SELECT col_description('invoices'::regclass, attnum) FROM pg_attribute WHERE "
                            "attrelid = 'invoices'::regclass AND attname = 'order_uuid'").fetchone()[0] == \
            "exactly one invoice per order"
        # moments are UTC instants: the same row reads the same instant whatever the session's zone
        conn.execute("SET TIME ZONE 'Asia/Tokyo'")
        tokyo = conn.execute("SELECT paid_at FROM payments ORDER BY payment_uuid LIMIT 1").fetchone()[0]
    paid = store.read_model_table("smoke", "finance.payments", ["payment_uuid", "paid_at"])
    first = paid.sort_by("payment_uuid").column("paid_at")[0].as_py()
    assert tokyo.utcoffset().total_seconds() == 9 * 3600 and tokyo.replace(tzinfo=None) - tokyo.utcoffset() == first
    # a second order for one invoice is refused by the database itself
    conn, _ = connect(PER_SERVICE, "smoke", "finance")
    with conn, pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("INSERT INTO invoices (invoice_uuid, invoice_number, order_uuid, account_uuid, status, "
                     "currency_code, payment_terms, issue_date, due_date, tax_amount, total_amount, amount_paid) "
                     "SELECT gen_random_uuid(), NULL, order_uuid, account_uuid, status, currency_code, payment_terms, "
                     "issue_date, due_date, tax_amount, total_amount, amount_paid FROM invoices LIMIT 1")


def test_without_ownership_the_refresh_says_what_it_needs(smoke_run: TierRun):
    store = TableStore(smoke_run.data_dir)
    load_service_postgres(PER_SERVICE, "smoke", "support", _sources(store, "support"))
    target = PostgresTarget.resolve(PER_SERVICE, "smoke", "support")
    with psycopg.connect(target.conninfo, autocommit=True) as admin:
        admin.execute(f"GRANT CREATE ON DATABASE {target.database} TO {READER}")
        admin.execute(f"GRANT CREATE, USAGE ON SCHEMA public TO {READER}")
    stranger = POSTGRES_URL.replace("postgres@", f"{READER}@").format(database="crm_mock_test_foreign_{tier}_{service}")
    try:
        with pytest.raises(DatabaseTargetError, match="ownership of the model's tables"):
            load_service_postgres(stranger, "smoke", "support", _sources(store, "support"))
    finally:
        with psycopg.connect(target.conninfo, autocommit=True) as admin:
            admin.execute(f"REVOKE CREATE ON DATABASE {target.database} FROM {READER}")
            admin.execute(f"REVOKE CREATE, USAGE ON SCHEMA public FROM {READER}")


def test_crm_mock_never_cascades():
    """No statement of ours drops with CASCADE (it would take the service's dependent objects with it)."""
    cascading = re.compile(r"\b(DROP|TRUNCATE)\b[^\n]*\bCASCADE\b|\bON\s+(DELETE|UPDATE)\s+CASCADE\b", re.IGNORECASE)
    offenders = [str(path.relative_to(REPO)) for path in (REPO / "crm_mock").rglob("*.py")
                 if cascading.search(path.read_text(encoding="utf-8"))]
    assert offenders == []
    assert cascading.search('conn.execute("DROP SCHEMA x CASCADE")')  # the pattern finds what it looks for


def test_dangling_references_leave_only_their_constraints_not_valid(smoke_run: TierRun):
    """Foreign keys are validated table by table on connections side by side: a dangling row in two tables
    leaves exactly those two constraints NOT VALID, each reported once, and every other one validated."""
    store = TableStore(smoke_run.data_dir)
    sources = _sources(store, "finance")
    nowhere = "00000000-0000-4000-8000-00000000dead"

    def dangling(name: str):
        def batches():
            for index, batch in enumerate(store.model_batches("smoke", f"finance.{name}")):
                if index == 0:
                    column = batch.schema.get_field_index("invoice_uuid")
                    values = batch.column(column).to_pylist()
                    values[0] = nowhere
                    batch = batch.set_column(column, batch.schema.field(column),
                                             pa.array(values, batch.schema.field(column).type))
                yield batch
        return batches

    sources["invoice_lines"], sources["payments"] = dangling("invoice_lines"), dangling("payments")
    notes: list[str] = []
    load_service_postgres(PER_SERVICE, "smoke", "finance", sources, notify=notes.append)
    left = sorted(n for n in notes if "left NOT VALID" in n)
    assert len(left) == 2 and left[0].startswith("foreign key invoice_lines_invoice_uuid_fkey on invoice_lines") \
        and left[1].startswith("foreign key payments_invoice_uuid_fkey on payments"), notes
    conn, _ = connect(PER_SERVICE, "smoke", "finance")
    with conn:
        invalid = conn.execute("SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f' "
                               "AND NOT convalidated AND connamespace = 'public'::regnamespace ORDER BY 1").fetchall()
        assert invalid == [("invoice_lines", "invoice_lines_invoice_uuid_fkey"),
                           ("payments", "payments_invoice_uuid_fkey")]
        assert conn.execute("SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f' AND convalidated "
                            "AND connamespace = 'public'::regnamespace").fetchone()[0] > 0
    load_service_postgres(PER_SERVICE, "smoke", "finance", _sources(store, "finance"))  # clean again for the others
