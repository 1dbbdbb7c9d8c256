"""contact.accounts and contact.contacts: the CRM master data."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crm_mock.generate.account_layout import (
    ACCOUNTS, ACME_COUNTRY, CONTACTS, contact_counts, countries_of_block, segments,
)
from crm_mock.generate.companies import Companies, compose, distinct, slug
from crm_mock.generate.frame import Block, Blocks, blocked, blocks_of, build_table, join_strings
from crm_mock.generate.hr import cached_employee_plan, employee_uuids
from crm_mock.generate.ids import derive_uuids, uuids_at
from crm_mock.generate.memo import memoised
from crm_mock.generate.phones import phone_numbers, slots_by_group
from crm_mock.generate.planting import (
    GOLDEN_HOLD_ACCOUNT, Plant, leap_day_moment, plant_cells, planted_cells, rows_per_case,
)
from crm_mock.generate.pools import CONTACT_TITLES, RESERVED_DOMAIN_SUFFIX, CountryPools, ascii_slug, web_domains
from crm_mock.generate.random import Stream
from crm_mock.generate.timeline import SECONDS_PER_DAY, moment, moments_between
from crm_mock.model import vocabularies as v
from crm_mock.scenario import ACME_ACCOUNT_INDEX, ACME_NAME, TierPlan

ACCOUNT_ENTITY = "account"
CONTACT_ENTITY = "contact"
ACME_SLUG = "acme-corp"
ACME_DOMAIN = ACME_SLUG + RESERVED_DOMAIN_SUFFIX
# how long ago suspensions and credit holds began (days); the golden held account's orders are older
HOLD_DAYS_AGO = (30, 95)
CLOSED_AT_LEAST_DAYS_AGO = 30
MAX_NAME_IN_ADDRESS = 30  # a planted long name keeps the address's local part within RFC 5321's 64
# a prime larger than any name pool's pairs: stepping by it visits every (first, last) pair once
NAME_PAIR_STRIDE = 1_000_003
STATUS = {name: i for i, name in enumerate(v.ACCOUNT_STATUS)}


@dataclass(frozen=True)
class AccountPlan:
    """Per-account facts that contacts and later tables depend on."""

    countries: tuple[str, ...]
    segment: np.ndarray  # index into v.ACCOUNT_SEGMENT
    status: np.ndarray  # index into v.ACCOUNT_STATUS
    country: np.ndarray  # index into countries
    industry: np.ndarray  # index into v.INDUSTRY
    address: np.ndarray  # index into CountryPools "streets"/"cities"/"regions"/"postcodes"
    # distinct company names, and web domains in the scenario's contact_details mode: Arrow strings, not Python ones,
    # so a step reading the plan from its file maps them (as objects they cost 130 MB at the stress tier)
    name: pa.StringArray
    domain: pa.StringArray
    currency: np.ndarray  # object: ISO 4217 code
    created_at: np.ndarray  # datetime64[s]
    # when the account stopped buying (closed, suspended or put on credit hold); NaT while it buys
    inactive_since: np.ndarray
    owner: np.ndarray  # employee index of the sales rep who owns the account
    contact_counts: np.ndarray
    contact_offsets: np.ndarray  # first contact row of each account
    plants: tuple[Plant, ...]  # the edge-case accounts
    golden: tuple[Plant, ...]  # Acme Corp with its contacts, and the golden credit-hold account
    contact_details: str  # the scenario's mode: "reserved" or "realistic"
    # places in the country's phone numbers (see phones.py): each account's own, then, after all the
    # country's accounts, the place of each account's first contact (its others follow in order)
    phone_slot: np.ndarray
    contact_phone_slot: np.ndarray

    @property
    def edges(self) -> dict[str, int]:
        """Edge-case name -> the account planted for it."""
        return {p.case_id: p.row for p in self.plants}

    def names(self, accounts: np.ndarray) -> np.ndarray:
        """The accounts' names, an object array of str."""
        return self.name.take(np.asarray(accounts, dtype=np.int64)).to_numpy(zero_copy_only=False)

    @cached_property
    def arrow_currencies(self) -> pa.StringArray:
        return pa.array(self.currency, pa.string())

    def domains(self, accounts: np.ndarray) -> np.ndarray:
        return self.domain.take(np.asarray(accounts, dtype=np.int64)).to_numpy(zero_copy_only=False)

    def buying(self, accounts: np.ndarray, at: np.ndarray) -> np.ndarray:
        """Whether each account existed and still bought at the moment ``at``."""
        stop = self.inactive_since[accounts]
        return (self.created_at[accounts] <= at) & (np.isnat(stop) | (at < stop))


def account_uuids(plan: TierPlan, indices) -> pa.StringArray:
    return uuids_at(plan.ids, ACCOUNT_ENTITY, indices)


def account_plan(plan: TierPlan) -> AccountPlan:
    n = plan.accounts
    countries = tuple(plan.country_shares)
    pools = CountryPools(plan.seed, countries)
    assign = Stream(plan.seed, ACCOUNTS, "assign")
    segment = segments(plan, assign)

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
    industry = np.empty(n, dtype=np.int64)
    address = np.empty(n, dtype=np.int64)
    created_at = np.empty(n, dtype="datetime64[s]")
    owner_u = np.empty(n)
    name_u = np.empty((n, 5))
    reference = moment(plan.reference_moment)
    history_start = reference - np.timedelta64(plan.realism.account_history_years * 365 * SECONDS_PER_DAY, "s")
    newest = reference - np.timedelta64(30 * SECONDS_PER_DAY, "s")
    industries = [v.INDUSTRY.index(i) for i in plan.industry_shares]
    for block in blocks_of(n, plan.block_rows):
        rng = Stream(plan.seed, ACCOUNTS, "plan", block=block.index)
        rows = slice(block.start, block.stop)
        c = countries_of_block(plan, block, rng)
        country[rows] = c
        address[rows] = pools.index("streets", c, rng.uniform(block.size))  # street, city, postcode together
        created_at[rows] = moments_between(history_start, newest, rng.uniform(block.size))
        owner_u[rows] = rng.uniform(block.size)
        names = Stream(plan.seed, ACCOUNTS, "names", block=block.index)
        industry[rows] = np.array(industries)[names.choice(block.size, list(plan.industry_shares.values()))]
        name_u[rows] = names.uniform(block.size * 5).reshape(block.size, 5)
    if ACME_COUNTRY in countries:
        country[ACME_ACCOUNT_INDEX] = countries.index(ACME_COUNTRY)
        address[ACME_ACCOUNT_INDEX] = pools.index("streets", country[[ACME_ACCOUNT_INDEX]], name_u[[0], 0])[0]
    created_at[[ACME_ACCOUNT_INDEX, GOLDEN_HOLD_ACCOUNT]] = history_start  # the golden accounts are the oldest
    plants = _account_edges(plan, status, created_at)
    # the sales rep hired by then owns it (a few months' margin: the lead that became it came first)
    owner = cached_employee_plan(plan).pick("SALES", created_at - np.timedelta64(90 * SECONDS_PER_DAY, "s"), owner_u)
    companies = distinct(compose(pools, country, industry, pools.values("cities")[address], name_u),
                         countries, country, reserved=(ACME_SLUG,))
    name, domain = _names_and_domains(plan, companies, countries, country)
    currency = np.array([plan.commercial.currency_by_country[c] for c in countries], dtype=object)[country]

    counts = contact_counts(plan, segment)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    accounts_in_country = np.bincount(country, minlength=len(countries))
    return AccountPlan(countries, segment, status, country, industry, address, name, domain, currency, created_at,
                       _inactive_since(plan, status, created_at, held), owner, counts, offsets,
                       plants, _golden_plants(plan, offsets), plan.contact_details,
                       phone_slot=slots_by_group(country),
                       contact_phone_slot=accounts_in_country[country] + slots_by_group(country, counts))


def _names_and_domains(plan: TierPlan, companies: Companies, countries: tuple[str, ...],
                       country: np.ndarray) -> tuple[pa.StringArray, pa.StringArray]:
    """Names and web domains; an account whose name is planted (an edge case) has the domain that name
    makes, so its website and its people's e-mail addresses read as the same company."""
    name = companies.name.copy()
    codes = np.array(countries, dtype=object)[country]
    labels = companies.domain_slug.copy()
    taken = set(labels)
    for row, (_, value) in sorted(planted_cells(plan).get(ACCOUNTS, {}).get("name", {}).items()):
        label = slug(value) or "company"
        labels[row] = label if label not in taken else f"{label}-{row}"
        taken.add(labels[row])
    domain = web_domains(labels, codes, plan.contact_details)
    name[ACME_ACCOUNT_INDEX], domain[ACME_ACCOUNT_INDEX] = ACME_NAME, ACME_DOMAIN
    return pa.array(name, pa.string()), pa.array(domain, pa.string())


def _inactive_since(plan: TierPlan, status: np.ndarray, created_at: np.ndarray, held: np.ndarray) -> np.ndarray:
    """When each account stopped buying: a closed account when it closed (any time after its first months),
    a suspended or held one when the suspension or hold began (one to three months ago, so neither has
    ordered lately); NaT while it buys."""
    rng = Stream(plan.seed, ACCOUNTS, "inactive_since")
    n = len(status)
    reference = moment(plan.reference_moment)
    since = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    u = rng.uniform(n)
    days = HOLD_DAYS_AGO[0] + np.floor(u * (HOLD_DAYS_AGO[1] - HOLD_DAYS_AGO[0]))
    recent = reference - (SECONDS_PER_DAY * days).astype(np.int64).astype("timedelta64[s]")
    paused = (status == STATUS["SUSPENDED"]) | (status == STATUS["ON_HOLD"])
    since[paused] = np.maximum(recent[paused], created_at[paused] + np.timedelta64(SECONDS_PER_DAY, "s"))
    since[held] = np.maximum(hold_placed_on(plan, held).astype("datetime64[s]"), created_at[held])
    # a closed account was wound down at least a month ago (its last orders invoiced, then closed)
    closed = status == STATUS["CLOSED"]
    latest = reference - np.timedelta64(CLOSED_AT_LEAST_DAYS_AGO * SECONDS_PER_DAY, "s")
    earliest = np.maximum(np.minimum(created_at + np.timedelta64(60 * SECONDS_PER_DAY, "s"), latest),
                          created_at + np.timedelta64(SECONDS_PER_DAY, "s"))
    since[closed] = moments_between(earliest[closed], np.maximum(latest, earliest)[closed], rng.uniform(n)[closed])
    return since


def hold_placed_on(plan: TierPlan, held: np.ndarray) -> np.ndarray:
    """The day Finance put each held account on credit hold (one to three months ago)."""
    rng = Stream(plan.seed, "finance.credit_holds", "rows")
    order = np.argsort(held, kind="stable")
    placed = np.datetime64(plan.reference_date, "D") - rng.integers(*HOLD_DAYS_AGO, len(held)).astype("timedelta64[D]")
    out = np.empty(len(held), dtype="datetime64[D]")
    out[order] = placed
    return out


def _account_edges(plan: TierPlan, status: np.ndarray, created_at: np.ndarray) -> tuple[Plant, ...]:
    """Accounts for the edge cases: one created on a leap day, one that never buys (both ACTIVE)."""
    if rows_per_case(plan) == 0:
        return ()
    leap = leap_day_moment(plan)
    order = Stream(plan.seed, "edge_cases", ACCOUNTS, "business").permutation(plan.accounts)
    active = order[(status[order] == STATUS["ACTIVE"]) & (order > GOLDEN_HOLD_ACCOUNT)]
    plants = []
    later = active[created_at[active] > leap]
    if len(later):
        plants.append(Plant("leap_day_account", ACCOUNTS, int(later[0]), "created_at"))
        created_at[later[0]] = leap  # moving a creation earlier keeps every later event after it
    rest = active[~np.isin(active, [p.row for p in plants])]
    if len(rest):
        plants.append(Plant("account_without_orders", ACCOUNTS, int(rest[0])))
    return tuple(plants)


def _golden_plants(plan: TierPlan, contact_offsets: np.ndarray) -> tuple[Plant, ...]:
    first_contact = int(contact_offsets[ACME_ACCOUNT_INDEX])
    return (Plant("acme_corp", ACCOUNTS, ACME_ACCOUNT_INDEX, "name", ACME_NAME),
            *(Plant("acme_corp", CONTACTS, first_contact + i) for i in range(plan.acme_contacts)),
            Plant("credit_hold_account", ACCOUNTS, GOLDEN_HOLD_ACCOUNT, "status", "ON_HOLD"))


def credit_hold_accounts(plan: TierPlan) -> np.ndarray:
    """The accounts Finance has put on credit hold: the golden credit-hold account, then others (never
    Acme Corp, account 0)."""
    picks = Stream(plan.seed, "finance.customer_accounts", "credit_holds").permutation(plan.accounts - 2)
    return np.concatenate([[GOLDEN_HOLD_ACCOUNT], 2 + picks[:plan.on_hold_accounts - 1]]).astype(np.int64)


def cached_account_plan(plan: TierPlan) -> AccountPlan:
    return memoised("accounts", plan, account_plan)


def _account_block(plan: TierPlan, accounts: AccountPlan, block: Block) -> pa.Table:
    rows = slice(block.start, block.stop)
    index = np.arange(block.start, block.stop)  # taken, not sliced: a slice would keep the whole plan's buffers
    pools = CountryPools(plan.seed, accounts.countries)
    country = accounts.country[rows]
    address = accounts.address[rows]
    return build_table(ACCOUNTS, {
        "account_uuid": derive_uuids(plan.ids, ACCOUNT_ENTITY, block.start, block.stop),
        "name": accounts.name.take(index),
        "segment": _codes(v.ACCOUNT_SEGMENT, accounts.segment[rows]),
        "industry": _codes(v.INDUSTRY, accounts.industry[rows]),
        "status": _codes(v.ACCOUNT_STATUS, accounts.status[rows]),
        "street": pools.take("streets", address),
        "city": pools.take("cities", address),
        "region": pools.take("regions", address),
        "postal_code": pools.take("postcodes", address),
        "country_code": _codes(accounts.countries, country),
        "currency_code": accounts.arrow_currencies.take(index),
        "phone": phone_numbers(plan.seed, accounts.countries, country, accounts.phone_slot[rows],
                               plan.contact_details),
        "website": join_strings("https://www.", accounts.domain.take(index)),
        "owner_employee_uuid": employee_uuids(plan, accounts.owner[rows]),
        "created_at": accounts.created_at[rows],
    })


def _codes(vocabulary: tuple[str, ...], index: np.ndarray) -> pa.StringArray:
    """Each row's word of a small vocabulary, by its index, as Arrow strings."""
    return pa.array(vocabulary, pa.string()).take(np.asarray(index, dtype=np.int64))


@blocked
def generate_accounts(plan: TierPlan) -> Blocks:
    accounts = cached_account_plan(plan)
    return Blocks(lambda b: plant_cells(plan, ACCOUNTS, b.start, _account_block(plan, accounts, b)),
                    plan.accounts, plan.block_rows)


def contact_accounts(accounts: AccountPlan, start: int, stop: int) -> np.ndarray:
    """The account index of contact rows start..stop-1 (contacts are laid out account by account, so each
    account of the range is repeated once per contact it has there: no search per row)."""
    if stop <= start:
        return np.zeros(0, dtype=np.int64)
    first, last = contact_accounts_of(accounts, np.array([start, stop - 1]))
    bounds = np.clip(accounts.contact_offsets[first:last + 1], start, stop)
    return np.repeat(np.arange(first, last + 1), np.diff(bounds, append=stop))


def contact_accounts_of(accounts: AccountPlan, contacts: np.ndarray) -> np.ndarray:
    return np.searchsorted(accounts.contact_offsets, contacts, side="right") - 1


def _contact_block(plan: TierPlan, accounts: AccountPlan, block: Block) -> pa.Table:
    rng = Stream(plan.seed, CONTACTS, "rows", block=block.index)
    n = block.size
    pools = CountryPools(plan.seed, accounts.countries)
    account = contact_accounts(accounts, block.start, block.stop)
    country = accounts.country[account]
    first, last = contact_names(plan, accounts, pools, account, np.arange(block.start, block.stop))
    spellings = {"first_name": pools.take("first_ascii", first), "last_name": pools.take("last_ascii", last)}
    planted = planted_cells(plan).get(CONTACTS, {})
    for column, spelled in spellings.items():  # a planted name is spelled in the address too
        hits = {row - block.start: ascii_slug(value)[:MAX_NAME_IN_ADDRESS]
                for row, (_, value) in sorted(planted.get(column, {}).items())
                if block.start <= row < block.stop and value and ascii_slug(value)}
        if hits:
            mask = np.zeros(n, dtype=bool)
            mask[list(hits)] = True
            spellings[column] = pc.replace_with_mask(spelled, pa.array(mask), pa.array(list(hits.values()), pa.string()))
    email = join_strings(spellings["first_name"], ".", spellings["last_name"], "@", accounts.domain.take(account))
    title = rng.integers(0, len(CONTACT_TITLES), n)
    titled = ~rng.bernoulli(0.1, n)
    titles = pa.array(CONTACT_TITLES, pa.string()).take(pa.array(title, mask=~titled))  # untitled: a null index
    return build_table(CONTACTS, {
        "contact_uuid": derive_uuids(plan.ids, CONTACT_ENTITY, block.start, block.stop),
        "account_uuid": account_uuids(plan, account),
        "first_name": pools.take("first_names", first),
        "last_name": pools.take("last_names", last),
        "email": email,
        "phone": phone_numbers(plan.seed, accounts.countries, country,
                               contact_phone_slots(accounts, account, block), plan.contact_details),
        "job_title": titles,
        "created_at": _created_at(plan, accounts, np.arange(block.start, block.stop), account),
    })


def contact_names(plan: TierPlan, accounts: AccountPlan, pools: CountryPools, account: np.ndarray,
                   contacts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in the first- and last-name pools: the j-th contact of an account takes the pair at
    (the account's random start + j × a prime stride) among its country's pairs, so no two people at one
    company share a name, and so (each company having its own domain) no two contacts share an address."""
    sizes_first, sizes_last = pools.sizes("first_names"), pools.sizes("last_names")
    country = accounts.country[account]
    pairs = sizes_first[country] * sizes_last[country]
    start = np.floor(_name_starts(plan)[account] * pairs).astype(np.int64)
    position = contacts - accounts.contact_offsets[account]
    pair = (start + (position % pairs) * (NAME_PAIR_STRIDE % pairs)) % pairs
    offsets_first = np.concatenate([[0], np.cumsum(sizes_first)[:-1]])
    offsets_last = np.concatenate([[0], np.cumsum(sizes_last)[:-1]])
    return offsets_first[country] + pair // sizes_last[country], offsets_last[country] + pair % sizes_last[country]


def _creation_draws(plan: TierPlan) -> np.ndarray:
    """Every contact's creation draw, block by block (8 bytes a contact), drawn once per plan: tickets ask for
    contacts scattered over every block, and drawing each block again for each of theirs was quadratic."""
    def draw(p: TierPlan) -> np.ndarray:
        return np.concatenate([Stream(p.seed, CONTACTS, "created", block=b.index).uniform(b.size)
                               for b in blocks_of(p.contacts, p.block_rows)] or [np.zeros(0)])
    return memoised("contact_creation_draws", plan, draw)


def _name_starts(plan: TierPlan) -> np.ndarray:
    """Each account's random start among its country's name pairs (drawn once per plan, not per block)."""
    return memoised("contact_name_starts", plan, lambda p: Stream(p.seed, CONTACTS, "name_start").uniform(p.accounts))


def contact_phone_slots(accounts: AccountPlan, account: np.ndarray, block: Block) -> np.ndarray:
    """Each contact's place in its country's phone numbers: its account's first, plus its position."""
    return accounts.contact_phone_slot[account] + np.arange(block.start, block.stop) - accounts.contact_offsets[account]


def contact_created_at(plan: TierPlan, accounts: AccountPlan, contacts: np.ndarray) -> np.ndarray:
    """When each contact was created: after its account, most soon after. Tickets read it too, so it
    has its own stream per block of contacts and any contact's moment can be derived alone."""
    contacts = np.asarray(contacts, dtype=np.int64)
    return _created_at(plan, accounts, contacts, contact_accounts_of(accounts, contacts))


def _created_at(plan: TierPlan, accounts: AccountPlan, contacts: np.ndarray, account: np.ndarray) -> np.ndarray:
    """``contact_created_at`` of contacts whose accounts are known."""
    u = _creation_draws(plan)[contacts]
    return moments_between(accounts.created_at[account], moment(plan.reference_moment), u ** 3)


@blocked
def generate_contacts(plan: TierPlan) -> Blocks:
    accounts = cached_account_plan(plan)
    return Blocks(lambda b: plant_cells(plan, CONTACTS, b.start, _contact_block(plan, accounts, b)),
                    plan.contacts, plan.block_rows)
