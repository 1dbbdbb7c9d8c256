"""The services' own ORMs read crm_mock's databases: a Django project (``crm_mock_tests/django_project``, hand-
written unmanaged models, ``USE_TZ = True``) on the SQLite files stored with ``sqlite_uuid_storage: hex`` and
on PostgreSQL loaded by the crm_mock sink, and the README's SQLAlchemy example on the same SQLite files."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from collections import Counter, defaultdict
from decimal import Decimal
from functools import partial
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from crm_mock.model import CATALOG
from crm_mock.sinks.parquet import TableStore
from crm_mock.sinks.postgres import PostgresTarget, load_service_postgres
from crm_mock_tests.conftest import POSTGRES_URL, TierRun, reload_sqlite, require_postgres

django = pytest.importorskip("django")

SERVICES = ("orders", "finance")
# unique per test session: other sessions share the server
POSTGRES_TEMPLATE = POSTGRES_URL.format(database=f"crm_mock_ids_orm_{secrets.token_hex(4)}_{{tier}}_{{service}}")
# the test databases' own time zone is not UTC, as on many servers: loads must still store UTC moments
SERVER_TIME_ZONE = "America/Sao_Paulo"
README = Path(__file__).resolve().parents[1] / "README.md"


def _alias(backend: str, service: str) -> str:
    return f"{backend}_{service}"


@pytest.fixture(scope="module")
def hex_tier(smoke_run: TierRun, tmp_path_factory: pytest.TempPathFactory) -> TierRun:
    return reload_sqlite(smoke_run, tmp_path_factory.mktemp("orm_hex") / "data", "hex")


@pytest.fixture(scope="module")
def django_project(hex_tier: TierRun):
    from crm_mock_tests.django_project import configure, postgres_database, sqlite_database

    configure({
        **{_alias("sqlite", s): sqlite_database(hex_tier.sqlite(s)) for s in SERVICES},
        **{_alias("postgres", s): postgres_database(PostgresTarget.resolve(POSTGRES_TEMPLATE, "smoke", s).database)
           for s in SERVICES},
    })
    from django.db import connections

    yield
    connections.close_all()


@pytest.fixture(scope="module")
def postgres_loaded(smoke_run: TierRun, django_project):
    """The tier's Orders and Finance databases, loaded by the crm_mock sink; dropped afterwards."""
    require_postgres()
    store = TableStore(smoke_run.data_dir)
    targets = [PostgresTarget.resolve(POSTGRES_TEMPLATE, "smoke", s) for s in SERVICES]
    try:
        for service, target in zip(SERVICES, targets):
            with psycopg.connect(target.maintenance(), autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.database)))
                conn.execute(sql.SQL("ALTER DATABASE {} SET timezone TO {}").format(
                    sql.Identifier(target.database), sql.Literal(SERVER_TIME_ZONE)))
            load_service_postgres(POSTGRES_TEMPLATE, "smoke", service, {
                t.name: partial(store.model_batches, "smoke", t.qualified_name) for t in CATALOG.service_tables(service)})
        yield
    finally:
        from django.db import connections

        connections.close_all()
        for target in targets:
            with psycopg.connect(target.maintenance(), autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target.database)))


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, django_project) -> str:
    if request.param == "postgres":
        request.getfixturevalue("postgres_loaded")
    return request.param


@pytest.fixture(scope="module")
def source(smoke_run: TierRun) -> dict[str, list[dict]]:
    """What was generated (the table store), to compare what the ORMs read with."""
    store = TableStore(smoke_run.data_dir)
    names = ("orders.account_replica", "orders.sales_orders", "orders.order_lines", "finance.customer_accounts",
             "finance.invoices", "finance.payments")
    return {name: store.read_model_table("smoke", name).to_pylist() for name in names}


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else moment.replace(tzinfo=dt.timezone.utc)


def _money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def _shipped_order_with_lines(source: dict) -> dict:
    lines = Counter(line["order_uuid"] for line in source["orders.order_lines"])
    return next(o for o in source["orders.sales_orders"] if o["shipped_at"] is not None and lines[o["order_uuid"]] >= 2)


def test_get_by_primary_key_reads_uuids_decimals_dates_and_aware_moments(backend: str, source: dict):
    from crm_mock_tests.django_project.orders.models import SalesOrder

    expected = _shipped_order_with_lines(source)
    orders = SalesOrder.objects.using(_alias(backend, "orders"))
    order = orders.get(pk=uuid.UUID(expected["order_uuid"]))
    assert orders.get(pk=expected["order_uuid"]) == order  # a canonical string finds it too
    assert order.pk == uuid.UUID(expected["order_uuid"])
    assert order.quote_uuid == (uuid.UUID(expected["quote_uuid"]) if expected["quote_uuid"] else None)
    assert (order.status, order.order_date, order.total_amount) == (
        expected["status"], expected["order_date"], _money(expected["total_amount"]))
    assert order.shipped_at.utcoffset() == dt.timedelta(0)
    assert order.shipped_at == _utc(expected["shipped_at"])


def test_foreign_keys_traverse_both_ways(backend: str, source: dict):
    from crm_mock_tests.django_project.orders.models import AccountReplica, SalesOrder

    expected = _shipped_order_with_lines(source)
    order = SalesOrder.objects.using(_alias(backend, "orders")).get(pk=expected["order_uuid"])
    account = order.account  # forward
    assert isinstance(account, AccountReplica) and str(account.pk) == expected["account_uuid"]
    assert account.name == next(a["name"] for a in source["orders.account_replica"]
                                if a["account_uuid"] == expected["account_uuid"])
    # reverse
    assert {str(o.pk) for o in account.orders.all()} == {
        o["order_uuid"] for o in source["orders.sales_orders"] if o["account_uuid"] == expected["account_uuid"]}
    lines = list(order.lines.all())
    assert {str(line.pk) for line in lines} == {
        line["order_line_uuid"] for line in source["orders.order_lines"] if line["order_uuid"] == expected["order_uuid"]}
    assert sum(line.line_total for line in lines) == order.total_amount
    assert all(line.order == order for line in lines)


def test_finance_follows_its_keys_and_the_cross_service_reference(backend: str, source: dict):
    from crm_mock_tests.django_project.finance.models import Invoice
    from crm_mock_tests.django_project.orders.models import SalesOrder

    paid = Counter(p["invoice_uuid"] for p in source["finance.payments"])
    expected = next(i for i in source["finance.invoices"] if paid[i["invoice_uuid"]] >= 2)
    invoice = Invoice.objects.using(_alias(backend, "finance")).get(pk=expected["invoice_uuid"])
    assert str(invoice.account.pk) == expected["account_uuid"]
    assert invoice in invoice.account.invoices.all()
    payments = list(invoice.payments.order_by("paid_at"))
    assert len(payments) == paid[expected["invoice_uuid"]]
    assert sum(p.amount for p in payments) == invoice.amount_paid == _money(expected["amount_paid"])
    assert all(p.paid_at.utcoffset() == dt.timedelta(0) for p in payments)
    assert [p.paid_at for p in payments] == sorted(
        _utc(p["paid_at"]) for p in source["finance.payments"] if p["invoice_uuid"] == expected["invoice_uuid"])
    # the order lives in another service's database: the same UUID finds it there
    order = SalesOrder.objects.using(_alias(backend, "orders")).get(pk=invoice.order_uuid)
    assert order.account_id == invoice.account_id
    assert invoice.issue_date is None or invoice.issue_date >= order.order_date


def test_every_moment_is_aware_utc_and_filters_compare_as_moments(backend: str, source: dict):
    from crm_mock_tests.django_project.orders.models import SalesOrder

    orders = SalesOrder.objects.using(_alias(backend, "orders"))
    read = dict(orders.values_list("order_uuid", "shipped_at"))
    assert read == {uuid.UUID(o["order_uuid"]): _utc(o["shipped_at"]) for o in source["orders.sales_orders"]}
    moments = sorted(o["shipped_at"] for o in source["orders.sales_orders"] if o["shipped_at"] is not None)
    middle = _utc(moments[len(moments) // 2])
    assert orders.filter(shipped_at__gte=middle).count() == len(moments) - len(moments) // 2
    # the same moment spelled in another zone is the same moment
    elsewhere = middle.astimezone(dt.timezone(dt.timedelta(hours=-5)))
    assert orders.filter(shipped_at__gte=elsewhere).count() == len(moments) - len(moments) // 2


def test_aggregates_over_a_relation(backend: str, source: dict):
    from django.db.models import Count

    from crm_mock_tests.django_project.orders.models import AccountReplica

    counts = dict(AccountReplica.objects.using(_alias(backend, "orders")).annotate(n=Count("orders"))
                  .values_list("account_uuid", "n"))
    expected: dict[uuid.UUID, int] = defaultdict(int, {uuid.UUID(a["account_uuid"]): 0
                                                       for a in source["orders.account_replica"]})
    for order in source["orders.sales_orders"]:
        expected[uuid.UUID(order["account_uuid"])] += 1
    assert counts == expected


# --- the README's SQLAlchemy example ------------------------------------------------------------------------------------


def _readme_block(heading: str) -> str:
    section = README.read_text(encoding="utf-8").split(heading, 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_sqlalchemy_example_reads_the_hex_files(hex_tier: TierRun, source: dict, capsys):
    code = _readme_block("#### SQLAlchemy")
    assert "data/staging/orders.sqlite" in code
    code = code.replace("data/staging/orders.sqlite", str(hex_tier.sqlite("orders")))
    namespace: dict = {"__name__": "readme_example"}
    # dont_inherit: run as a user's module would, without this module's `from __future__ import annotations`
    exec(compile(code, f"{README}#SQLAlchemy", "exec", dont_inherit=True), namespace)  # noqa: S102
    acme, order = namespace["acme"], namespace["order"]
    assert acme.name == "Acme Corp" and order.account is acme
    assert {o.order_uuid for o in acme.orders} == {
        uuid.UUID(o["order_uuid"]) for o in source["orders.sales_orders"] if o["account_uuid"] == str(acme.account_uuid)}
    expected = next(o for o in source["orders.sales_orders"] if o["order_uuid"] == str(order.order_uuid))
    assert (order.order_date, order.total_amount) == (expected["order_date"], _money(expected["total_amount"]))
    assert order.shipped_at == expected["shipped_at"]  # naive, in UTC
    assert capsys.readouterr().out.startswith("Acme Corp ")


def test_the_readme_django_models_are_the_tested_ones():
    """The README shows the models this module tests, not a copy that could drift."""
    readme = _readme_block("#### Django")
    models = (Path(__file__).parent / "django_project" / "orders" / "models.py").read_text(encoding="utf-8")
    blocks = re.findall(r"(class \w+\(models\.Model\):.*?)(?=\n\n\nclass |\Z)", readme, re.S)
    assert len(blocks) == 2
    for block in blocks:
        assert block.strip() in models, block
