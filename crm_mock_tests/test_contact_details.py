"""Contact details that reach no one (scenario ``contact_details``): reserved domains, phones from the
ranges set aside for fiction, valid for libphonenumber, unique at every tier."""

from __future__ import annotations

import dataclasses
import re
from types import SimpleNamespace
from urllib.parse import urlsplit

import numpy as np
import phonenumbers
import pyarrow as pa
import pytest
from email_validator import validate_email
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import EmailStr, TypeAdapter

from crm_mock.edge_cases.catalog import DOMAIN_TAILS, load_catalog
from crm_mock.generate import GENERATORS, project_replica
from crm_mock.generate.contact import cached_account_plan, contact_accounts
from crm_mock.generate.phone_plans import FICTIONAL, ORDINARY, NumberBlock
from crm_mock.generate.phones import country_numbers, number_space, permute, permute_rows, phone_numbers, slots_by_group
from crm_mock.model import CATALOG
from crm_mock.scenario import ScenarioError, TierPlan, load_scenario, parse_scenario, plan_tier
from crm_mock.scenario.spec import DEFAULT_SCENARIO

MODES = ("reserved", "realistic")
ADDRESS_COLUMNS = ("email", "website")
EMAIL = TypeAdapter(EmailStr)
Tables = dict[str, pa.Table]


def _tables_with_addresses() -> list[str]:
    return [t.qualified_name for t in CATALOG if any(c.name in ADDRESS_COLUMNS for c in t.columns)]


def _generate(plan: TierPlan) -> Tables:
    """Every table holding an e-mail or a website, replicas projected from their master."""
    tables: Tables = {}
    for name in _tables_with_addresses():
        model = CATALOG[name]
        if model.replica_of:
            master = model.replica_of.master
            tables.setdefault(master, GENERATORS[master](plan))
            tables[name] = project_replica(name, tables[master])
        else:
            tables.setdefault(name, GENERATORS[name](plan))
    tables.setdefault("contact.contacts", GENERATORS["contact.contacts"](plan))
    tables.setdefault("contact.accounts", GENERATORS["contact.accounts"](plan))
    return tables


def _staging(mode: str) -> Tables:
    return _generate(dataclasses.replace(plan_tier(load_scenario(), "staging"), contact_details=mode))


@pytest.fixture(scope="module")
def reserved() -> Tables:
    return _staging("reserved")


@pytest.fixture(scope="module")
def realistic() -> Tables:
    return _staging("realistic")


@pytest.fixture(scope="module", params=MODES)
def staging(request: pytest.FixtureRequest) -> tuple[str, Tables]:
    return request.param, request.getfixturevalue(request.param)


def _host(column: str, value: str) -> str:
    return value.rsplit("@", 1)[1] if column == "email" else urlsplit(value).hostname


def _addresses(tables: Tables):
    for name, table in tables.items():
        for column in ADDRESS_COLUMNS:
            if column in table.column_names:
                for value in table.column(column).to_pylist():
                    if value is not None:
                        yield name, column, value


# ---------------------------------------------------------------- the scenario setting


def test_reserved_is_the_default():
    assert load_scenario().contact_details == "reserved"
    data = load_scenario().model_dump(mode="json")
    del data["contact_details"]
    assert parse_scenario(data).contact_details == "reserved"
    assert "contact_details: reserved" in DEFAULT_SCENARIO.read_text(encoding="utf-8")


def test_an_unknown_mode_is_refused_naming_the_field():
    data = load_scenario().model_dump(mode="json") | {"contact_details": "real"}
    with pytest.raises(ScenarioError, match="contact_details"):
        parse_scenario(data)


def test_the_plan_carries_the_mode():
    data = load_scenario().model_dump(mode="json") | {"contact_details": "realistic"}
    assert plan_tier(parse_scenario(data), "staging").contact_details == "realistic"


# ---------------------------------------------------------------- e-mail and web domains


def test_reserved_mode_puts_every_domain_under_example(reserved: Tables):
    tables = reserved
    seen = {(name, column) for name, column, _ in _addresses(tables)}
    assert {("contact.accounts", "website"), ("contact.contacts", "email"), ("hr.employees", "email"),
            ("sales.leads", "email"), ("sales.employee_replica", "email")} <= seen
    outside = [(name, value) for name, column, value in _addresses(tables)
               if _host(column, value).rsplit(".", 1)[-1] != "example"]
    assert outside == []


def test_reserved_domains_keep_company_and_country_readable(reserved: Tables):
    accounts = reserved["contact.accounts"].to_pandas()
    german = accounts[(accounts.country_code == "DE") & ~accounts.website.str.contains("long-subdomain")]
    assert len(german) and german.website.str.endswith(".de.example").all()


def test_every_email_passes_email_validator_and_pydantic(staging: tuple[str, Tables]):
    _, tables = staging
    emails = [value for _, column, value in _addresses(tables) if column == "email"]
    assert len(emails) > 5000
    for email in emails:
        EMAIL.validate_python(email)
        validate_email(email, check_deliverability=False)


def test_realistic_mode_keeps_real_looking_domains(realistic: Tables):
    websites = realistic["contact.accounts"].column("website").to_pylist()
    under_example = [w for w in websites if urlsplit(w).hostname.endswith(".example")]
    assert len(under_example) <= 3  # Acme Corp's and the planted cases
    assert any(urlsplit(w).hostname.endswith(".co.uk") for w in websites)


@pytest.mark.parametrize("mode", MODES)
def test_planted_addresses_obey_the_mode(mode: str):
    cases = [c for c in load_catalog() if c.column in ADDRESS_COLUMNS and c.boundary]
    assert {c.column for c in cases} == set(ADDRESS_COLUMNS)
    for case in cases:
        text = case.text(mode)
        assert len(text) == CATALOG[case.table].column(case.column).max_length
        host = _host(case.column, text)
        assert host.endswith(DOMAIN_TAILS[mode]) and "" not in host.split(".")
        if case.column == "email":
            EMAIL.validate_python(text)


# ---------------------------------------------------------------- phone numbers


def _phones_with_country(tables: Tables) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    accounts = tables["contact.accounts"]
    country = dict(zip(accounts.column("account_uuid").to_pylist(), accounts.column("country_code").to_pylist()))
    contacts = tables["contact.contacts"]
    return (list(zip(accounts.column("phone").to_pylist(), accounts.column("country_code").to_pylist())),
            [(p, country[a]) for p, a in zip(contacts.column("phone").to_pylist(),
                                                contacts.column("account_uuid").to_pylist())])


def _valid_share(phones: list[tuple[str, str]]) -> float:
    valid = 0
    for phone, country in phones:
        try:
            valid += phonenumbers.is_valid_number_for_region(phonenumbers.parse(phone, country), country)
        except phonenumbers.NumberParseException:
            pass
    return valid / len(phones)


def test_phones_are_valid_for_the_account_country(staging: tuple[str, Tables]):
    accounts, contacts = _phones_with_country(staging[1])
    assert _valid_share(accounts) >= 0.95
    assert _valid_share(contacts) >= 0.95


def test_no_two_contacts_or_accounts_share_a_phone(staging: tuple[str, Tables]):
    accounts, contacts = _phones_with_country(staging[1])
    for phones in ([p for p, _ in accounts], [p for p, _ in contacts]):
        assert len(set(phones)) == len(phones)
    # the max-length plant is one value in both tables; every generated number is distinct across them
    planted = {c.text(staging[0]) for c in load_catalog() if c.column == "phone"}
    generated = [p for p, _ in accounts + contacts if p not in planted]
    assert len(set(generated)) == len(generated) == len(accounts) + len(contacts) - 2


def _block_pattern(block: NumberBlock) -> re.Pattern:
    return re.compile(re.escape(block.template).replace("\\#", "#").replace("#", r"(\d)") + "$")


def _in_block(number: str, block: NumberBlock) -> bool:
    match = _block_pattern(block).match(number)
    return bool(match) and block.first <= int("".join(match.groups())) < block.first + block.size


def test_reserved_phones_come_from_the_fictional_ranges(reserved: Tables):
    accounts, contacts = _phones_with_country(reserved)
    planted = {c.text("reserved") for c in load_catalog() if c.column == "phone"}
    checked = 0
    for phone, country in accounts + contacts:
        if country in FICTIONAL and phone not in planted:
            assert any(_in_block(phone, b) for b in FICTIONAL[country]), (country, phone)
            checked += 1
    assert checked > 1000


@pytest.mark.parametrize("mode", MODES)
def test_every_number_block_is_valid_at_both_ends(mode: str):
    for country in ORDINARY:
        space = number_space(country, mode)
        ends = np.concatenate([space.starts, np.append(space.starts[1:], space.size) - 1])
        invalid = [n for n in space.render(ends)
                   if not phonenumbers.is_valid_number_for_region(phonenumbers.parse(n, country), country)]
        assert invalid == [], country


def test_number_rendering_follows_the_block_template():
    block = NumberBlock("+46 70 174 06 ##", first=5, count=95)
    assert _in_block("+46 70 174 06 05", block) and _in_block("+46 70 174 06 99", block)
    assert not _in_block("+46 70 174 06 04", block)
    space = number_space("SE", "reserved")
    assert list(space.render(np.array([0, 94, 95]))) == ["+46 70 174 06 05", "+46 70 174 06 99", "+46 8 465 004 00"]


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 5000), key=st.integers(0, 2**63))
def test_permute_is_a_bijection(size: int, key: int):
    keys = np.array([key, key ^ 0x5555, key + 1, 7], dtype=np.uint64)
    assert np.array_equal(np.sort(permute(np.arange(size), size, keys)), np.arange(size))


def _one_by_one(value: int, size: int, keys: list[int]) -> int:
    """The Feistel network with cycle walking, for one value in plain integers: the definition the
    vectorised permutation must match (the data depends on it)."""
    half = max(1, ((size - 1).bit_length() + 1) // 2)
    mask, m64 = (1 << half) - 1, (1 << 64) - 1

    def mix(z: int) -> int:
        z = ((z ^ (z >> 33)) * 0xFF51AFD7ED558CCD) & m64
        z = ((z ^ (z >> 33)) * 0xC4CEB9FE1A85EC53) & m64
        return z ^ (z >> 33)

    while True:
        left, right = value >> half, value & mask
        for key in keys:
            left, right = right, left ^ (mix(right ^ key) & mask)
        value = (left << half) | right
        if value < size:
            return value


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(1, 3000), st.integers(0, 2**64 - 1)), min_size=1, max_size=30),
       picks=st.integers(0, 2**32))
def test_rows_of_many_ranges_permute_as_each_would_alone(rows: list[tuple[int, int]], picks: int):
    sizes = np.array([size for size, _ in rows], dtype=np.int64)
    values = np.array([(picks * (i + 7)) % size for i, (size, _) in enumerate(rows)], dtype=np.int64)
    keys = np.array([[key, key ^ 0x5555, (key + 1) % 2**64, 7] for _, key in rows], dtype=np.uint64)
    expected = [_one_by_one(int(v), int(n), [int(k) for k in ks]) for v, n, ks in zip(values, sizes, keys)]
    assert permute_rows(values, sizes, keys).tolist() == expected


def test_slots_number_each_group_from_zero():
    groups = np.array([2, 1, 2, 0, 1, 2])
    assert list(slots_by_group(groups)) == [0, 0, 1, 0, 1, 2]
    assert list(slots_by_group(groups, np.array([3, 1, 4, 1, 5, 9]))) == [0, 0, 3, 0, 1, 7]


def test_more_rows_than_fictional_numbers_wrap_round_with_an_extension():
    size = number_space("SE", "reserved").size
    numbers = country_numbers(1, "SE", np.arange(3 * size), "reserved")
    assert len(set(numbers)) == 3 * size
    assert not any(" ext. " in n for n in numbers[:size])
    bases = [n.split(" ext. ")[0] for n in numbers[size:]]
    assert all(any(_in_block(b, block) for block in FICTIONAL["SE"]) for b in bases)
    assert {n.split(" ext. ")[1] for n in numbers[size:]} == {"101", "102"}


def test_numbers_depend_on_seed_and_slot_only():
    slots = np.arange(500)
    assert list(country_numbers(1, "DE", slots, "reserved")) == list(country_numbers(1, "DE", slots, "reserved"))
    assert list(country_numbers(1, "DE", slots[250:], "reserved")) == list(country_numbers(1, "DE", slots, "reserved")[250:])
    assert list(country_numbers(2, "DE", slots, "reserved")) != list(country_numbers(1, "DE", slots, "reserved"))


@pytest.mark.parametrize("mode", MODES)
def test_phones_stay_unique_at_the_load_tier(mode: str):
    """The load tier's 50,000 accounts and 200,000 contacts get distinct numbers, numbered from the
    plan alone (no table generated)."""
    plan = plan_tier(load_scenario(), "load")
    accounts = cached_account_plan(plan)
    account = contact_accounts(accounts, 0, plan.contacts)
    contact_slots = accounts.contact_phone_slot[account] + np.arange(plan.contacts) - accounts.contact_offsets[account]
    country = np.concatenate([accounts.country, accounts.country[account]])
    slots = np.concatenate([accounts.phone_slot, contact_slots])
    for c in range(len(accounts.countries)):  # each country's slots are 0, 1, 2, … without gaps
        assert np.array_equal(np.sort(slots[country == c]), np.arange(int((country == c).sum())))
    numbers = phone_numbers(plan.seed, accounts.countries, country, slots, mode)
    assert len(numbers) == 250_000 and len(set(numbers.to_pylist())) == len(numbers)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=40), st.data())
def test_a_range_of_contacts_finds_the_accounts_a_search_per_contact_finds(contacts_per_account: list[int], data):
    """Accounts without contacts included: the repeat over a range agrees with the per-row search."""
    offsets = np.concatenate([[0], np.cumsum(contacts_per_account)[:-1]]).astype(np.int64)
    plan = SimpleNamespace(contact_offsets=offsets)
    total = int(sum(contacts_per_account))
    start = data.draw(st.integers(0, total))
    stop = data.draw(st.integers(start, total))
    expected = np.searchsorted(offsets, np.arange(start, stop), side="right") - 1
    assert contact_accounts(plan, start, stop).tolist() == expected.tolist()
