"""The sinks (`crm_mock.sinks`): SQLite service databases and the Parquet table store, without Dagster."""

from __future__ import annotations

import dataclasses
import re
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from crm_mock.generate import GENERATORS, project_replica
from crm_mock.generate.orders import ORDER_LINES
from crm_mock.model import CATALOG, SERVICES, Kind
from crm_mock.model.ddl import arrow_schema, service_metadata
from crm_mock.scenario import TierPlan, load_scenario, plan_tier
from crm_mock.defs.shards import join_parts, part_key, shard_blocks
from crm_mock.sinks import parquet
from crm_mock.sinks.parquet import TableStore, row_groups
from crm_mock.sinks.sqlite import load_service, sqlite_path, table_digest

Tables = dict[str, pa.Table]
DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIMESTAMP_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
BATCH_ROWS = 97  # several batches per table, of an odd size


@pytest.fixture(scope="module")
def smoke() -> tuple[TierPlan, Tables]:
    plan = plan_tier(load_scenario(), "smoke")
    tables = {name: generate(plan) for name, generate in GENERATORS.items()}
    for table in CATALOG:
        if table.replica_of and not table.owned_columns:
            tables[table.qualified_name] = project_replica(table, tables[table.replica_of.master])
    return plan, tables


@pytest.fixture(scope="module")
def tables(smoke: tuple[TierPlan, Tables]) -> Tables:
    return smoke[1]


def sources(service: str, tables: Tables, names: list[str] | None = None) -> dict:
    """A batch source per table of the service (all of them unless ``names``)."""
    chosen = names or [t.name for t in CATALOG.service_tables(service)]
    return {name: (lambda table=tables[f"{service}.{name}"]: iter(table.to_batches(max_chunksize=BATCH_ROWS)))
            for name in chosen}


def connect(path: Path) -> sqlite3.Connection:
    return closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True))  # type: ignore[return-value]


def sqlite_tables(path: Path) -> set[str]:
    with connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def row_counts(path: Path) -> dict[str, int]:
    with connect(path) as conn:
        return {name: conn.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0] for name in sqlite_tables(path)}


def digests(path: Path, service: str) -> dict[str, str]:
    with connect(path) as conn:
        return {name: table_digest(conn, service, name) for name in sorted(sqlite_tables(path))}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, tables: Tables) -> dict[str, tuple[Path, dict[str, int]]]:
    """Every service database of the smoke tier, loaded once."""
    data_dir = tmp_path_factory.mktemp("dbs")
    result = {}
    for service in SERVICES:
        path = sqlite_path(data_dir, "smoke", service)
        result[service] = path, load_service(path, service, sources(service, tables))
    return result


# --- a load writes the model's tables with the generated rows ---------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_load_writes_every_table_with_its_rows(loaded, tables: Tables, service: str):
    path, counts = loaded[service]
    expected = {t.name: tables[t.qualified_name].num_rows for t in CATALOG.service_tables(service)}
    assert set(service_metadata(service).tables) == set(expected)
    assert sqlite_tables(path) == set(expected)
    assert counts == expected
    assert row_counts(path) == expected
    assert all(n > 0 for n in expected.values())


@pytest.mark.parametrize("service", SERVICES)
def test_columns_and_keys_follow_the_model(loaded, service: str):
    path, _ = loaded[service]
    with connect(path) as conn:
        for model in CATALOG.service_tables(service):
            info = conn.execute(f"PRAGMA table_info({model.name})").fetchall()
            assert tuple(r[1] for r in info) == model.column_names
            assert tuple(r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])) == model.primary_key
            not_null = {r[1] for r in info if r[3]}
            assert {c.name for c in model.columns if not c.nullable} <= not_null | set(model.primary_key)
            assert not {c.name for c in model.columns if c.nullable} & not_null


@pytest.mark.parametrize("service", SERVICES)
def test_database_is_sound_and_local_references_resolve(loaded, service: str):
    path, _ = loaded[service]
    with connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_local_foreign_keys_are_declared(loaded):
    """Contact's accounts reference its own employee replica; cross-service references stay plain columns."""
    path, _ = loaded["contact"]
    with connect(path) as conn:
        fks = {(r[3], r[2]) for r in conn.execute("PRAGMA foreign_key_list(accounts)")}
    assert ("owner_employee_uuid", "employee_replica") in fks
    path, _ = loaded["finance"]
    with connect(path) as conn:
        fks = {r[3] for r in conn.execute("PRAGMA foreign_key_list(invoices)")}
    assert "order_uuid" not in fks  # orders live in the orders service


def _moment_columns(kind: Kind) -> list[tuple[str, str, str]]:
    return [(t.service, t.name, c.name) for t in CATALOG for c in t.columns if c.kind is kind]


@pytest.mark.parametrize(("service", "table", "column"), _moment_columns(Kind.DATE))
def test_dates_are_stored_as_iso_text(loaded, tables: Tables, service: str, table: str, column: str):
    path, _ = loaded[service]
    key = CATALOG[f"{service}.{table}"].primary_key
    with connect(path) as conn:
        rows = conn.execute(f"SELECT {', '.join(key)}, {column}, typeof({column}) FROM {table}").fetchall()
    stored = {r[:-2]: r[-2] for r in rows}
    assert {r[-1] for r in rows if r[-2] is not None} <= {"text"}
    assert all(DATE_TEXT.match(v) for v in stored.values() if v is not None)
    source = tables[f"{service}.{table}"]
    expected = {tuple(k): (None if v is None else v.isoformat())
                for *k, v in zip(*(source.column(c).to_pylist() for c in (*key, column)))}
    assert stored == expected
    assert any(v is not None for v in stored.values())


@pytest.mark.parametrize(("service", "table", "column"), _moment_columns(Kind.TIMESTAMP))
def test_timestamps_are_stored_as_iso_text_to_the_second(loaded, tables: Tables, service: str, table: str,
                                                         column: str):
    path, _ = loaded[service]
    key = CATALOG[f"{service}.{table}"].primary_key
    with connect(path) as conn:
        rows = conn.execute(f"SELECT {', '.join(key)}, {column}, typeof({column}) FROM {table}").fetchall()
    stored = {r[:-2]: r[-2] for r in rows}
    assert {r[-1] for r in rows if r[-2] is not None} <= {"text"}
    assert all(TIMESTAMP_TEXT.match(v) for v in stored.values() if v is not None)
    source = tables[f"{service}.{table}"]
    expected = {tuple(k): (None if v is None else v.strftime("%Y-%m-%d %H:%M:%S"))
                for *k, v in zip(*(source.column(c).to_pylist() for c in (*key, column)))}
    assert stored == expected
    assert any(v is not None for v in stored.values())


def test_money_and_text_survive_the_load(loaded, tables: Tables):
    path, _ = loaded["inventory"]
    products = tables["inventory.products"]
    with connect(path) as conn:
        rows = dict(conn.execute("SELECT product_uuid, list_price FROM products").fetchall())
        names = dict(conn.execute("SELECT product_uuid, name FROM products").fetchall())
    assert rows == dict(zip(products.column("product_uuid").to_pylist(), products.column("list_price").to_pylist()))
    assert names == dict(zip(products.column("product_uuid").to_pylist(), products.column("name").to_pylist()))
    path, _ = loaded["contact"]
    accounts = tables["contact.accounts"]
    with connect(path) as conn:
        cities = dict(conn.execute("SELECT account_uuid, city FROM accounts").fetchall())
    assert cities == dict(zip(accounts.column("account_uuid").to_pylist(), accounts.column("city").to_pylist()))


# --- idempotent: a re-run gives the same rows -------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_rerun_gives_identical_digests(loaded, tables: Tables, tmp_path: Path, service: str):
    path, _ = loaded[service]
    before = digests(path, service)
    again = tmp_path / path.name
    shutil.copy(path, again)
    load_service(again, service, sources(service, tables))  # over an existing database
    assert digests(again, service) == before
    assert row_counts(again) == row_counts(path)  # replaced, not appended
    elsewhere = tmp_path / "other" / path.name
    load_service(elsewhere, service, sources(service, tables))
    assert digests(elsewhere, service) == before
    assert sorted(p.name for p in again.parent.iterdir()) == sorted(["other", path.name])


def test_digest_sees_a_changed_value(loaded, tmp_path: Path):
    path, _ = loaded["contact"]
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    before = digests(copy, "contact")
    with closing(sqlite3.connect(copy)) as conn:
        conn.execute("UPDATE accounts SET city = city || 'x' WHERE rowid = (SELECT MIN(rowid) FROM accounts)")
        conn.commit()
    after = digests(copy, "contact")
    assert after["accounts"] != before["accounts"]
    assert after["contacts"] == before["contacts"]


def test_digest_ignores_physical_row_order(loaded, tables: Tables, tmp_path: Path):
    path, _ = loaded["hr"]
    reversed_rows = tables["hr.employees"].take(pa.array(range(tables["hr.employees"].num_rows - 1, -1, -1)))
    other = tmp_path / "hr.sqlite"
    load_service(other, "hr", {"employees": lambda: iter(reversed_rows.to_batches())})
    assert digests(other, "hr") == digests(path, "hr")


def test_load_replaces_the_tables_with_exactly_the_given_ones(loaded, tables: Tables, tmp_path: Path):
    path, _ = loaded["contact"]
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    load_service(copy, "contact", sources("contact", tables, ["accounts"]))
    assert sqlite_tables(copy) == {"accounts"}
    assert row_counts(copy) == {"accounts": tables["contact.accounts"].num_rows}


# --- atomic: a failed load leaves the previous database intact --------------------------------------------------------


class Boom(RuntimeError):
    pass


def failing(table: pa.Table, after_batches: int, consumed: list[int]):
    def source() -> Iterator[pa.RecordBatch]:
        for i, batch in enumerate(table.to_batches(max_chunksize=BATCH_ROWS)):
            if i == after_batches:
                raise Boom("the source failed midway")
            consumed.append(batch.num_rows)
            yield batch
    return source


@pytest.mark.parametrize("service", ["contact", "finance", "inventory"])
def test_failed_load_leaves_the_previous_database_intact(loaded, tables: Tables, tmp_path: Path, service: str):
    path, _ = loaded[service]
    db = tmp_path / "smoke" / path.name
    db.parent.mkdir()
    shutil.copy(path, db)
    before_counts, before_digests = row_counts(db), digests(db, service)
    # fail in the last table the load writes, after some of its rows, once every other table went in
    last = service_metadata(service).sorted_tables[-1].name
    consumed: list[int] = []
    broken = sources(service, tables)
    broken[last] = failing(tables[f"{service}.{last}"], after_batches=1, consumed=consumed)
    with pytest.raises(Boom):
        load_service(db, service, broken)
    assert consumed, "the load failed before it wrote anything"
    assert [p.name for p in db.parent.iterdir()] == [db.name]  # no side file, no journal
    assert row_counts(db) == before_counts
    assert digests(db, service) == before_digests


def test_failed_load_of_a_new_database_leaves_nothing(tables: Tables, tmp_path: Path):
    db = tmp_path / "smoke" / "hr.sqlite"
    consumed: list[int] = []
    with pytest.raises(Boom):
        load_service(db, "hr", {"employees": failing(tables["hr.employees"], after_batches=0, consumed=consumed)})
    assert not db.exists()
    assert list(db.parent.iterdir()) == []


def test_batch_with_other_columns_is_refused_and_nothing_changes(loaded, tables: Tables, tmp_path: Path):
    path, _ = loaded["hr"]
    db = tmp_path / path.name
    shutil.copy(path, db)
    before = digests(db, "hr")
    wrong = tables["hr.employees"].drop_columns(["job_title"])
    with pytest.raises(ValueError, match="differ from the model"):
        load_service(db, "hr", {"employees": lambda: iter(wrong.to_batches())})
    assert digests(db, "hr") == before
    assert [p.name for p in tmp_path.iterdir()] == [db.name]


# --- the Parquet table store ------------------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> TableStore:
    return TableStore(tmp_path / "data")


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_table_store_round_trips(store: TableStore, tables: Tables, name: str):
    model = CATALOG[name]
    key = (model.service, model.name)
    original = tables[name]
    assert not store.exists("smoke", key)
    path = store.write("smoke", key, original)
    assert path == store.path("smoke", *key) and path.is_file()
    assert store.data_dir in path.parents and "smoke" in path.relative_to(store.data_dir).parts
    assert store.exists("smoke", key)
    assert not store.exists("staging", key)
    back = store.read_model_table("smoke", name)
    assert back.schema == arrow_schema(model)
    assert back.equals(original)
    assert pa.Table.from_batches(list(store.model_batches("smoke", name))).equals(original)
    raw = store.read("smoke", key)
    assert raw.num_rows == original.num_rows and raw.column_names == original.column_names
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no partial file left behind


def test_table_store_reads_chosen_columns(store: TableStore, tables: Tables):
    accounts = tables["contact.accounts"]
    store.write("smoke", ("contact", "accounts"), accounts)
    some = store.read_model_table("smoke", "contact.accounts", ["account_uuid", "created_at"])
    assert some.column_names == ["account_uuid", "created_at"]
    assert some.equals(accounts.select(["account_uuid", "created_at"]))
    streamed = list(store.model_batches("smoke", "contact.accounts", ["created_at", "account_uuid"], batch_rows=7))
    assert max(b.num_rows for b in streamed) == 7 and len(streamed) > 1
    assert pa.Table.from_batches(streamed).select(["account_uuid", "created_at"]).equals(some)


def test_table_store_overwrites(store: TableStore, tables: Tables):
    employees = tables["hr.employees"]
    store.write("smoke", ("hr", "employees"), employees)
    fewer = employees.slice(0, 2)
    store.write("smoke", ("hr", "employees"), fewer)
    assert store.read_model_table("smoke", "hr.employees").equals(fewer)


def test_table_store_keeps_id_maps_apart(store: TableStore):
    ids = pa.table({"row_index": pa.array([0, 1], pa.int64()), "account_uuid": ["a", "b"]})
    path = store.write("smoke", ("id_maps", "account"), ids)
    assert store.read("smoke", ("id_maps", "account")).equals(ids)
    assert path != store.path("smoke", "contact", "accounts")


def test_table_store_batches_are_bounded_and_complete(store: TableStore, tables: Tables):
    movements = tables["inventory.stock_movements"]
    store.write("smoke", ("inventory", "stock_movements"), movements)
    batches = list(store.batches("smoke", ("inventory", "stock_movements")))
    assert sum(b.num_rows for b in batches) == movements.num_rows
    assert pc.sum(pa.Table.from_batches(batches).column("quantity")).as_py() == pc.sum(
        movements.column("quantity")).as_py()



def test_table_store_batches_hold_a_row_group_not_the_file(tmp_path: Path):
    """Streaming a table reads one row group at a time: Arrow's pre-buffering would hold the whole file
    (at the stress tier, 790 MB of stock movements) until the last batch."""
    rows = 400_000
    noise = pa.array(pa.compute.random(rows).cast(pa.string()))  # incompressible text
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"s": noise}), path, row_group_size=20_000, compression="none")
    del noise
    size = path.stat().st_size
    before, peak = pa.total_allocated_bytes(), 0
    for batch in parquet.read_batches(path, batch_size=20_000):
        peak = max(peak, pa.total_allocated_bytes() - before)
    assert peak < size / 5, (peak, size)

def test_table_store_missing_table_is_named(store: TableStore):
    with pytest.raises(FileNotFoundError, match="contact/accounts"):
        store.read("smoke", ("contact", "accounts"))
    with pytest.raises(FileNotFoundError, match="contact/accounts"):
        next(store.batches("smoke", ("contact", "accounts")))


@pytest.mark.parametrize("pieces", [[1], [7, 3], [25_000, 25_000, 1], [60_000, 39_999, 2]])
def test_row_groups_recut_pieces_into_exact_sizes(pieces: list[int]):
    start, tables = 0, []
    for size in pieces:
        tables.append(pa.table({"i": pa.array(range(start, start + size), pa.int64())}))
        start += size
    groups = list(row_groups(iter(tables), 50_000))
    assert [g.num_rows for g in groups] == [50_000] * (start // 50_000) + ([start % 50_000] if start % 50_000 else [])
    assert pa.concat_tables(groups).column("i").to_pylist() == list(range(start))


def test_streamed_write_is_the_same_file_as_a_whole_write(tmp_path: Path, smoke: tuple[TierPlan, Tables],
                                                          monkeypatch: pytest.MonkeyPatch):
    """The graph streams a generator's blocks into the store; the file must not depend on it (blocks and row
    groups made small so that blocks straddle row groups)."""
    monkeypatch.setattr(parquet, "BATCH_ROWS", 100)
    monkeypatch.setattr(parquet, "PAGE_BYTES", 256)  # several pages per column chunk, cut where the input ends
    plan = dataclasses.replace(smoke[0], block_rows=37)
    whole, streamed = TableStore(tmp_path / "whole"), TableStore(tmp_path / "streamed")
    generate = GENERATORS["orders.order_lines"]
    key = ("orders", "order_lines")
    whole_path = whole.write("smoke", key, generate(plan))
    path, rows = streamed.write_stream("smoke", key, generate.blocks(plan).stream(), arrow_schema(CATALOG[ORDER_LINES]))
    assert rows == pq.read_metadata(path).num_rows and pq.read_metadata(path).num_row_groups > 1
    assert generate.blocks(plan).count > 3
    assert path.read_bytes() == whole_path.read_bytes()


def test_streamed_write_that_fails_leaves_the_previous_table(store: TableStore, tables: Tables):
    employees = tables["hr.employees"]
    store.write("smoke", ("hr", "employees"), employees)

    def failing():
        yield employees.slice(0, 2)
        raise RuntimeError("generator broke")

    with pytest.raises(RuntimeError, match="generator broke"):
        store.write_stream("smoke", ("hr", "employees"), failing(), employees.schema)
    assert store.read_model_table("smoke", "hr.employees").equals(employees)
    assert [p.name for p in store.path("smoke", "hr", "employees").parent.iterdir()] == ["employees.parquet"]


@pytest.mark.parametrize("shards", [2, 3, 7])
def test_joined_shards_are_the_whole_file(tmp_path: Path, smoke: tuple[TierPlan, Tables], monkeypatch: pytest.MonkeyPatch,
                                          shards: int):
    """A sharded table's parts, written from block ranges that straddle row groups and joined, give the bytes
    of the one-step file (small row groups and pages, so both are cut many times)."""
    monkeypatch.setattr(parquet, "BATCH_ROWS", 100)
    monkeypatch.setattr(parquet, "PAGE_BYTES", 256)
    plan = dataclasses.replace(smoke[0], block_rows=37)
    table = CATALOG[ORDER_LINES]
    generate = GENERATORS[ORDER_LINES]
    blocks = generate.blocks(plan)
    whole_path = TableStore(tmp_path / "whole").write("smoke", (table.service, table.name), generate(plan))
    store = TableStore(tmp_path / "sharded")
    for k in range(shards):
        store.write_part("smoke", part_key(table, k), blocks.stream(shard_blocks(blocks.count, k, shards)),
                         arrow_schema(table))
    path, rows, head = join_parts(store, "smoke", table, shards)
    assert rows == pq.read_metadata(whole_path).num_rows and head.num_rows == 5
    assert path.read_bytes() == whole_path.read_bytes()
    assert not store.part_path("smoke", *part_key(table, 0)).parent.exists()


def test_a_part_that_fails_midway_leaves_nothing(tmp_path: Path, smoke: tuple[TierPlan, Tables]):
    plan, _ = smoke
    table = CATALOG[ORDER_LINES]
    blocks = GENERATORS[ORDER_LINES].blocks(plan)
    store = TableStore(tmp_path)

    def failing():
        yield next(iter(blocks.stream()))
        raise RuntimeError("the generator failed")

    with pytest.raises(RuntimeError, match="generator failed"):
        store.write_part("smoke", part_key(table, 0), failing(), arrow_schema(table))
    assert not list(store.part_path("smoke", *part_key(table, 0)).parent.iterdir())
    with pytest.raises(FileNotFoundError, match="shard parts missing"):
        join_parts(store, "smoke", table, 1)
