"""The PostgreSQL sink's binary COPY: exact conversions, and CSV for the batches binary cannot spell."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_mock.model import CATALOG
from crm_mock.model.ddl import arrow_type
from crm_mock.sinks.parquet import TableStore
from crm_mock.sinks.pg_binary import binary_batch, money_decimal, uuid_bytes
from crm_mock.sinks.postgres import connect, encoded_for_copy, load_service_postgres
from crm_mock_tests.conftest import POSTGRES_URL, TierRun, drop_test_databases, require_postgres

TEMPLATE = POSTGRES_URL.format(database="crm_mock_test_binary_{tier}_{service}")


@given(st.lists(st.one_of(st.none(), st.uuids()), min_size=1, max_size=40), st.booleans(), st.integers(0, 5))
def test_uuid_text_becomes_its_sixteen_bytes(values, upper, skip):
    texts = [None if v is None else (str(v).upper() if upper else str(v)) for v in values]
    array = pa.array(["padding"] * skip + texts, pa.string()).slice(skip)  # a slice: its buffers start earlier
    converted = uuid_bytes(array)
    assert converted.to_pylist() == [None if v is None else v.bytes for v in values]


@pytest.mark.parametrize("text", ["{9825f72d-b17f-4737-b265-bbba4dcb1015}", "9825f72db17f4737b265bbba4dcb1015",
                                  "9825f72d-b17f-4737-b265-bbba4dcb101g", "9825f72d+b17f-4737-b265-bbba4dcb1015",
                                  "9825f72d-b17f-4737-b265-bbba4dcb10é"])
def test_uuid_text_binary_cannot_spell_is_left_to_postgresql(text):
    assert uuid_bytes(pa.array(["9825f72d-b17f-4737-b265-bbba4dcb1015", text])) is None


@given(st.lists(st.one_of(st.none(), st.integers(-(10**12) + 1, 10**12 - 1)), min_size=1, max_size=40))
def test_whole_cents_become_two_place_decimals(cents):
    amounts = pa.array([None if c is None else c / 100 for c in cents], pa.float64())
    converted = money_decimal(amounts)
    assert converted.type == pa.decimal128(12, 2)
    assert converted.to_pylist() == [None if c is None else Decimal(c).scaleb(-2) for c in cents]


@pytest.mark.parametrize("amount", [12.345, 0.001, float("nan"), float("inf"), 1e10, -1e10])
def test_amounts_binary_cannot_spell_are_left_to_postgresql(amount):
    assert money_decimal(pa.array([1.5, amount])) is None


def test_a_batch_goes_binary_only_when_every_column_can():
    model = CATALOG["orders.sales_orders"]
    good = "9825f72d-b17f-4737-b265-bbba4dcb1015"
    columns = {c.name: [None] for c in model.columns}
    columns.update(order_uuid=[good], account_uuid=[good], order_number=["SO-1"], status=["OPEN"],
                   currency_code=["EUR"], total_amount=[10.0])
    batch = pa.RecordBatch.from_pylist([{k: v[0] for k, v in columns.items()}],
                                       schema=pa.schema([(c.name, arrow_type(c)) for c in model.columns]))
    assert binary_batch(model, batch) is not None
    odd = batch.set_column(batch.schema.get_field_index("total_amount"), "total_amount", pa.array([10.005]))
    assert binary_batch(model, odd) is None


def test_a_table_mixing_binary_and_csv_batches_loads_every_row_as_postgresql_parses_it(smoke_run: TierRun):
    """sales_orders in three batches, the middle one with an amount of more than two places and a UUID in
    braces (CSV: PostgreSQL rounds the one and reads the other), the last with an upper-case UUID (binary)."""
    require_postgres()
    drop_test_databases("crm_mock_test_binary_")
    store = TableStore(smoke_run.data_dir)
    model = CATALOG["orders.sales_orders"]
    whole = pa.Table.from_batches(list(store.model_batches("smoke", model.qualified_name))).combine_chunks()
    third = whole.num_rows // 3
    first, middle, last = (whole.slice(0, third), whole.slice(third, third), whole.slice(2 * third))
    uuids, amounts = model.column_names.index("order_uuid"), model.column_names.index("total_amount")
    braced = middle.column(uuids).to_pylist()
    braced_uuid = braced[0]
    braced[0] = "{" + braced_uuid + "}"
    rounded = middle.column(amounts).to_pylist()
    rounded[1] = 12.345
    middle = middle.set_column(uuids, "order_uuid", pa.array(braced)).set_column(
        amounts, "total_amount", pa.array(rounded))
    upper = last.column(uuids).to_pylist()
    upper_uuid = upper[0]
    upper[0] = upper_uuid.upper()
    last = last.set_column(uuids, "order_uuid", pa.array(upper))
    batches = [b for part in (first, middle, last) for b in part.to_batches()]
    assert [form for form, rows, _ in encoded_for_copy(model, batches) if rows] == ["binary", "csv", "binary"]

    sources = {t.name: partial(store.model_batches, "smoke", t.qualified_name)
               for t in CATALOG.service_tables("orders")}
    sources["sales_orders"] = lambda: iter(batches)
    counts = load_service_postgres(TEMPLATE, "smoke", "orders", sources)
    assert counts["sales_orders"] == whole.num_rows
    conn, _ = connect(TEMPLATE, "smoke", "orders")
    with conn:
        loaded = dict(conn.execute("SELECT order_uuid::text, total_amount::text FROM sales_orders").fetchall())
    expected = dict(zip(whole.column(uuids).to_pylist(), (f"{a:.2f}" for a in whole.column(amounts).to_pylist())))
    expected[middle.column(uuids).to_pylist()[1]] = "12.35"  # 12.345 read from the CSV: half away from zero
    assert loaded == expected
    assert braced_uuid in loaded and upper_uuid in loaded
