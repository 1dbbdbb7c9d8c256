"""The pure generators (`crm_mock.generate`): determinism, UUIDs, blocks and the master-data contract of Part A."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pydantic
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_mock.generate import ENTITY_COUNTS, GENERATORS, MASTER_GENERATORS, id_map, project_replica
from crm_mock.generate.ids import derive_uuids, uuids_at
from crm_mock.generate.random import Draws, Stream
from crm_mock.model import CATALOG, Kind
from crm_mock.model.ddl import arrow_schema
from crm_mock.scenario import ACME_NAME, IdScheme, TierPlan, load_scenario, plan_tier

REPO = Path(__file__).resolve().parents[1]
Tables = dict[str, pa.Table]

# Part A
ACME_CONTACTS = 5
STAGING_PRODUCT_TYPES = {"FINISHED_GOOD": 700, "RAW_MATERIAL": 200, "SERVICE": 100}
STOCK_WAREHOUSES = (3, 5)


def block_count_rows(plan: TierPlan) -> dict[str, int]:
    """How many rows each master generator splits into blocks (stock levels come in blocks of products)."""
    return {
        "hr.employees": plan.employees,
        "contact.accounts": plan.accounts,
        "contact.contacts": plan.contacts,
        "inventory.products": plan.products,
        "inventory.warehouses": plan.warehouses,
        "inventory.stock_levels": plan.products,
    }


def expected_rows(plan: TierPlan, name: str) -> int | None:
    return None if name == "inventory.stock_levels" else block_count_rows(plan)[name]


def generate_all(plan: TierPlan) -> Tables:
    return {name: generate(plan) for name, generate in GENERATORS.items()}


@pytest.fixture(scope="module")
def staging_plan() -> TierPlan:
    return plan_tier(load_scenario(), "staging")


@pytest.fixture(scope="module")
def smoke_plan() -> TierPlan:
    return plan_tier(load_scenario(), "smoke")


@pytest.fixture(scope="module")
def staging(staging_plan: TierPlan) -> Tables:
    return generate_all(staging_plan)


@pytest.fixture(scope="module")
def smoke(smoke_plan: TierPlan) -> Tables:
    return generate_all(smoke_plan)


@pytest.fixture(scope="module", params=["smoke", "staging"])
def tier(request: pytest.FixtureRequest) -> tuple[TierPlan, Tables]:
    return request.getfixturevalue(f"{request.param}_plan"), request.getfixturevalue(request.param)


def frame(table: pa.Table):
    return table.to_pandas()


# --- shape ------------------------------------------------------------------------------------------------------------


def test_block_counts_cover_every_master_generator(staging_plan: TierPlan):
    assert set(block_count_rows(staging_plan)) == set(MASTER_GENERATORS)


@pytest.mark.parametrize("name", sorted(MASTER_GENERATORS))
def test_tables_have_the_model_schema_and_planned_rows(tier: tuple[TierPlan, Tables], name: str):
    plan, tables = tier
    table = tables[name]
    assert table.schema == arrow_schema(CATALOG[name])
    if expected_rows(plan, name) is not None:
        assert table.num_rows == expected_rows(plan, name)
    for column in CATALOG[name].columns:
        if not column.nullable:
            assert table.column(column.name).null_count == 0, column.name


# --- determinism ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MASTER_GENERATORS))
def test_generation_is_deterministic(tier: tuple[TierPlan, Tables], name: str):
    plan, tables = tier
    again = MASTER_GENERATORS[name](plan)
    assert again.equals(tables[name])
    assert again.num_rows > 0


FRESH_PROCESS = """
import datetime as dt
import sys
import pyarrow as pa
from crm_mock.generate import GENERATORS
from crm_mock.scenario import load_scenario, plan_tier
plan = plan_tier(load_scenario(today=dt.date.fromisoformat(sys.argv[2])), "staging")
for i, (name, generate) in enumerate(GENERATORS.items()):
    table = generate(plan)
    with pa.OSFile(f"{sys.argv[1]}/{i}.arrow", "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
print("\\n".join(GENERATORS))
"""


def other_hash_seed() -> str:
    """A string-hash seed that differs from this interpreter's (random unless PYTHONHASHSEED fixes it)."""
    mine = os.environ.get("PYTHONHASHSEED", "random")
    return "1" if mine == "random" else str((int(mine) + 1) % 4294967296)


@pytest.fixture(scope="module", autouse=True)
def fresh_process(tmp_path_factory: pytest.TempPathFactory, staging_plan: TierPlan):
    """Starts, when this module starts, a fresh interpreter with another string-hash seed building the
    staging master tables, so it runs while the other tests do."""
    out = tmp_path_factory.mktemp("fresh_process")
    env = {**os.environ, "PYTHONHASHSEED": other_hash_seed(),
           "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    # the same day as this process's plan, should the suite run across midnight (reference_date: today)
    process = subprocess.Popen([sys.executable, "-c", FRESH_PROCESS, str(out), staging_plan.reference_date.isoformat()],
                               cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    result: dict[str, Tables] = {}

    def tables() -> Tables:
        if not result:
            stdout, stderr = process.communicate(timeout=300)
            assert process.returncode == 0, stderr
            names = stdout.split()
            assert names == list(GENERATORS)
            for i, name in enumerate(names):
                with pa.memory_map(str(out / f"{i}.arrow")) as source:
                    result[name] = pa.ipc.open_file(source).read_all()
        return result

    yield tables
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.fixture(scope="module")
def fresh_tables(fresh_process) -> Tables:
    return fresh_process()


@pytest.fixture(scope="module")
def other_seed(staging_plan: TierPlan) -> Tables:
    return generate_all(dataclasses.replace(staging_plan, seed=staging_plan.seed + 1))


@pytest.mark.parametrize("name", sorted(MASTER_GENERATORS))
def test_another_seed_gives_different_data(staging: Tables, other_seed: Tables, name: str):
    mine, theirs = staging[name], other_seed[name]
    assert mine.schema == theirs.schema
    assert not mine.equals(theirs)
    for column in CATALOG[name].primary_key:
        shared = set(mine.column(column).to_pylist()) & set(theirs.column(column).to_pylist())
        assert not shared, f"{column}: {len(shared)} UUIDs shared between seeds"


def test_another_seed_keeps_the_plan_counts(staging: Tables, other_seed: Tables, staging_plan: TierPlan):
    for name in MASTER_GENERATORS:
        if expected_rows(staging_plan, name) is not None:
            assert other_seed[name].num_rows == staging[name].num_rows, name


# --- UUIDs ------------------------------------------------------------------------------------------------------------


LAYOUT_VERSIONS = {"v4": 4, "v8": 8}


def assert_canonical(values: list[str], version: int) -> None:
    for text in values:
        parsed = uuid.UUID(text)
        assert str(parsed) == text, text  # canonical, lower case, hyphenated
        assert parsed.variant == uuid.RFC_4122, text
        assert parsed.version == version, text


@pytest.mark.parametrize("name", sorted(MASTER_GENERATORS))
def test_uuid_columns_are_canonical_version_4_by_default(tier: tuple[TierPlan, Tables], name: str):
    _, tables = tier
    for column in CATALOG[name].columns:
        if column.kind is Kind.UUID:
            values = [v for v in tables[name].column(column.name).to_pylist() if v is not None]
            assert values, column.name
            assert_canonical(values, 4)


@pytest.mark.parametrize("name", sorted(MASTER_GENERATORS))
def test_primary_keys_are_unique(tier: tuple[TierPlan, Tables], name: str):
    _, tables = tier
    key = CATALOG[name].primary_key
    rows = list(zip(*(tables[name].column(k).to_pylist() for k in key)))
    assert len(set(rows)) == len(rows)


def test_uuids_are_unique_across_entities(tier: tuple[TierPlan, Tables]):
    _, tables = tier
    seen: list[str] = []
    for name, table in tables.items():
        key = CATALOG[name].primary_key
        if len(key) == 1 and not CATALOG[name].is_replica:  # a replica shares its master's keys by design
            seen += table.column(key[0]).to_pylist()
    assert len(set(seen)) == len(seen)


@pytest.mark.parametrize("entity", sorted(ENTITY_COUNTS))
def test_id_map_matches_the_master_keys(tier: tuple[TierPlan, Tables], entity: str):
    plan, tables = tier
    master = next(n for n in MASTER_GENERATORS if CATALOG[n].primary_key == (f"{entity}_uuid",))
    ids = id_map(plan, entity)
    assert ids.column("row_index").to_pylist() == list(range(tables[master].num_rows))
    assert ids.column(f"{entity}_uuid").equals(tables[master].column(f"{entity}_uuid"))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), layout=st.sampled_from(sorted(LAYOUT_VERSIONS)),
       entity=st.text(min_size=1, max_size=12),
       bounds=st.lists(st.integers(0, 10**12), min_size=2, max_size=2).map(sorted),
       margins=st.tuples(st.integers(0, 200), st.integers(0, 200)))
def test_derive_uuids_is_a_slice_of_a_bigger_range(seed: int, layout: str, entity: str, bounds: list[int],
                                                   margins: tuple[int, int]):
    ids = IdScheme(seed, layout)
    a, b = bounds
    b = min(b, a + 300)  # keep the ranges small
    lo, hi = max(0, a - margins[0]), b + margins[1]
    small = derive_uuids(ids, entity, a, b)
    big = derive_uuids(ids, entity, lo, hi)
    assert len(small) == b - a and len(big) == hi - lo
    assert small.equals(big.slice(a - lo, b - a))
    assert uuids_at(ids, entity, np.arange(a, b)).equals(small)
    assert len(set(big.to_pylist())) == hi - lo
    assert_canonical(small.to_pylist(), LAYOUT_VERSIONS[layout])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), indices=st.lists(st.integers(0, 10**9), min_size=1, max_size=50))
def test_uuids_at_any_index_match_the_range(seed: int, indices: list[int]):
    ids = IdScheme(seed, "v4")
    picked = uuids_at(ids, "account", np.array(indices)).to_pylist()
    assert picked == [derive_uuids(ids, "account", i, i + 1)[0].as_py() for i in indices]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), low=st.integers(0, 10**12), span=st.integers(1, 400),
       count=st.integers(256, 1200), picks=st.integers(0, 2**32))
def test_uuids_at_many_repeated_indices_match_one_by_one(seed: int, low: int, span: int, count: int, picks: int):
    """Many references to a narrow range (derived once each, then taken) give what each index gives alone."""
    ids = IdScheme(seed, "v4")
    indices = low + np.random.default_rng(picks).integers(0, span, count)
    picked = uuids_at(ids, "account", indices).to_pylist()
    assert picked == [derive_uuids(ids, "account", int(i), int(i) + 1)[0].as_py() for i in indices]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), indices=st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=50,
                                                       unique=True))
def test_the_first_64_random_bits_are_a_bijection_of_the_index(seed: int, indices: list[int]):
    """Every bit of the index mix survives around the version and variant bits, so one entity's UUIDs
    never collide, in either layout; the layouts differ only in the version digit."""
    v4 = uuids_at(IdScheme(seed, "v4"), "account", np.array(indices, dtype=np.uint64)).to_pylist()
    v8 = uuids_at(IdScheme(seed, "v8"), "account", np.array(indices, dtype=np.uint64)).to_pylist()
    for four, eight in zip(v4, v8):
        assert four[:14] + four[15:] == eight[:14] + eight[15:] and (four[14], eight[14]) == ("4", "8")

    def first_random_64_bits(text: str) -> int:
        # 48 bits, the version nibble, 12 bits, the 2 variant bits, 4 bits
        value = uuid.UUID(text).int
        return ((value >> 80) << 16) | (((value >> 64) & 0xFFF) << 4) | ((value >> 58) & 0xF)

    assert len({first_random_64_bits(u) for u in v4}) == len(indices)


def test_the_v8_layout_reproduces_the_first_crm_mock_ids():
    """Scenarios that ask for ``ids.uuid_layout: v8`` keep the ids crm_mock gave them before v4 became the default."""
    assert derive_uuids(IdScheme(20260630, "v8"), "account", 0, 2).to_pylist() == [
        "c4216a29-3bed-84ad-8c41-6b763f124dd6", "23e2f462-b4b1-891a-8782-a78eaac4ddb2"]
    assert uuids_at(IdScheme(0, "v8"), "order", np.array([10**12])).to_pylist() == [
        "966af976-99c0-8296-b4ef-17a9074f1ce4"]


def _uuid_values(tables: Tables) -> list[str]:
    return [v for name, table in tables.items() for c in CATALOG[name].columns if c.kind is Kind.UUID
            for v in table.column(c.name).to_pylist() if v is not None]


def test_every_staging_id_passes_pydantic_uuid4(staging: Tables):
    values = _uuid_values(staging)
    assert len(values) > 50_000
    pydantic.TypeAdapter(list[pydantic.UUID4]).validate_python(values)


@pytest.fixture(scope="module")
def smoke_v8(smoke_plan: TierPlan) -> Tables:
    return generate_all(dataclasses.replace(smoke_plan, uuid_layout="v8"))


def test_v8_ids_fail_uuid4_and_are_the_v4_ids_with_another_version_digit(smoke: Tables, smoke_v8: Tables):
    adapter = pydantic.TypeAdapter(pydantic.UUID4)
    values = _uuid_values(smoke_v8)
    assert values and not any(_passes(adapter, v) for v in values)
    assert_canonical(values, 8)
    for name, table in smoke.items():  # everything else is the same data: the layout changes only ids
        v8 = smoke_v8[name]
        for column in CATALOG[name].columns:
            mine, theirs = table.column(column.name).to_pylist(), v8.column(column.name).to_pylist()
            if column.kind is Kind.UUID:
                theirs = [None if v is None else f"{v[:14]}4{v[15:]}" for v in theirs]
            assert mine == theirs, (name, column.name)


def _passes(adapter: pydantic.TypeAdapter, value: str) -> bool:
    try:
        adapter.validate_python(value)
    except pydantic.ValidationError:
        return False
    return True


def test_uuids_depend_on_seed_and_entity():
    ids = IdScheme(1, "v4")
    base = set(derive_uuids(ids, "account", 0, 1000).to_pylist())
    assert not base & set(derive_uuids(IdScheme(2, "v4"), "account", 0, 1000).to_pylist())
    assert not base & set(derive_uuids(ids, "contact", 0, 1000).to_pylist())


# --- blocks -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("block_rows", [16, 64])
@pytest.mark.parametrize("name", sorted(MASTER_GENERATORS))
def test_blocks_generated_alone_concatenate_to_the_whole(staging_plan: TierPlan, name: str, block_rows: int):
    plan = dataclasses.replace(staging_plan, block_rows=block_rows)
    generate = MASTER_GENERATORS[name]
    whole = generate(plan)
    n_blocks = -(-block_count_rows(plan)[name] // block_rows)
    order = list(range(n_blocks))
    random.Random(f"{name}/{block_rows}").shuffle(order)
    parts = {i: generate(plan, blocks=[i]) for i in order}
    assert all(parts[i].num_rows > 0 for i in order)
    assert pa.concat_tables([parts[i] for i in range(n_blocks)]).equals(whole)
    if n_blocks >= 3:  # a subset, asked for out of order, comes back in block order
        assert generate(plan, blocks=[2, 0]).equals(pa.concat_tables([parts[0], parts[2]]))


def test_small_blocks_split_the_big_tables(staging_plan: TierPlan):
    """The block test above exercises real splits: most tables have many blocks at 16 rows per block."""
    counts = block_count_rows(dataclasses.replace(staging_plan, block_rows=16))
    assert sum(1 for n in counts.values() if n > 16) >= 5


def test_block_size_is_part_of_the_randomness(staging_plan: TierPlan, staging: Tables):
    small = MASTER_GENERATORS["contact.contacts"](dataclasses.replace(staging_plan, block_rows=64))
    assert small.column("contact_uuid").equals(staging["contact.contacts"].column("contact_uuid"))
    assert not small.equals(staging["contact.contacts"])


# --- dates ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MASTER_GENERATORS))
def test_dates_never_after_the_reference_date(tier: tuple[TierPlan, Tables], name: str):
    plan, tables = tier
    for column in CATALOG[name].columns:
        values = tables[name].column(column.name)
        if column.kind is Kind.DATE:
            latest = pc.max(values).as_py()
            assert latest is not None and latest <= plan.reference_date, column.name
        elif column.kind is Kind.TIMESTAMP:
            latest = pc.max(values).as_py()
            assert latest is not None and latest <= plan.reference_moment, column.name
            assert latest.date() <= plan.reference_date


def test_dates_follow_the_reference_date_not_today(staging_plan: TierPlan):
    # edge cases plant calendar dates (a leap day, a month end): compare the generated dates alone
    unplanted = dataclasses.replace(staging_plan, edge_density=0)
    moved = dataclasses.replace(unplanted, reference_date=staging_plan.reference_date - dt.timedelta(days=400))
    employees = MASTER_GENERATORS["hr.employees"](moved)
    assert pc.max(employees.column("hire_date")).as_py() <= moved.reference_date
    shift = pc.subtract(MASTER_GENERATORS["hr.employees"](unplanted).column("hire_date").cast(pa.timestamp("s")),
                        employees.column("hire_date").cast(pa.timestamp("s")))
    assert set(shift.to_pylist()) == {dt.timedelta(days=400)}


# --- master data contract ---------------------------------------------------------------------------------------------


def test_acme_corp_has_exactly_five_contacts(tier: tuple[TierPlan, Tables]):
    plan, tables = tier
    accounts = frame(tables["contact.accounts"])
    acme = accounts[accounts.name == ACME_NAME]
    assert len(acme) == 1
    assert acme.segment.iloc[0] == "ENTERPRISE"
    contacts = frame(tables["contact.contacts"])
    assert (contacts.account_uuid == acme.account_uuid.iloc[0]).sum() == ACME_CONTACTS == plan.acme_contacts


def test_every_account_has_contacts_and_small_businesses_exactly_one(tier: tuple[TierPlan, Tables]):
    _, tables = tier
    accounts = frame(tables["contact.accounts"]).set_index("account_uuid")
    per_account = frame(tables["contact.contacts"]).account_uuid.value_counts()
    counts = per_account.reindex(accounts.index).fillna(0).astype(int)
    assert set(per_account.index) <= set(accounts.index)  # no contact of an unknown account
    assert (counts >= 1).all()
    small = accounts.segment == "SMALL_BUSINESS"
    assert small.any()
    assert (counts[small] == 1).all()
    assert counts[accounts.segment == "ENTERPRISE"].mean() > counts[accounts.segment == "MID_MARKET"].mean() > 1


def test_account_quotas_and_segments_follow_the_plan(tier: tuple[TierPlan, Tables]):
    plan, tables = tier
    accounts = frame(tables["contact.accounts"])
    status = accounts.status.value_counts()
    assert status.get("ON_HOLD", 0) == plan.on_hold_accounts >= 1
    assert status.get("SUSPENDED", 0) == plan.suspended_accounts >= 1
    assert accounts.segment.value_counts().to_dict() == {k: v for k, v in plan.segment_counts.items() if v}
    assert accounts[accounts.name == ACME_NAME].status.iloc[0] == "ACTIVE"


def test_staging_product_mix_is_exact(staging: Tables):
    types = frame(staging["inventory.products"]).product_type.value_counts().to_dict()
    assert types == STAGING_PRODUCT_TYPES


def test_product_mix_follows_the_plan(tier: tuple[TierPlan, Tables]):
    plan, tables = tier
    products = frame(tables["inventory.products"])
    assert products.product_type.value_counts().to_dict() == plan.product_type_counts
    assert (products.status == "DISCONTINUED").sum() == plan.discontinued_products


def test_every_stocked_product_sits_in_three_to_five_distinct_warehouses(tier: tuple[TierPlan, Tables]):
    plan, tables = tier
    products = frame(tables["inventory.products"]).set_index("product_uuid")
    stock = frame(tables["inventory.stock_levels"])
    warehouses = set(tables["inventory.warehouses"].column("warehouse_uuid").to_pylist())
    assert set(stock.warehouse_uuid) <= warehouses
    assert not stock.duplicated(["product_uuid", "warehouse_uuid"]).any()
    per_product = stock.groupby("product_uuid").warehouse_uuid.nunique().reindex(products.index).fillna(0)
    stocked = products.product_type != "SERVICE"
    low, high = STOCK_WAREHOUSES
    assert per_product[stocked].between(low, high).all()
    assert (per_product[~stocked] == 0).all()
    assert stocked.sum() == plan.stocked_products


def test_stock_is_never_negative_and_zero_stock_quota_holds(tier: tuple[TierPlan, Tables]):
    plan, tables = tier
    stock = frame(tables["inventory.stock_levels"])
    assert (stock.quantity_on_hand >= 0).all() and (stock.quantity_reserved >= 0).all()
    assert (stock.quantity_reserved <= stock.quantity_on_hand).all()
    on_hand = stock.groupby("product_uuid").quantity_on_hand.sum()
    zero = set(on_hand.index[on_hand == 0])
    assert len(zero) == plan.zero_stock_products
    discontinued = set(frame(tables["inventory.products"]).query("status == 'DISCONTINUED'").product_uuid)
    assert not zero & discontinued  # the two unavailable kinds are disjoint, so both counts are exact


def test_employee_manager_tree(tier: tuple[TierPlan, Tables]):
    _, tables = tier
    employees = frame(tables["hr.employees"])
    manager = dict(zip(employees.employee_uuid, employees.manager_uuid))
    roots = [e for e, m in manager.items() if m is None or m != m]
    assert len(roots) == 1
    for employee in manager:  # every chain reaches the root without revisiting anyone
        seen = set()
        while employee != roots[0]:
            assert employee not in seen
            seen.add(employee)
            employee = manager[employee]


def test_accounts_span_many_countries(tier: tuple[TierPlan, Tables]):
    plan, tables = tier
    countries = set(tables["contact.accounts"].column("country_code").to_pylist())
    assert countries <= set(plan.country_shares)
    assert len(countries) >= min(10, plan.accounts)


# --- replicas ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("replica", [t.qualified_name for t in CATALOG if t.replica_of and not t.owned_columns])
def test_project_replica_copies_the_master_columns(staging: Tables, replica: str):
    model = CATALOG[replica]
    master = staging[model.replica_of.master]
    copy = project_replica(replica, master)
    assert copy.schema == arrow_schema(model)
    for name in model.column_names:
        assert copy.column(name).equals(master.column(name)), name


def test_project_replica_refuses_masters_and_owned_replicas(staging: Tables):
    with pytest.raises(ValueError):
        project_replica("contact.accounts", staging["contact.accounts"])
    with pytest.raises(ValueError):
        project_replica("finance.customer_accounts", staging["contact.accounts"])


# --- Stream -----------------------------------------------------------------------------------------------------------


def _draws(stream: Stream) -> list:
    return [stream.raw(8).tolist(), stream.uniform(8).tolist(), stream.integers(0, 1000, 8).tolist(),
            stream.choice(8, [1, 2, 3]).tolist(), stream.normal(4).tolist(), stream.permutation(8).tolist()]


def test_stream_with_the_same_key_gives_the_same_draws():
    assert _draws(Stream(7, "contact.accounts", "rows", block=3)) == _draws(Stream(7, "contact.accounts", "rows",
                                                                                 block=3))


@pytest.mark.parametrize("other", [
    dict(seed=7, names=("contact.accounts", "rows"), block=4),
    dict(seed=8, names=("contact.accounts", "rows"), block=3),
    dict(seed=7, names=("contact.accounts", "plan"), block=3),
    dict(seed=7, names=("contact.contacts", "rows"), block=3),
])
def test_stream_with_another_key_or_block_gives_other_draws(other: dict):
    mine = Stream(7, "contact.accounts", "rows", block=3).raw(64)
    theirs = Stream(other["seed"], *other["names"], block=other["block"]).raw(64)
    assert not set(mine.tolist()) & set(theirs.tolist())


def test_stream_blocks_are_independent_of_each_other():
    first = Stream(1, "t", block=0).uniform(1000)
    second = Stream(1, "t", block=1).uniform(1000)
    assert abs(np.corrcoef(first, second)[0, 1]) < 0.2


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), block=st.integers(0, 10**6), n=st.integers(1, 500),
       low=st.integers(-1000, 1000), span=st.integers(1, 10**6))
def test_stream_draws_stay_in_range(seed: int, block: int, n: int, low: int, span: int):
    stream = Stream(seed, "range", block=block)
    u = stream.uniform(n)
    assert ((u >= 0) & (u < 1)).all()
    ints = stream.integers(low, low + span, n)
    assert ((ints >= low) & (ints < low + span)).all()
    assert sorted(stream.permutation(n).tolist()) == list(range(n))
    picks = stream.choice(n, [0.0, 2.0, 0.0, 1.0])
    assert set(picks.tolist()) <= {1, 3}


def test_stream_integers_refuse_an_empty_range():
    with pytest.raises(ValueError):
        Stream(1, "x").integers(5, 5, 3)


@settings(max_examples=60, deadline=None)
@given(before=st.integers(0, 9), word=st.integers(0, 300), n=st.integers(0, 40), block=st.integers(0, 5))
def test_a_stream_from_any_word_draws_what_the_whole_stream_draws_there(before: int, word: int, n: int, block: int):
    whole = Stream(3, "t", block=block)
    whole.raw(before)  # where the caller's stream stands does not matter: the word is counted from the start
    assert whole.position == before
    assert whole.at(word).raw(n).tolist() == Stream(3, "t", block=block).raw(word + n)[word:].tolist()


@settings(max_examples=40, deadline=None)
@given(m=st.integers(0, 300), k=st.integers(0, 30), cuts=st.lists(st.integers(0, 300), max_size=5))
def test_draws_taken_a_range_at_a_time_are_the_draws_made_at_once(m: int, k: int, cuts: list[int]):
    at_once = Stream(5, "d")
    at_once.raw(3)
    expected = {"u": at_once.uniform(m), "n": at_once.lognormal(2.0, 0.5, m), "i": at_once.integers(0, 7, k),
                "v": at_once.normal(m)}
    stream = Stream(5, "d")
    stream.raw(3)
    draws = Draws(stream, [("u", m, "uniform"), ("n", m, "normal"), ("i", k, "uniform"), ("v", m, "normal")])
    bounds = sorted({0, m, *(c for c in cuts if c <= m)})
    ranges = list(zip(bounds[:-1], bounds[1:]))
    got = {"u": [draws.uniform("u", a, b) for a, b in ranges], "n": [draws.lognormal("n", 2.0, 0.5, a, b)
                                                                     for a, b in ranges],
           "v": [draws.normal("v", a, b) for a, b in ranges], "i": [draws.integers("i", 0, 7, 0, k)]}
    for name in ("u", "n", "v"):
        assert np.concatenate([np.zeros(0), *got[name]]).tobytes() == expected[name].tobytes(), name
    assert got["i"][0].tolist() == expected["i"].tolist()
    with pytest.raises(IndexError):
        draws.uniform("u", 0, m + 1)


def test_lines_drawn_a_few_documents_at_a_time_are_the_lines_drawn_at_once(staging_plan: TierPlan):
    from crm_mock.generate.contact import cached_account_plan
    from crm_mock.generate.inventory import cached_product_plan
    from crm_mock.generate.line_draws import LINE_COLUMNS, draw_lines, joined, product_choice

    accounts, products = cached_account_plan(staging_plan), cached_product_plan(staging_plan)
    account = Stream(1, "accounts").integers(0, len(accounts.segment), 2_000)
    backordered = np.zeros(len(account), bool)
    backordered[::97] = True
    lines = {}
    for size in (len(account), 333, 1):
        offsets, parts = draw_lines(staging_plan, accounts.segment[account], accounts.currency[account], backordered,
                                    products, product_choice(products, Stream(8, "popularity")), Stream(9, "lines"),
                                    part_documents=size)
        assert len(parts) == -(-len(account) // size)
        lines[size] = [offsets, *(joined(parts, column) for column in LINE_COLUMNS)]
    assert lines[len(account)][0][-1] > 2 * len(account)  # documents of several lines each
    for size in (333, 1):
        for whole, in_parts in zip(lines[len(account)], lines[size]):
            assert in_parts.dtype == whole.dtype and in_parts.tobytes() == whole.tobytes()
    zero_stock = np.flatnonzero(products.zero_stock)
    assert np.isin(lines[1][1][lines[1][0][:-1][backordered]], zero_stock).all()


# --- a fresh interpreter (started with the module, collected last) ------------------------------------------------


def _without(table: pa.Table, columns: list[str]) -> pa.Table:
    return table.drop_columns(columns)


def test_generation_is_identical_in_a_fresh_process(staging: Tables, fresh_tables: Tables):
    """Byte-identical in another interpreter with another string-hash seed (Faker's it_IT cities come
    from a set: pools.py sorts them), for every generated table, transactions included."""
    for name in GENERATORS:
        assert fresh_tables[name].equals(staging[name]), name


def test_line_plans_keep_compact_types_and_refuse_values_that_do_not_fit():
    from crm_mock.generate.line_draws import compact_lines

    product, quantity, discount = compact_lines(np.array([0, 999_999]), np.array([1, 2**31 - 1]), np.array([0, 100]))
    assert (product.dtype, quantity.dtype, discount.dtype) == (np.int32, np.int32, np.int8)
    assert quantity.tolist() == [1, 2**31 - 1] and discount.tolist() == [0, 100]
    with pytest.raises(OverflowError):
        compact_lines(np.array([0]), np.array([2**31]), np.array([0]))
    with pytest.raises(OverflowError):
        compact_lines(np.array([0]), np.array([1]), np.array([200]))


def test_line_totals_widen_compact_columns_before_multiplying(staging_plan: TierPlan):
    from crm_mock.generate.money import discounted_total
    from crm_mock.generate.orders import cached_order_plan

    orders = cached_order_plan(staging_plan)
    assert orders.line_quantity.dtype == np.int32 and orders.line_discount.dtype == np.int8
    # a large quantity at a high price, discounted: beyond int32 (and int8 × anything), exact in int64
    total = discounted_total(np.array([50_000], np.int32), np.array([999_999_999]), np.array([15], np.int8),
                             np.array([1]))
    assert total.tolist() == [50_000 * 999_999_999 * 85 // 100]
