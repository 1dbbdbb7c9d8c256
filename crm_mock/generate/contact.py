"""contact.accounts and contact.contacts: the CRM master data."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from crm_mock.edge_cases.planting import GOLDEN_HOLD_ACCOUNT, leap_day_moment, plant_cells, rows_per_case
from crm_mock.generate.frame import Block, assemble, blocks_of, build_table, concat
from crm_mock.generate.hr import employee_plan, employee_uuids
from crm_mock.generate.ids import derive_uuids, uuids_at
from crm_mock.generate.memo import memoised
from crm_mock.generate.phones import phone_numbers, slots_by_group
from crm_mock.generate.pools import CONTACT_TITLES, CountryPools, web_domains
from crm_mock.generate.random import Stream
from crm_mock.generate.timeline import SECONDS_PER_DAY, moment, moments_between
from crm_mock.model import vocabularies as v
from crm_mock.scenario import ACME_ACCOUNT_INDEX, ACME_NAME, TierPlan

ACCOUNTS = "contact.accounts"
CONTACTS = "contact.contacts"
ACCOUNT_ENTITY = "account"
CONTACT_ENTITY = "contact"
ACME_DOMAIN = "acme-corp.example"
ACME_COUNTRY = "US"
SEGMENT = {name: i for i, name in enumerate(v.ACCOUNT_SEGMENT)}
STATUS = {name: i for i, name in enumerate(v.ACCOUNT_STATUS)}


@dataclass(frozen=True)
class AccountPlan:
    """Per-account facts that contacts and later tables depend on."""

    countries: tuple[str, ...]
    segment: np.ndarray  # index into v.ACCOUNT_SEGMENT
    status: np.ndarray  # index into v.ACCOUNT_STATUS
    country: np.ndarray  # index into countries
    company: np.ndarray  # index into CountryPools "companies"/"domains"
    created_at: np.ndarray  # datetime64[s]
    owner: np.ndarray  # employee index of the sales rep who owns the account
    contact_counts: np.ndarray
    contact_offsets: np.ndarray  # first contact row of each account
    edges: dict[str, int]  # edge-case name -> account index planted for it
    contact_details: str  # the scenario's mode: "reserved" or "realistic"
    # places in the country's phone numbers (see phones.py): each account's own, then, after all the
    # country's accounts, the place of each account's first contact (its others follow in order)
    phone_slot: np.ndarray
    contact_phone_slot: np.ndarray

    def names(self, pools: CountryPools, accounts: np.ndarray) -> np.ndarray:
        names = pools.values("companies")[self.company[accounts]]
        names[accounts == ACME_ACCOUNT_INDEX] = ACME_NAME
        return names

    def domains(self, pools: CountryPools, accounts: np.ndarray) -> np.ndarray:
        domains = web_domains(pools.values("domains")[self.company[accounts]], self.contact_details)
        domains[accounts == ACME_ACCOUNT_INDEX] = ACME_DOMAIN
        return domains


def account_uuids(plan: TierPlan, indices) -> pa.StringArray:
    return uuids_at(plan.ids, ACCOUNT_ENTITY, indices)


def _exact_assignment(rng: Stream, n: int, counts: list[int]) -> np.ndarray:
    """Kind index per row with exactly ``counts[k]`` rows of kind k, in random order."""
    kinds = np.repeat(np.arange(len(counts)), counts)
    return kinds[rng.permutation(n)]


def account_plan(plan: TierPlan) -> AccountPlan:
    n = plan.accounts
    countries = tuple(plan.country_shares)
    pools = CountryPools(plan.seed, countries)
    assign = Stream(plan.seed, ACCOUNTS, "assign")

    # exact segment counts; Acme Corp (account 0) is one of the enterprises
    counts = dict(plan.segment_counts)
    counts["ENTERPRISE"] -= 1
    segment = np.empty(n, dtype=np.int64)
    segment[ACME_ACCOUNT_INDEX] = SEGMENT["ENTERPRISE"]
    segment[1:] = _exact_assignment(assign, n - 1, [counts[s] for s in v.ACCOUNT_SEGMENT])

    # Finance decides the credit holds; Contact's ON_HOLD is the synced copy. SUSPENDED is Contact's own.
    status = np.full(n, STATUS["ACTIVE"], dtype=np.int64)
    held = credit_hold_accounts(plan)
    status[held] = STATUS["ON_HOLD"]
    others = 1 + assign.permutation(n - 1)
    others = others[status[others] == STATUS["ACTIVE"]]
    status[others[:plan.suspended_accounts]] = STATUS["SUSPENDED"]
    rest = others[plan.suspended_accounts:]
    status[rest[assign.bernoulli(plan.realism.closed_account_share, len(rest))]] = STATUS["CLOSED"]

    country = np.empty(n, dtype=np.int64)
    company = np.empty(n, dtype=np.int64)
    created_at = np.empty(n, dtype="datetime64[s]")
    owner = np.empty(n, dtype=np.int64)
    owners = employee_plan(plan).active_in("SALES")
    reference = moment(plan.reference_moment)
    history_start = reference - np.timedelta64(plan.realism.account_history_years * 365 * SECONDS_PER_DAY, "s")
    newest = reference - np.timedelta64(30 * SECONDS_PER_DAY, "s")
    for block in blocks_of(n, plan.block_rows):
        rng = Stream(plan.seed, ACCOUNTS, "plan", block=block.index)
        c = rng.choice(block.size, list(plan.country_shares.values()))
        country[block.start:block.stop] = c
        company[block.start:block.stop] = pools.index("companies", c, rng.uniform(block.size))
        created_at[block.start:block.stop] = moments_between(history_start, newest, rng.uniform(block.size))
        owner[block.start:block.stop] = owners[np.floor(rng.uniform(block.size) * len(owners)).astype(np.int64)]
    if ACME_COUNTRY in countries:
        country[ACME_ACCOUNT_INDEX] = countries.index(ACME_COUNTRY)
    created_at[[ACME_ACCOUNT_INDEX, GOLDEN_HOLD_ACCOUNT]] = history_start  # the golden accounts are the oldest
    edges = _account_edges(plan, status, created_at)

    contact_counts = _contact_counts(plan, segment)
    offsets = np.concatenate([[0], np.cumsum(contact_counts)[:-1]])
    accounts_in_country = np.bincount(country, minlength=len(countries))
    return AccountPlan(countries, segment, status, country, company, created_at, owner, contact_counts, offsets,
                       edges, plan.contact_details, phone_slot=slots_by_group(country),
                       contact_phone_slot=accounts_in_country[country] + slots_by_group(country, contact_counts))


def _account_edges(plan: TierPlan, status: np.ndarray, created_at: np.ndarray) -> dict[str, int]:
    """Accounts for the edge cases: one created on a leap day, one that never buys (both ACTIVE)."""
    if rows_per_case(plan) == 0:
        return {}
    leap = leap_day_moment(plan)
    order = Stream(plan.seed, "edge_cases", ACCOUNTS, "business").permutation(plan.accounts)
    active = [int(i) for i in order if status[i] == STATUS["ACTIVE"] and i > GOLDEN_HOLD_ACCOUNT]
    edges = {}
    later = [i for i in active if created_at[i] > leap]
    if later:
        edges["leap_day_account"] = later[0]
        created_at[later[0]] = leap  # moving a creation earlier keeps every later event after it
    rest = [i for i in active if i not in edges.values()]
    if rest:
        edges["account_without_orders"] = rest[0]
    return edges


def credit_hold_accounts(plan: TierPlan) -> np.ndarray:
    """The accounts Finance has put on credit hold: the golden credit-hold account, then others (never
    Acme Corp, account 0)."""
    picks = Stream(plan.seed, "finance.customer_accounts", "credit_holds").permutation(plan.accounts - 2)
    return np.concatenate([[GOLDEN_HOLD_ACCOUNT], 2 + picks[:plan.on_hold_accounts - 1]]).astype(np.int64)


def cached_account_plan(plan: TierPlan) -> AccountPlan:
    return memoised("accounts", plan, account_plan)


def _contact_counts(plan: TierPlan, segment: np.ndarray) -> np.ndarray:
    """Exactly plan.contacts in all: 1 per small business, Acme's fixed number, the rest skewed large."""
    r = plan.realism
    minimum = np.select(
        [segment == SEGMENT["SMALL_BUSINESS"], segment == SEGMENT["MID_MARKET"]],
        [1, r.contacts_min_mid_market], r.contacts_min_enterprise,
    ).astype(np.int64)
    minimum[ACME_ACCOUNT_INDEX] = plan.acme_contacts
    weight = np.select([segment == SEGMENT["SMALL_BUSINESS"], segment == SEGMENT["MID_MARKET"]],
                       [0.0, 1.0], r.enterprise_contact_weight)
    weight[ACME_ACCOUNT_INDEX] = 0.0
    remainder = plan.contacts - int(minimum.sum())
    extra = np.zeros_like(minimum)
    if remainder:
        picks = Stream(plan.seed, CONTACTS, "per_account").choice(remainder, weight)
        extra = np.bincount(picks, minlength=len(segment))
    return minimum + extra


def _account_block(plan: TierPlan, accounts: AccountPlan, block: Block) -> pa.Table:
    rng = Stream(plan.seed, ACCOUNTS, "rows", block=block.index)
    n, rows = block.size, slice(block.start, block.stop)
    pools = CountryPools(plan.seed, accounts.countries)
    country = accounts.country[rows]
    address = pools.index("streets", country, rng.uniform(n))  # street, city and postcode travel together
    return build_table(ACCOUNTS, {
        "account_uuid": derive_uuids(plan.ids, ACCOUNT_ENTITY, block.start, block.stop),
        "name": accounts.names(pools, np.arange(block.start, block.stop)),
        "segment": np.array(v.ACCOUNT_SEGMENT, dtype=object)[accounts.segment[rows]],
        "industry": np.array(v.INDUSTRY, dtype=object)[rng.integers(0, len(v.INDUSTRY), n)],
        "status": np.array(v.ACCOUNT_STATUS, dtype=object)[accounts.status[rows]],
        "street": pools.values("streets")[address],
        "city": pools.values("cities")[address],
        "postal_code": pools.values("postcodes")[address],
        "country_code": np.array(accounts.countries, dtype=object)[country],
        "phone": phone_numbers(plan.seed, accounts.countries, country, accounts.phone_slot[rows],
                               plan.contact_details),
        "website": concat("https://www.", accounts.domains(pools, np.arange(block.start, block.stop))),
        "owner_employee_uuid": employee_uuids(plan, accounts.owner[rows]),
        "created_at": accounts.created_at[rows],
    })


def generate_accounts(plan: TierPlan, blocks: Iterable[int] | None = None) -> pa.Table:
    accounts = cached_account_plan(plan)
    return assemble(lambda b: plant_cells(plan, ACCOUNTS, b.start, _account_block(plan, accounts, b)),
                    plan.accounts, plan.block_rows, blocks)


def contact_accounts(accounts: AccountPlan, start: int, stop: int) -> np.ndarray:
    """The account index of contact rows start..stop-1 (contacts are laid out account by account)."""
    return np.searchsorted(accounts.contact_offsets, np.arange(start, stop), side="right") - 1


def _contact_block(plan: TierPlan, accounts: AccountPlan, block: Block) -> pa.Table:
    rng = Stream(plan.seed, CONTACTS, "rows", block=block.index)
    n = block.size
    pools = CountryPools(plan.seed, accounts.countries)
    account = contact_accounts(accounts, block.start, block.stop)
    country = accounts.country[account]
    first = pools.index("first_names", country, rng.uniform(n))
    last = pools.index("last_names", country, rng.uniform(n))
    email = concat(pools.values("first_ascii")[first], ".", pools.values("last_ascii")[last], "@",
                   accounts.domains(pools, account))
    titles = np.array(CONTACT_TITLES, dtype=object)[rng.integers(0, len(CONTACT_TITLES), n)]
    titles[rng.bernoulli(0.1, n)] = None
    return build_table(CONTACTS, {
        "contact_uuid": derive_uuids(plan.ids, CONTACT_ENTITY, block.start, block.stop),
        "account_uuid": account_uuids(plan, account),
        "first_name": pools.values("first_names")[first],
        "last_name": pools.values("last_names")[last],
        "email": email,
        "phone": phone_numbers(plan.seed, accounts.countries, country,
                               contact_phone_slots(accounts, account, block), plan.contact_details),
        "job_title": titles,
        "created_at": contact_created_at(plan, accounts, np.arange(block.start, block.stop)),
    })


def contact_phone_slots(accounts: AccountPlan, account: np.ndarray, block: Block) -> np.ndarray:
    """Each contact's place in its country's phone numbers: its account's first, plus its position."""
    return accounts.contact_phone_slot[account] + np.arange(block.start, block.stop) - accounts.contact_offsets[account]


def contact_created_at(plan: TierPlan, accounts: AccountPlan, contacts: np.ndarray) -> np.ndarray:
    """When each contact was created: after its account, most soon after. Tickets read it too, so it
    has its own stream per block of contacts and any contact's moment can be derived alone."""
    contacts = np.asarray(contacts, dtype=np.int64)
    u = np.empty(len(contacts))
    blocks = contacts // plan.block_rows
    for b in np.unique(blocks):
        size = min(plan.block_rows, plan.contacts - b * plan.block_rows)
        draws = Stream(plan.seed, CONTACTS, "created", block=int(b)).uniform(size)
        mask = blocks == b
        u[mask] = draws[contacts[mask] - b * plan.block_rows]
    account = contact_accounts(accounts, 0, plan.contacts)[contacts] if len(contacts) else contacts
    return moments_between(accounts.created_at[account], moment(plan.reference_moment), u ** 3)


def generate_contacts(plan: TierPlan, blocks: Iterable[int] | None = None) -> pa.Table:
    accounts = cached_account_plan(plan)
    return assemble(lambda b: plant_cells(plan, CONTACTS, b.start, _contact_block(plan, accounts, b)),
                    plan.contacts, plan.block_rows, blocks)
