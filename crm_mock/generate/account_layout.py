"""Where accounts are and how many contacts each has: known before any edge case is planted (the account
plan itself depends on the planted cells), so planting can put a French city on a French account's row."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crm_mock.generate.frame import Block, blocks_of
from crm_mock.generate.memo import memoised
from crm_mock.generate.random import Stream
from crm_mock.model import vocabularies as v
from crm_mock.scenario import ACME_ACCOUNT_INDEX, TierPlan

ACCOUNTS = "contact.accounts"
CONTACTS = "contact.contacts"
ACME_COUNTRY = "US"
SEGMENT = {name: i for i, name in enumerate(v.ACCOUNT_SEGMENT)}


def exact_assignment(rng: Stream, n: int, counts: list[int]) -> np.ndarray:
    """Kind index per row with exactly ``counts[k]`` rows of kind k, in random order."""
    kinds = np.repeat(np.arange(len(counts)), counts)
    return kinds[rng.permutation(n)]


def segments(plan: TierPlan, assign: Stream) -> np.ndarray:
    """Exact segment counts; Acme Corp (account 0) is one of the enterprises. The first draws of ``assign``."""
    counts = dict(plan.segment_counts)
    counts["ENTERPRISE"] -= 1
    segment = np.empty(plan.accounts, dtype=np.int64)
    segment[ACME_ACCOUNT_INDEX] = SEGMENT["ENTERPRISE"]
    segment[1:] = exact_assignment(assign, plan.accounts - 1, [counts[s] for s in v.ACCOUNT_SEGMENT])
    return segment


def countries_of_block(plan: TierPlan, block: Block, rng: Stream) -> np.ndarray:
    """Each account's country index: the first draw of its block's plan stream."""
    return rng.choice(block.size, list(plan.country_shares.values()))


def contact_counts(plan: TierPlan, segment: np.ndarray) -> np.ndarray:
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


@dataclass(frozen=True)
class AccountLayout:
    """Where accounts are and how many contacts each has: what edge-case planting needs, known before any
    planted value is (the account plan itself depends on the planted cells)."""

    country: np.ndarray  # index into the plan's countries
    contact_offsets: np.ndarray

    def contact_countries(self, plan: TierPlan) -> np.ndarray:
        """Each contact's country, as an index into the plan's countries."""
        account = np.searchsorted(self.contact_offsets, np.arange(plan.contacts), side="right") - 1
        return self.country[account]


def account_layout(plan: TierPlan) -> AccountLayout:
    country = np.concatenate([countries_of_block(plan, b, Stream(plan.seed, ACCOUNTS, "plan", block=b.index))
                              for b in blocks_of(plan.accounts, plan.block_rows)])
    if ACME_COUNTRY in plan.country_shares:
        country[ACME_ACCOUNT_INDEX] = tuple(plan.country_shares).index(ACME_COUNTRY)
    counts = contact_counts(plan, segments(plan, Stream(plan.seed, ACCOUNTS, "assign")))
    return AccountLayout(country, np.concatenate([[0], np.cumsum(counts)[:-1]]))


def cached_account_layout(plan: TierPlan) -> AccountLayout:
    return memoised("account_layout", plan, account_layout)


def row_countries(plan: TierPlan, table: str) -> np.ndarray | None:
    """The country of each row of ``table`` (an index into the plan's countries), for the tables whose rows
    have one before planting."""
    layout = cached_account_layout(plan)
    if table == ACCOUNTS:
        return layout.country
    if table == CONTACTS:
        return layout.contact_countries(plan)
    return None
