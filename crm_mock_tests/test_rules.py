"""The model-derived table rules (`consistency/table_rules.py`) and the master-data rules
(`consistency/master_rules.py`) against generated data, without Dagster.

Every rule passes on the generated smoke and staging tiers; then each kind of breakage a rule guards
against is put into a copy of that data, and the rule must fail and name the row that was broken.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pytest

from crm_mock.consistency import master_rules as mr
from crm_mock.consistency import table_rules as tr
from crm_mock.consistency.results import RuleResult
from crm_mock.generate import GENERATORS, project_replica
from crm_mock.model import CATALOG, Kind, Table
from crm_mock.scenario import ACME_NAME, TierPlan, load_scenario, plan_tier

EMPLOYEES, ACCOUNTS, CONTACTS = "hr.employees", "contact.accounts", "contact.contacts"
PRODUCTS, WAREHOUSES, STOCK = "inventory.products", "inventory.warehouses", "inventory.stock_levels"

Tables = dict[str, pa.Table]

PLAIN_REPLICAS = [t.qualified_name for t in CATALOG if t.replica_of and not t.owned_columns]
PRODUCED = [*GENERATORS, *PLAIN_REPLICAS]  # every table the project makes
REPLICAS = [t.qualified_name for t in CATALOG if t.replica_of]
WITH_REFERENCES = [name for name in PRODUCED if CATALOG.references(CATALOG[name])]


def table_rule_targets(name: str, tables: Tables) -> dict[str, pa.ChunkedArray]:
    """The keys each reference of ``name`` must be among, where its service resolves it (as the checks do)."""
    return {ref.column.name: tables[ref.resolving_table.qualified_name].column(ref.target_key)
            for ref in CATALOG.references(CATALOG[name])}


def run_foreign_keys(name: str, tables: Tables) -> RuleResult:
    return tr.foreign_keys_resolve(CATALOG[name], tables[name], table_rule_targets(name, tables))


def run_replica(name: str, tables: Tables) -> RuleResult:
    model = CATALOG[name]
    return tr.replica_matches_master(model, tables[name], tables[model.replica_of.master])


MASTER_RULES: dict[str, Callable[[TierPlan, Tables], RuleResult]] = {
    "employee_tree": lambda p, t: mr.employee_tree(t[EMPLOYEES]),
    "account_quotas": lambda p, t: mr.account_quotas(p, t[ACCOUNTS]),
    "contact_quotas": lambda p, t: mr.contact_quotas(p, t[CONTACTS], t[ACCOUNTS]),
    "product_quotas": lambda p, t: mr.product_quotas(p, t[PRODUCTS]),
    "stock_rules": lambda p, t: mr.stock_rules(p, t[STOCK], t[PRODUCTS]),
    "warehouse_quotas": lambda p, t: mr.warehouse_quotas(p, t[WAREHOUSES]),
}
TABLE_RULES = ("primary_key_unique", "conforms_to_model", "foreign_keys_resolve", "replica_matches_master")


# --- data -------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Data:
    plan: TierPlan
    tables: Tables

    def frame(self, name: str) -> pd.DataFrame:
        return self.tables[name].to_pandas()

    def with_(self, **replaced: pa.Table) -> Tables:
        return {**self.tables, **{NAMES[k]: v for k, v in replaced.items()}}

    def master(self, rule: str, **replaced: pa.Table) -> RuleResult:
        return MASTER_RULES[rule](self.plan, self.with_(**replaced))


NAMES = {"employees": EMPLOYEES, "accounts": ACCOUNTS, "contacts": CONTACTS, "products": PRODUCTS,
         "warehouses": WAREHOUSES, "stock": STOCK}


def _generate(tier: str) -> Data:
    plan = plan_tier(load_scenario(), tier)
    tables = {name: generate(plan) for name, generate in GENERATORS.items()}
    for name in PLAIN_REPLICAS:
        tables[name] = project_replica(name, tables[CATALOG[name].replica_of.master])
    return Data(plan, tables)


@pytest.fixture(scope="module")
def staging() -> Data:
    return _generate("staging")


@pytest.fixture(scope="module")
def smoke() -> Data:
    return _generate("smoke")


@pytest.fixture(scope="module", params=["smoke", "staging"])
def data(request: pytest.FixtureRequest) -> Data:
    return request.getfixturevalue(request.param)


# --- corruption helpers -----------------------------------------------------------------------------------------------


def to_table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """Back to Arrow under the original schema; a field that now holds nulls is made nullable, so a
    corruption can put a null where the generator never does."""
    fields = [f.with_nullable(True) if frame[f.name].isna().any() else f for f in schema]
    return pa.Table.from_pandas(frame[schema.names], schema=pa.schema(fields), preserve_index=False)


def corrupt(table: pa.Table, change: Callable[[pd.DataFrame], pd.DataFrame | None]) -> pa.Table:
    """A corrupted copy of ``table``: ``change`` edits its pandas frame in place or returns a new one."""
    frame = table.to_pandas()
    changed = change(frame)
    return to_table(frame if changed is None else changed, table.schema)


def set_where(table: pa.Table, key: str, value: str, **columns: object) -> pa.Table:
    def change(frame: pd.DataFrame) -> None:
        rows = frame[key] == value
        assert rows.any(), f"no row with {key} = {value}"
        for column, new in columns.items():
            frame.loc[rows, column] = new
    return corrupt(table, change)


def with_cell(table: pa.Table, column: str, row: int, value: object) -> pa.Table:
    """A copy of ``table`` with one cell replaced (straight in Arrow, types kept)."""
    i = table.schema.get_field_index(column)
    field = table.schema.field(i)
    values = table.column(column).to_pylist()
    values[row] = value
    if value is None:
        field = field.with_nullable(True)
    return table.set_column(i, field, pa.array(values, type=field.type))


def key_at(model: Table, table: pa.Table, row: int) -> str | None:
    parts = [table.column(k)[row].as_py() for k in model.primary_key]
    return None if None in parts else "|".join(parts)


def first(frame: pd.DataFrame, mask: pd.Series | None = None) -> pd.Series:
    """The first row matching ``mask``; the test cannot corrupt what the data does not hold."""
    rows = frame if mask is None else frame[mask]
    assert len(rows), "the generated data holds no row to corrupt"
    return rows.iloc[0]


def middle_row(table: pa.Table, column: str | None = None) -> int:
    """A row in the middle of the table (where ``column`` is not null)."""
    valid = range(table.num_rows) if column is None else \
        [i for i, v in enumerate(table.column(column).is_valid().to_pylist()) if v]
    assert valid, "the generated data holds no row to corrupt"
    return list(valid)[len(valid) // 2]


def new_uuid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"crm_mock_tests/test_rules/{name}"))


def assert_caught(result: RuleResult, check: str, *names: str, count: int | None = None) -> None:
    """The rule failed through its sub-check ``check``, and every one of ``names`` is in its sample."""
    assert not result.passed, f"{result.rule} missed the corruption: {result}"
    assert result.offending >= 1
    assert result.details.get(check, 0) >= 1, f"{check} did not fire: {result.details}"
    if count is not None:
        assert result.details[check] == count, result.details
    for name in names:
        assert any(name in entry for entry in result.sample), f"{name!r} not in sample {result.sample}"


def only(result: RuleResult, check: str) -> None:
    """No other sub-check of the rule fired: the corruption broke exactly one thing."""
    assert {k: v for k, v in result.details.items() if v and k != check} == {}, result.details


# --- coverage ---------------------------------------------------------------------------------------------------------


def _public(module) -> set[str]:
    return {name for name, f in inspect.getmembers(module, inspect.isfunction)
            if f.__module__ == module.__name__ and not name.startswith("_")}


def test_every_rule_function_is_covered():
    assert _public(tr) == set(TABLE_RULES)
    assert _public(mr) == set(MASTER_RULES)


def test_produced_tables_cover_the_model():
    assert set(PRODUCED) | {"finance.customer_accounts"} == {t.qualified_name for t in CATALOG}


# --- every rule passes on generated data ------------------------------------------------------------------------------


def assert_clean(result: RuleResult, sub_checks: bool = True) -> None:
    """Passed, with nothing offending; ``sub_checks``: details count each sub-check's offenders (all 0)."""
    assert result.passed, result
    assert result.offending == 0 and result.sample == ()
    if sub_checks:
        assert result.details and all(count == 0 for count in result.details.values()), result.details


@pytest.mark.parametrize("name", PRODUCED)
def test_keys_and_model_hold_on_generated_data(data: Data, name: str):
    model, table = CATALOG[name], data.tables[name]
    result = tr.primary_key_unique(model, table)
    assert_clean(result, sub_checks=False)
    assert result.details["rows"] == table.num_rows > 0
    conform = tr.conforms_to_model(model, table)
    assert_clean(conform)
    assert set(conform.details) == set(model.column_names)  # every column was looked at


@pytest.mark.parametrize("name", WITH_REFERENCES)
def test_references_resolve_on_generated_data(data: Data, name: str):
    result = run_foreign_keys(name, data.tables)
    assert_clean(result)
    assert set(result.details) == {c.name for c in CATALOG[name].foreign_keys}


@pytest.mark.parametrize("name", REPLICAS)
def test_replicas_match_their_masters_on_generated_data(data: Data, name: str):
    assert_clean(run_replica(name, data.tables))


@pytest.mark.parametrize("rule", sorted(MASTER_RULES))
def test_master_rule_passes_on_generated_data(data: Data, rule: str):
    assert_clean(data.master(rule))


# --- primary_key_unique -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PRODUCED)
def test_duplicate_primary_key_is_caught(smoke: Data, name: str):
    model, table = CATALOG[name], smoke.tables[name]
    row = middle_row(table)
    doubled = pa.concat_tables([table, table.slice(row, 1)])
    result = tr.primary_key_unique(model, doubled)
    assert not result.passed and result.offending == 1
    assert result.sample == (key_at(model, table, row),)


def test_duplicate_key_with_other_values_is_caught(data: Data):
    """Same key, different row: still a duplicate."""
    accounts = data.frame(ACCOUNTS)
    twin = first(accounts, accounts.segment == "SMALL_BUSINESS")
    other = accounts[accounts.account_uuid != twin.account_uuid].iloc[[0]].assign(account_uuid=twin.account_uuid)
    doubled = to_table(pd.concat([accounts, other], ignore_index=True), data.tables[ACCOUNTS].schema)
    result = tr.primary_key_unique(CATALOG[ACCOUNTS], doubled)
    assert not result.passed and result.sample == (twin.account_uuid,)


def test_duplicate_composite_key_is_caught(data: Data):
    stock = data.frame(STOCK)
    row = first(stock)
    extra = stock.iloc[[0]].assign(quantity_on_hand=row.quantity_on_hand + 7)
    doubled = to_table(pd.concat([stock, extra], ignore_index=True), data.tables[STOCK].schema)
    result = tr.primary_key_unique(CATALOG[STOCK], doubled)
    assert not result.passed and result.offending == 1
    assert result.sample == (f"{row.product_uuid}|{row.warehouse_uuid}",)


@pytest.mark.parametrize("name", [EMPLOYEES, STOCK])
def test_null_primary_key_is_caught(data: Data, name: str):
    model, table = CATALOG[name], data.tables[name]
    broken = with_cell(table, model.primary_key[-1], middle_row(table), None)
    result = tr.primary_key_unique(model, broken)
    assert not result.passed and result.sample == ("<null key>",)


# --- conforms_to_model ------------------------------------------------------------------------------------------------


def columns_where(predicate: Callable) -> list[tuple[str, str]]:
    return [(name, c.name) for name in PRODUCED for c in CATALOG[name].columns if predicate(c)]


def with_variants(pairs: list[tuple[str, str]], variants: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """Each (table, column) with one of ``variants``, taken in turn, so every variant is tried on many columns."""
    return [(name, column, variants[i % len(variants)]) for i, (name, column) in enumerate(pairs)]


def assert_conformance_caught(model: Table, broken: pa.Table, row: int, column: str) -> None:
    result = tr.conforms_to_model(model, broken)
    assert not result.passed, result
    assert result.details[column] == 1, result.details
    only(result, column)
    key = key_at(model, broken, row)
    if key is not None:  # a null key cannot be named; primary_key_unique reports it
        assert result.sample == (key,)


@pytest.mark.parametrize(("name", "column"), columns_where(lambda c: not c.nullable))
def test_null_in_a_non_nullable_column_is_caught(smoke: Data, name: str, column: str):
    model, table = CATALOG[name], smoke.tables[name]
    row = middle_row(table)
    assert_conformance_caught(model, with_cell(table, column, row, None), row, column)


@pytest.mark.parametrize(("name", "column"), columns_where(lambda c: c.nullable))
def test_null_in_a_nullable_column_is_fine(smoke: Data, name: str, column: str):
    model, table = CATALOG[name], smoke.tables[name]
    assert tr.conforms_to_model(model, with_cell(table, column, middle_row(table), None)).passed


@pytest.mark.parametrize(("name", "column"), columns_where(lambda c: c.kind is Kind.TEXT))
def test_overlong_text_is_caught(smoke: Data, name: str, column: str):
    model, table = CATALOG[name], smoke.tables[name]
    row = middle_row(table)
    too_long = "x" * (model.column(column).max_length + 1)
    assert_conformance_caught(model, with_cell(table, column, row, too_long), row, column)


@pytest.mark.parametrize(("name", "column"), columns_where(lambda c: c.kind is Kind.TEXT))
def test_text_of_exactly_the_max_length_in_any_script_is_fine(smoke: Data, name: str, column: str):
    """Lengths are characters, not bytes: a full-length accented value conforms."""
    model, table = CATALOG[name], smoke.tables[name]
    full = "é" * model.column(column).max_length
    assert tr.conforms_to_model(model, with_cell(table, column, middle_row(table), full)).passed


@pytest.mark.parametrize(("name", "column", "code"),
                         with_variants(columns_where(lambda c: c.kind is Kind.CODE), ("NOT_A_CODE", "lower")))
def test_unknown_vocabulary_code_is_caught(smoke: Data, name: str, column: str, code: str):
    model, table = CATALOG[name], smoke.tables[name]
    row = middle_row(table, column)
    value = table.column(column)[row].as_py().lower() if code == "lower" else code
    assert value not in model.column(column).vocabulary
    assert_conformance_caught(model, with_cell(table, column, row, value), row, column)


@pytest.mark.parametrize(("name", "column", "spelling"),
                         with_variants(columns_where(lambda c: c.kind is Kind.UUID), ("upper", "braced", "short")))
def test_non_canonical_uuid_is_caught(smoke: Data, name: str, column: str, spelling: str):
    model, table = CATALOG[name], smoke.tables[name]
    row = middle_row(table, column)
    value = table.column(column)[row].as_py()
    value = {"upper": value.upper(), "braced": "{" + value + "}", "short": value[:-1]}[spelling]
    assert_conformance_caught(model, with_cell(table, column, row, value), row, column)


@pytest.mark.parametrize(("name", "column", "problem"), with_variants(
    columns_where(lambda c: c.kind is Kind.MONEY), ("fraction of a cent", "too large for NUMERIC(12,2)")))
def test_bad_money_is_caught(smoke: Data, name: str, column: str, problem: str):
    model, table = CATALOG[name], smoke.tables[name]
    row = middle_row(table, column)
    value = table.column(column)[row].as_py() + 0.005 if problem == "fraction of a cent" else 1e10
    assert_conformance_caught(model, with_cell(table, column, row, value), row, column)


# --- foreign_keys_resolve ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "column"),
                         [(name, c.name) for name in WITH_REFERENCES for c in CATALOG[name].foreign_keys])
def test_dangling_reference_is_caught(smoke: Data, name: str, column: str):
    model, table = CATALOG[name], smoke.tables[name]
    row = middle_row(table, column)
    broken = with_cell(table, column, row, new_uuid(f"{name}.{column}"))
    result = run_foreign_keys(name, {**smoke.tables, name: broken})
    label = broken.column(model.primary_key[0])[row].as_py()
    assert_caught(result, column, label, count=1)
    only(result, column)


def test_reference_resolves_through_the_services_replica(data: Data):
    """An account's owner resolves in the Contact service, through its employee replica: an employee
    missing from that replica leaves the accounts they own dangling, even though HR still has them."""
    accounts = data.frame(ACCOUNTS)
    owner = first(accounts).owner_employee_uuid
    replica = corrupt(data.tables["contact.employee_replica"], lambda f: f[f.employee_uuid != owner])
    result = run_foreign_keys(ACCOUNTS, {**data.tables, "contact.employee_replica": replica})
    owned = accounts.account_uuid[accounts.owner_employee_uuid == owner].tolist()
    assert_caught(result, "owner_employee_uuid", *owned[:10], count=len(owned))


def test_null_in_a_nullable_reference_is_not_dangling(data: Data):
    employees = data.tables[EMPLOYEES]
    result = run_foreign_keys(EMPLOYEES, {**data.tables, EMPLOYEES: with_cell(employees, "manager_uuid", 1, None)})
    assert result.passed


# --- replica_matches_master -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REPLICAS)
def test_deleted_replica_row_is_caught(data: Data, name: str):
    key = CATALOG[name].primary_key[0]
    table = data.tables[name]
    gone = table.column(key)[middle_row(table)].as_py()
    broken = corrupt(table, lambda f: f[f[key] != gone])
    result = run_replica(name, {**data.tables, name: broken})
    assert_caught(result, "missing", gone, count=1)
    only(result, "missing")


@pytest.mark.parametrize("name", REPLICAS)
def test_replica_row_without_master_is_caught(data: Data, name: str):
    key = CATALOG[name].primary_key[0]
    stray = new_uuid(f"orphan {name}")
    broken = corrupt(data.tables[name], lambda f: pd.concat([f, f.iloc[[0]].assign(**{key: stray})],
                                                            ignore_index=True))
    result = run_replica(name, {**data.tables, name: broken})
    assert_caught(result, "orphaned", stray, count=1)
    only(result, "orphaned")


def _changed(value: object) -> object:
    return value + 1 if isinstance(value, (int, float)) else f"{value}X"


@pytest.mark.parametrize(("name", "column"), [(t.qualified_name, c) for t in CATALOG if t.replica_of
                                              for c in t.replica_of.columns])
def test_changed_replicated_value_is_caught(data: Data, name: str, column: str):
    key = CATALOG[name].primary_key[0]
    table = data.tables[name]
    row = middle_row(table, column)
    broken = with_cell(table, column, row, _changed(table.column(column)[row].as_py()))
    result = run_replica(name, {**data.tables, name: broken})
    assert_caught(result, "drifted", table.column(key)[row].as_py(), count=1)
    only(result, "drifted")


def test_account_status_drift_is_caught(data: Data):
    """The sync problem the replicas exist to show: a status change that did not reach a service."""
    accounts = data.frame(ACCOUNTS)
    account = first(accounts, accounts.status == "ACTIVE").account_uuid
    replica = set_where(data.tables["orders.account_replica"], "account_uuid", account, status="ON_HOLD")
    result = run_replica("orders.account_replica", {**data.tables, "orders.account_replica": replica})
    assert_caught(result, "drifted", account, count=1)


def test_owned_columns_are_not_drift():
    """finance.customer_accounts owns credit_status, credit_limit and balance: changing them is no drift."""
    data = _generate("smoke")
    table = data.tables["finance.customer_accounts"]
    row = middle_row(table)
    for column in CATALOG["finance.customer_accounts"].owned_columns:
        value = table.column(column)[row].as_py()
        changed = "ON_HOLD" if value == "GOOD" else "GOOD" if column == "credit_status" else value + 1
        broken = with_cell(table, column, row, changed)
        assert run_replica("finance.customer_accounts", {**data.tables, "finance.customer_accounts": broken}).passed


# --- employee_tree ----------------------------------------------------------------------------------------------------


def _leaves(employees: pd.DataFrame) -> list[str]:
    managers = set(employees.manager_uuid.dropna())
    leaves = [e for e in employees.employee_uuid if e not in managers]
    assert len(leaves) >= 2, "the generated tree has fewer than two leaves to corrupt"
    return leaves


def test_second_root_is_caught(data: Data):
    employees = data.frame(EMPLOYEES)
    employee = first(employees, employees.manager_uuid.notna()).employee_uuid
    broken = set_where(data.tables[EMPLOYEES], "employee_uuid", employee, manager_uuid=None)
    result = data.master("employee_tree", employees=broken)
    assert_caught(result, "single_root", employee, "2 roots")
    only(result, "single_root")


def test_no_root_is_caught(data: Data):
    employees = data.frame(EMPLOYEES)
    root = first(employees, employees.manager_uuid.isna()).employee_uuid
    child = first(employees, employees.manager_uuid == root).employee_uuid
    broken = set_where(data.tables[EMPLOYEES], "employee_uuid", root, manager_uuid=child)
    result = data.master("employee_tree", employees=broken)
    assert_caught(result, "single_root", "0 roots")
    assert_caught(result, "no_cycles", root, child)


def test_cycle_is_caught(data: Data):
    employees = data.frame(EMPLOYEES)
    a, b = _leaves(employees)[:2]
    broken = set_where(set_where(data.tables[EMPLOYEES], "employee_uuid", a, manager_uuid=b),
                       "employee_uuid", b, manager_uuid=a)
    result = data.master("employee_tree", employees=broken)
    assert_caught(result, "no_cycles", a, b, count=2)
    only(result, "no_cycles")


def test_self_managed_employee_is_a_cycle(data: Data):
    employees = data.frame(EMPLOYEES)
    leaf = _leaves(employees)[0]
    broken = set_where(data.tables[EMPLOYEES], "employee_uuid", leaf, manager_uuid=leaf)
    result = data.master("employee_tree", employees=broken)
    assert_caught(result, "no_cycles", leaf, count=1)
    only(result, "no_cycles")


def test_unknown_manager_is_caught(data: Data):
    employees = data.frame(EMPLOYEES)
    employee = first(employees, employees.manager_uuid.notna()).employee_uuid
    broken = set_where(data.tables[EMPLOYEES], "employee_uuid", employee, manager_uuid=new_uuid("ghost manager"))
    result = data.master("employee_tree", employees=broken)
    assert_caught(result, "manager_exists", employee, count=1)
    only(result, "manager_exists")


# --- account_quotas ---------------------------------------------------------------------------------------------------


def _non_acme(accounts: pd.DataFrame, **equal: str) -> pd.Series:
    mask = accounts.name != ACME_NAME
    for column, value in equal.items():
        mask &= accounts[column] == value
    return first(accounts, mask)


@pytest.mark.parametrize(("before", "after", "check"), [
    ("ACTIVE", "ON_HOLD", "on_hold"),
    ("ON_HOLD", "ACTIVE", "on_hold"),
    ("ACTIVE", "SUSPENDED", "suspended"),
    ("SUSPENDED", "CLOSED", "suspended"),
])
def test_held_account_quota_is_caught(data: Data, before: str, after: str, check: str):
    accounts = data.frame(ACCOUNTS)
    account = _non_acme(accounts, status=before).account_uuid
    broken = set_where(data.tables[ACCOUNTS], "account_uuid", account, status=after)
    result = data.master("account_quotas", accounts=broken)
    expected = getattr(data.plan, f"{check}_accounts")
    actual = expected + (1 if after.lower() == check else -1)
    assert_caught(result, check, f"{actual} != {expected}")
    only(result, check)


def test_segment_mix_is_caught(data: Data):
    accounts = data.frame(ACCOUNTS)
    account = _non_acme(accounts, segment="SMALL_BUSINESS").account_uuid
    broken = set_where(data.tables[ACCOUNTS], "account_uuid", account, segment="MID_MARKET")
    result = data.master("account_quotas", accounts=broken)
    assert_caught(result, "segment_small_business")
    assert_caught(result, "segment_mid_market")


def test_second_acme_corp_is_caught(data: Data):
    accounts = data.frame(ACCOUNTS)
    account = _non_acme(accounts, segment="ENTERPRISE").account_uuid
    broken = set_where(data.tables[ACCOUNTS], "account_uuid", account, name=ACME_NAME)
    result = data.master("account_quotas", accounts=broken)
    assert_caught(result, "acme_corp", ACME_NAME)
    only(result, "acme_corp")


def test_acme_corp_that_is_not_an_enterprise_is_caught(data: Data):
    broken = set_where(data.tables[ACCOUNTS], "name", ACME_NAME, segment="MID_MARKET")
    assert_caught(data.master("account_quotas", accounts=broken), "acme_corp")


def test_too_few_countries_is_caught(data: Data):
    broken = corrupt(data.tables[ACCOUNTS], lambda f: f.assign(country_code="US"))
    result = data.master("account_quotas", accounts=broken)
    assert_caught(result, "countries", "1 countries")
    only(result, "countries")


def test_missing_account_is_caught(data: Data):
    accounts = data.frame(ACCOUNTS)
    gone = _non_acme(accounts, status="ACTIVE", segment="ENTERPRISE").account_uuid
    broken = corrupt(data.tables[ACCOUNTS], lambda f: f[f.account_uuid != gone])
    result = data.master("account_quotas", accounts=broken)
    assert_caught(result, "rows", f"{data.plan.accounts - 1} != {data.plan.accounts}")


# --- contact_quotas ---------------------------------------------------------------------------------------------------


def _contact_counts(data: Data) -> pd.DataFrame:
    accounts = data.frame(ACCOUNTS).set_index("account_uuid")
    accounts["contacts"] = data.frame(CONTACTS).account_uuid.value_counts().reindex(accounts.index).fillna(0)
    return accounts


def _donor_contact(data: Data) -> str:
    """A contact of an account that can give one away and stay within the rules (not small, not Acme, ≥ 2)."""
    accounts = _contact_counts(data)
    donors = accounts[(accounts.segment != "SMALL_BUSINESS") & (accounts.name != ACME_NAME) & (accounts.contacts >= 2)]
    assert len(donors), "no account can give a contact away"
    contacts = data.frame(CONTACTS)
    return first(contacts, contacts.account_uuid == donors.index[0]).contact_uuid


def test_acme_with_a_sixth_contact_is_caught(data: Data):
    accounts = data.frame(ACCOUNTS)
    acme = first(accounts, accounts.name == ACME_NAME).account_uuid
    moved = set_where(data.tables[CONTACTS], "contact_uuid", _donor_contact(data), account_uuid=acme)
    result = data.master("contact_quotas", contacts=moved)
    assert_caught(result, "acme_contacts", ACME_NAME, f"[{data.plan.acme_contacts + 1}]", count=1)
    only(result, "acme_contacts")


def test_acme_with_a_contact_fewer_is_caught(data: Data):
    accounts = data.frame(ACCOUNTS)
    acme = first(accounts, accounts.name == ACME_NAME).account_uuid
    contacts = data.frame(CONTACTS)
    gone = first(contacts, contacts.account_uuid == acme).contact_uuid
    broken = corrupt(data.tables[CONTACTS], lambda f: f[f.contact_uuid != gone])
    assert_caught(data.master("contact_quotas", contacts=broken), "acme_contacts",
                  f"[{data.plan.acme_contacts - 1}]")


def test_small_business_with_a_second_contact_is_caught(data: Data):
    accounts = data.frame(ACCOUNTS)
    small = _non_acme(accounts, segment="SMALL_BUSINESS").account_uuid
    moved = set_where(data.tables[CONTACTS], "contact_uuid", _donor_contact(data), account_uuid=small)
    result = data.master("contact_quotas", contacts=moved)
    assert_caught(result, "small_business_exactly_one", small, count=1)
    only(result, "small_business_exactly_one")


def test_account_without_contacts_is_caught(data: Data):
    accounts = data.frame(ACCOUNTS)
    small = _non_acme(accounts, segment="SMALL_BUSINESS").account_uuid
    contacts = data.frame(CONTACTS)
    gone = first(contacts, contacts.account_uuid == small).contact_uuid
    broken = corrupt(data.tables[CONTACTS], lambda f: f[f.contact_uuid != gone])
    result = data.master("contact_quotas", contacts=broken)
    assert_caught(result, "every_account_has_contact", small, count=1)
    assert_caught(result, "small_business_exactly_one", small, count=1)
    assert_caught(result, "rows", f"{data.plan.contacts - 1} != {data.plan.contacts}")


# --- product_quotas ---------------------------------------------------------------------------------------------------


def test_product_type_mix_is_caught(data: Data):
    products = data.frame(PRODUCTS)
    product = first(products, (products.product_type == "FINISHED_GOOD") & (products.status == "ACTIVE"))
    broken = set_where(data.tables[PRODUCTS], "product_uuid", product.product_uuid, product_type="RAW_MATERIAL")
    result = data.master("product_quotas", products=broken)
    assert_caught(result, "type_finished_good", f"{data.plan.product_type_counts['FINISHED_GOOD'] - 1} != ")
    assert_caught(result, "type_raw_material", f"{data.plan.product_type_counts['RAW_MATERIAL'] + 1} != ")


def test_discontinued_quota_is_caught(data: Data):
    products = data.frame(PRODUCTS)
    product = first(products, products.status == "ACTIVE").product_uuid
    broken = set_where(data.tables[PRODUCTS], "product_uuid", product, status="DISCONTINUED")
    result = data.master("product_quotas", products=broken)
    assert_caught(result, "discontinued", f"{data.plan.discontinued_products + 1} != {data.plan.discontinued_products}")
    only(result, "discontinued")


@pytest.mark.parametrize("column", ["list_price", "unit_cost"])
def test_unpriced_product_is_caught(data: Data, column: str):
    products = data.frame(PRODUCTS)
    product = first(products, products.list_price < products.list_price.median()).product_uuid
    broken = set_where(data.tables[PRODUCTS], "product_uuid", product, **{column: 0.0})
    result = data.master("product_quotas", products=broken)
    assert_caught(result, "priced", product, count=1)
    only(result, "priced")


def test_missing_high_value_tail_is_caught(data: Data):
    products = data.frame(PRODUCTS)
    cap = float(products.list_price.median()) * 2
    broken = corrupt(data.tables[PRODUCTS], lambda f: f.assign(list_price=f.list_price.clip(upper=cap)))
    result = data.master("product_quotas", products=broken)
    assert_caught(result, "value_spread", "high-value")
    only(result, "value_spread")


# --- stock_rules ------------------------------------------------------------------------------------------------------


def _stocked_product(data: Data, warehouses: int | None = None) -> str:
    stock = data.frame(STOCK)
    per_product = stock.groupby("product_uuid").agg(n=("warehouse_uuid", "size"), on_hand=("quantity_on_hand", "min"))
    candidates = per_product[per_product.on_hand > 0]
    if warehouses is not None:
        candidates = candidates[candidates.n == warehouses]
    assert len(candidates), "no stocked product to corrupt"
    return candidates.index[0]


def test_product_in_only_two_warehouses_is_caught(data: Data):
    product = _stocked_product(data, warehouses=3)
    stock = data.frame(STOCK)
    dropped = first(stock, stock.product_uuid == product).warehouse_uuid
    broken = corrupt(data.tables[STOCK], lambda f: f[(f.product_uuid != product) | (f.warehouse_uuid != dropped)])
    result = data.master("stock_rules", stock=broken)
    assert_caught(result, "warehouses_per_product", product, count=1)
    only(result, "warehouses_per_product")


def test_unstocked_product_is_caught(data: Data):
    product = _stocked_product(data)
    broken = corrupt(data.tables[STOCK], lambda f: f[f.product_uuid != product])
    result = data.master("stock_rules", stock=broken)
    assert_caught(result, "warehouses_per_product", product, count=1)


def test_stocked_service_is_caught(data: Data):
    products = data.frame(PRODUCTS)
    service = first(products, products.product_type == "SERVICE").product_uuid

    def change(frame: pd.DataFrame) -> pd.DataFrame:
        row = frame.iloc[[0]].assign(product_uuid=service)
        return pd.concat([frame, row], ignore_index=True)
    result = data.master("stock_rules", stock=corrupt(data.tables[STOCK], change))
    assert_caught(result, "services_unstocked", service, count=1)
    only(result, "services_unstocked")


def test_extra_zero_stock_product_is_caught(data: Data):
    product = _stocked_product(data)
    products = data.frame(PRODUCTS).set_index("product_uuid")
    assert products.status[product] == "ACTIVE"
    broken = corrupt(data.tables[STOCK], lambda f: f.assign(
        quantity_on_hand=f.quantity_on_hand.where(f.product_uuid != product, 0),
        quantity_reserved=f.quantity_reserved.where(f.product_uuid != product, 0)))
    result = data.master("stock_rules", stock=broken)
    zero = data.plan.zero_stock_products
    assert_caught(result, "zero_stock_products", f"{zero + 1} != {zero}")
    assert_caught(result, "discontinued_or_zero_stock")


@pytest.mark.parametrize(("column", "value"), [("quantity_on_hand", -1), ("quantity_reserved", -1),
                                               ("quantity_on_hand", "below reserved")])
def test_negative_stock_is_caught(data: Data, column: str, value: object):
    stock = data.frame(STOCK)
    row = first(stock, (stock.quantity_on_hand > 10) & (stock.quantity_reserved > 0))
    new = row.quantity_reserved - 1 if value == "below reserved" else value

    def change(frame: pd.DataFrame) -> None:
        frame.loc[(frame.product_uuid == row.product_uuid) & (frame.warehouse_uuid == row.warehouse_uuid),
                  column] = new
    result = data.master("stock_rules", stock=corrupt(data.tables[STOCK], change))
    assert_caught(result, "never_negative", row.product_uuid, count=1)
    only(result, "never_negative")


# --- warehouse_quotas -------------------------------------------------------------------------------------------------


def test_missing_warehouse_is_caught(data: Data):
    warehouses = data.tables[WAREHOUSES]
    broken = warehouses.slice(1)
    result = data.master("warehouse_quotas", warehouses=broken)
    assert_caught(result, "rows", f"{data.plan.warehouses - 1} != {data.plan.warehouses}")
    if data.plan.warehouses == 5:
        assert_caught(result, "at_least_five", "fewer than 5")
