"""sales.opportunities, sales.quotes and sales.quote_lines: the funnel behind the orders.

Worked backwards from the orders: every quote-backed order has its accepted quote (same lines), the
scenario's quote-to-order rate adds quotes that were rejected, expired or are still open, every quote has
its opportunity, more opportunities never reached a quote, and a share of opportunities came from leads
(sales/leads.py). Open opportunities are young and expected to close after the reference date; quotes
are valid for one of the scenario's validity periods, still valid while SENT, past it when EXPIRED.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from crm_mock.generate.catalogue import KINDS
from crm_mock.generate.contact import AccountPlan, account_uuids, cached_account_plan
from crm_mock.generate.frame import (
    Block, Blocks, blocked, build_table, cents_to_money, occurrence_rank,
)
from crm_mock.generate.hr import employee_uuids
from crm_mock.generate.ids import derive_uuids, uuids_at
from crm_mock.generate.inventory import cached_product_plan
from crm_mock.generate.line_draws import draw_lines, joined, product_choice
from crm_mock.generate.lines import product_lines_block
from crm_mock.generate.memo import drop_pages, let_go, memoised, spill
from crm_mock.generate.money import (
    DocumentNumbers, cents_per_unit, document_numbers, document_totals, rates, round_to,
)
from crm_mock.generate.orders import accounts_for, cached_order_plan, product_popularity
from crm_mock.generate.random import Stream
from crm_mock.generate.timeline import SECONDS_PER_DAY, moment, seasonal_moments, to_date
from crm_mock.model import vocabularies as v
from crm_mock.scenario import TierPlan

OPPORTUNITIES, QUOTES, QUOTE_LINES = "sales.opportunities", "sales.quotes", "sales.quote_lines"
# open and lost quotes: status shares and how old (days) each may be (None: the whole window; EXPIRED
# quotes are at least as old as the shortest validity)
OTHER_QUOTES = {"REJECTED": (40, 2, None), "EXPIRED": (30, None, None), "SENT": (20, 0, 29), "DRAFT": (10, 0, 10)}
QUOTE_STAGE = {"ACCEPTED": "CLOSED_WON", "REJECTED": "CLOSED_LOST", "EXPIRED": "CLOSED_LOST",
               "SENT": "NEGOTIATION", "DRAFT": "PROPOSAL"}
# opportunities that never reached a quote: share, youngest and oldest age (days); open ones are young
UNQUOTED_OPPORTUNITIES = {"PROSPECTING": (40, 1, 60), "QUALIFICATION": (35, 7, 120), "CLOSED_LOST": (25, 7, None)}
DEAL_LABELS = np.array(["New Business", "Expansion", "Renewal", "Upgrade", "Pilot", "Replacement",
                        "Annual Supply", "Service Contract"], dtype=object)
SEGMENT_DEAL_CENTS = (2_000_00, 25_000_00, 150_000_00)  # median unquoted deal by segment, base currency


@dataclass(frozen=True)
class FunnelPlan:
    quote_status: np.ndarray  # int8, index into v.QUOTE_STATUS
    quote_account: np.ndarray
    quote_created: np.ndarray
    quote_valid_days: np.ndarray  # int32
    quote_currency: np.ndarray  # object
    quote_number: DocumentNumbers
    quote_line_offsets: np.ndarray
    quote_line_product: np.ndarray
    quote_line_quantity: np.ndarray
    quote_line_price_cents: np.ndarray
    quote_line_discount: np.ndarray
    opportunity_account: np.ndarray
    opportunity_created: np.ndarray
    opportunity_stage: np.ndarray  # int8, index into v.OPPORTUNITY_STAGE
    opportunity_close: np.ndarray  # datetime64[D]
    opportunity_amount_cents: np.ndarray  # in the account's currency (quoted ones: the quote's total)
    opportunity_name: OpportunityNames  # distinct within an account
    opportunity_lead: np.ndarray  # lead index, -1 when none
    lead_opportunity: np.ndarray  # opportunity index of each converted lead

    @property
    def quote_total_cents(self) -> np.ndarray:
        return document_totals(self.quote_line_offsets, self.quote_line_quantity, self.quote_line_price_cents,
                               self.quote_line_discount, cents_per_unit(self.quote_currency))


def aged(plan: TierPlan, shares: dict[str, tuple], n: int, rng: Stream) -> tuple[np.ndarray, np.ndarray]:
    """Statuses drawn by share, each with a moment inside its allowed age range (days)."""
    names = list(shares)
    status = rng.choice(n, [shares[s][0] for s in names])
    window = (plan.reference_date - plan.history_start).days
    youngest = np.array([shares[s][1] for s in names], dtype=np.float64)[status]
    oldest = np.array([shares[s][2] or window for s in names], dtype=np.float64)[status]
    reference = moment(plan.reference_moment)
    latest = reference - (youngest * SECONDS_PER_DAY).astype("timedelta64[s]")
    earliest = reference - (np.maximum(oldest, youngest) * SECONDS_PER_DAY).astype("timedelta64[s]")
    when = seasonal_moments(plan.history_start, plan.reference_date, earliest, latest, rng.uniform(n), rng.uniform(n))
    return status, when


def _before(later: np.ndarray, floor: np.ndarray, max_days: float, u: np.ndarray) -> np.ndarray:
    """A moment up to ``max_days`` before ``later`` but not before ``floor``."""
    room = np.minimum((later - floor).astype(np.int64), int(max_days * SECONDS_PER_DAY))
    return later - np.floor(u * np.maximum(room, 0)).astype(np.int64).astype("timedelta64[s]")


def _validity(plan: TierPlan, status: np.ndarray, age_days: np.ndarray, accepted_after: np.ndarray,
              u: np.ndarray) -> np.ndarray:
    """Days each quote is valid: drawn from the scenario's periods, longer than its age while SENT and
    than the wait for its order when ACCEPTED, shorter than its age once EXPIRED."""
    options = np.sort(np.array(plan.commercial.quote_validity_days, dtype=np.int64))
    days = options[np.floor(u * len(options)).astype(np.int64)]
    names = np.array(v.QUOTE_STATUS, dtype=object)[status]
    must_exceed = np.where(names == "SENT", age_days, np.where(names == "ACCEPTED", accepted_after, -1))
    longer = options[np.minimum(np.searchsorted(options, must_exceed, side="right"), len(options) - 1)]
    days = np.where(days > must_exceed, days, np.maximum(longer, must_exceed + 1))
    expired = names == "EXPIRED"
    shorter = options[np.maximum(np.searchsorted(options, age_days, side="left") - 1, 0)]
    return np.where(expired, np.minimum(days, np.minimum(shorter, np.maximum(age_days - 1, 1))), days)


# the product categories in sorted order, and each product kind's place among them
CATEGORIES = tuple(sorted({k.category for k in KINDS}))
KIND_CATEGORY = np.array([CATEGORIES.index(k.category) for k in KINDS], dtype=np.int64)


def funnel_plan(plan: TierPlan) -> FunnelPlan:
    accounts = cached_account_plan(plan)
    orders = cached_order_plan(plan)
    rng = Stream(plan.seed, QUOTES, "plan")
    backed = np.flatnonzero(orders.quote_backed)  # order of accepted quote k is backed[k]
    # the quotes' temporaries end with _quotes: at the stress tier each is 20-70 MB, and the opportunities
    # are built next to the quotes' plan
    quotes, category = _quotes(plan, accounts, orders, backed, rng)
    accepted_placed = orders.placed_at[backed]
    del orders, backed
    let_go("orders", plan)  # the opportunities need only when the accepted quotes' orders were placed
    opportunities = _opportunities(plan, accounts, quotes["quote_status"], quotes["quote_account"],
                                   quotes["quote_created"], category, accepted_placed, rng)
    return FunnelPlan(**quotes, **opportunities)


def _quotes(plan: TierPlan, accounts: AccountPlan, orders, backed: np.ndarray, rng: Stream) -> tuple[dict, np.ndarray]:
    """The quotes' fields of the plan, and each quote's category (its first line's product's, an index into
    CATEGORIES)."""
    products = cached_product_plan(plan)
    accepted = len(backed)
    n_quotes = max(accepted, round(accepted / plan.conversion.quote_to_order), 1)

    # accepted quotes carry exactly their order's lines, shortly before the order
    account = orders.account[backed]
    created = _before(orders.placed_at[backed], accounts.created_at[account], 20, rng.uniform(accepted))
    shortest = min(plan.commercial.quote_validity_days)
    shares = {**OTHER_QUOTES, "EXPIRED": (OTHER_QUOTES["EXPIRED"][0], shortest + 1, None)}
    other_status, other_created = aged(plan, shares, n_quotes - accepted, rng)
    other_account = accounts_for(plan, accounts, other_created, rng)
    other_created = np.maximum(other_created, accounts.created_at[other_account])
    names = list(shares)
    status = np.concatenate([np.full(accepted, v.QUOTE_STATUS.index("ACCEPTED")),
                             np.array([v.QUOTE_STATUS.index(name) for name in names], dtype=np.int64)[other_status]])
    del other_status
    quote_account = spill(np.concatenate([account, other_account]))
    quote_created = spill(np.concatenate([created, other_created]))
    del account, other_created
    currency = accounts.currency[quote_account]

    offsets, parts = draw_lines(plan, accounts.segment[other_account], currency[accepted:],
                                np.zeros(len(other_account), bool), products,
                                product_choice(products, product_popularity(plan)),
                                Stream(plan.seed, QUOTE_LINES, "rows"))
    del other_account
    lines_per_order = np.diff(orders.line_offsets)
    accepted_offsets = np.concatenate([[0], np.cumsum(lines_per_order[backed])])
    line_offsets = np.concatenate([accepted_offsets, accepted_offsets[-1] + offsets[1:]])
    del accepted_offsets, offsets
    # the accepted quotes' lines are their orders' lines, in order
    copied = np.repeat(orders.quote_backed, lines_per_order)
    del lines_per_order
    # one line column at a time: its accepted part taken from the order's lines, then the parts drawn (each
    # finished column goes ahead to the plan's file: the opportunities are drawn next to the quotes' plan)
    line_price = spill(joined(parts, "price", orders.line_price_cents, copied))
    line_product = joined(parts, "product", orders.line_product, copied)
    quote_quantity = spill(joined(parts, "quantity", orders.line_quantity, copied))
    quote_discount = spill(joined(parts, "discount", orders.line_discount, copied))
    del copied, parts
    drop_pages("orders", plan)  # its lines are copied; what is read of it from here on is a few columns

    reference_day = np.datetime64(plan.reference_date, "D")
    age = (reference_day - to_date(quote_created)).astype(np.int64)
    waited = np.zeros(n_quotes, np.int64)
    waited[:accepted] = (to_date(orders.placed_at[backed]) - to_date(created)).astype(np.int64)
    del created
    valid = _validity(plan, status, age, waited, rng.uniform(n_quotes))
    del age, waited
    category = KIND_CATEGORY[products.kind[line_product[line_offsets[:-1]]]]
    return dict(
        quote_status=spill(status.astype(np.int8)), quote_account=quote_account,
        quote_created=quote_created, quote_valid_days=spill(valid.astype(np.int32)),
        quote_currency=currency, quote_number=spill(document_numbers("Q", quote_created)),
        quote_line_offsets=spill(line_offsets), quote_line_product=spill(line_product),
        quote_line_quantity=quote_quantity, quote_line_price_cents=line_price, quote_line_discount=quote_discount,
    ), category


def _opportunities(plan: TierPlan, accounts: AccountPlan, quote_status: np.ndarray, quote_account: np.ndarray,
                   quote_created: np.ndarray, quote_category: np.ndarray, accepted_placed: np.ndarray,
                   rng: Stream) -> dict:
    n_quotes = len(quote_status)
    n = max(n_quotes, round(n_quotes / plan.conversion.opportunity_to_quote))
    created = _before(quote_created, accounts.created_at[quote_account], 45, rng.uniform(n_quotes))
    names = list(UNQUOTED_OPPORTUNITIES)
    extra_stage, extra_created = aged(plan, UNQUOTED_OPPORTUNITIES, n - n_quotes, rng)
    extra_account = accounts_for(plan, accounts, extra_created, rng)
    extra_created = np.maximum(extra_created, accounts.created_at[extra_account])
    stage = np.concatenate([
        np.array([v.OPPORTUNITY_STAGE.index(QUOTE_STAGE[status]) for status in v.QUOTE_STATUS])[quote_status],
        np.array([v.OPPORTUNITY_STAGE.index(name) for name in names])[extra_stage],
    ]).astype(np.int64)
    del extra_stage
    account = np.concatenate([quote_account, extra_account])
    created_all = np.concatenate([created, extra_created])
    del created, extra_created

    # one mask at a time (each stage's close date is drawn in turn)
    reference_day = np.datetime64(plan.reference_date, "D")
    close = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    close[np.flatnonzero(quote_status == v.QUOTE_STATUS.index("ACCEPTED"))] = to_date(accepted_placed)
    lost = np.flatnonzero(stage == v.OPPORTUNITY_STAGE.index("CLOSED_LOST"))
    created_day = to_date(created_all)
    decided = (created_day + rng.integers(7, 90, n).astype("timedelta64[D]"))[lost]
    close[lost] = np.maximum(np.minimum(decided, reference_day - np.timedelta64(1, "D")), created_day[lost])
    del lost, decided, created_day
    still_open = ~np.isin(stage, [v.OPPORTUNITY_STAGE.index("CLOSED_WON"), v.OPPORTUNITY_STAGE.index("CLOSED_LOST")])
    close[still_open] = reference_day + rng.integers(14, 120, int(still_open.sum())).astype("timedelta64[D]")
    del still_open
    # each finished field goes ahead to the plan's file: the leads and the names are drawn next to them
    stage = spill(stage.astype(np.int8))

    currency = accounts.currency[extra_account]
    unit = np.maximum(cents_per_unit(currency), 100 * 100)  # unquoted deals are estimated in hundreds
    median = np.array(SEGMENT_DEAL_CENTS)[accounts.segment[extra_account]] * rates(plan, currency)
    del currency, extra_account
    amount = spill(np.concatenate([np.zeros(n_quotes, np.int64),
                                   round_to(rng.lognormal(median, 0.8, n - n_quotes), unit)]))
    del unit, median
    category = np.concatenate([quote_category, rng.integers(0, len(CATEGORIES), n - n_quotes)])
    lead_opportunity = spill(_converted(plan, account, created_all, rng))
    created_all = spill(created_all)
    opportunity_lead = np.full(n, -1, dtype=np.int64)
    opportunity_lead[lead_opportunity] = np.arange(len(lead_opportunity))
    opportunity_lead = spill(opportunity_lead)
    account, close = spill(account), spill(close)
    name = spill(_names(accounts, account, category, close, rng))  # its account field is the one spilled
    return dict(opportunity_account=account, opportunity_created=created_all, opportunity_stage=stage,
                opportunity_close=close, opportunity_amount_cents=amount, opportunity_name=name,
                opportunity_lead=opportunity_lead, lead_opportunity=lead_opportunity)


def _converted(plan: TierPlan, account: np.ndarray, created: np.ndarray, rng: Stream) -> np.ndarray:
    """The opportunities that converted leads opened, mostly an account's first (a new customer's lead),
    rarely its later ones: weighted sampling without replacement (Efraimidis–Spirakis keys)."""
    n = len(account)
    converted = min(round(plan.leads * plan.conversion.lead_to_opportunity), n)
    order = np.lexsort((created, account))
    first = np.r_[True, account[order][1:] != account[order][:-1]]
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n) - np.maximum.accumulate(np.where(first, np.arange(n), 0))
    weight = np.select([rank == 0, rank == 1], [1.0, 0.2], 0.003)
    keys = np.log(1.0 - rng.uniform(n)) / weight
    return np.sort(np.argsort(-keys, kind="stable")[:converted])


@dataclass(frozen=True)
class OpportunityNames:
    """"Account — Category Label Qn YYYY", numbered (2), (3) … where an account has two alike: kept as small
    codes per row and written out only for the rows asked for (``names.at(rows, accounts)``). The account names
    come from the caller's account plan: holding one here would pickle a second copy into the funnel's shared
    file (about 60 MB at the stress tier) and load it beside the first in every step that reads both."""

    account: np.ndarray
    categories: np.ndarray  # object: the distinct categories
    category: np.ndarray  # index into categories
    label: np.ndarray  # index into DEAL_LABELS
    quarter: np.ndarray
    year: np.ndarray
    repeat: np.ndarray  # alike names before this one in the same account

    def __len__(self) -> int:
        return len(self.account)

    def at(self, rows, accounts: AccountPlan) -> np.ndarray:
        repeat = self.repeat[rows]
        names = (accounts.names(self.account[rows]) + " — " + self.categories[self.category[rows]] + " "
                 + DEAL_LABELS[self.label[rows]] + " Q" + self.quarter[rows].astype(str).astype(object) + " "
                 + self.year[rows].astype(str).astype(object))
        names[repeat > 0] = names[repeat > 0] + " (" + (repeat[repeat > 0] + 1).astype(str).astype(object) + ")"
        return names


def _names(accounts: AccountPlan, account: np.ndarray, category: np.ndarray, close: np.ndarray,
           rng: Stream) -> OpportunityNames:
    """``category``: each opportunity's index into CATEGORIES."""
    label = rng.integers(0, len(DEAL_LABELS), len(account)).astype(np.int8)
    quarter = ((close.astype("datetime64[M]").astype(np.int64) % 12) // 3 + 1).astype(np.int8)
    year = (close.astype("datetime64[Y]").astype(np.int64) + 1970).astype(np.int16)
    # two names are alike exactly when these codes are (accounts with the same name, planted ones included,
    # share a code)
    same_name = accounts.name.dictionary_encode().indices.to_numpy(zero_copy_only=False)
    alike = same_name[account].astype(np.int64)
    del same_name
    for scale, code in ((len(CATEGORIES), category), (len(DEAL_LABELS), label), (4, quarter - 1),
                        (1000, year - year.min(initial=0))):
        alike *= scale  # in place: each step a temporary of millions of int64 fewer
        alike += code
    return OpportunityNames(account, np.array(CATEGORIES, dtype=object), category.astype(np.int16), label, quarter,
                            year, occurrence_rank(alike))


def cached_funnel_plan(plan: TierPlan) -> FunnelPlan:
    return memoised("funnel", plan, funnel_plan)


def _quote_block(plan: TierPlan, funnel: FunnelPlan, quote_totals: np.ndarray, block: Block) -> pa.Table:
    rows = slice(block.start, block.stop)
    created = funnel.quote_created[rows]
    return build_table(QUOTES, {
        "quote_uuid": derive_uuids(plan.ids, "quote", block.start, block.stop),
        "quote_number": funnel.quote_number[rows],
        "opportunity_uuid": uuids_at(plan.ids, "opportunity", np.arange(block.start, block.stop)),
        "account_uuid": account_uuids(plan, funnel.quote_account[rows]),
        "status": np.array(v.QUOTE_STATUS, dtype=object)[funnel.quote_status[rows]],
        "currency_code": funnel.quote_currency[rows],
        "valid_until": to_date(created) + funnel.quote_valid_days[rows].astype("timedelta64[D]"),
        "total_amount": cents_to_money(quote_totals[rows]),
        "created_at": created,
    })


@blocked
def generate_quotes(plan: TierPlan) -> Blocks:
    funnel = cached_funnel_plan(plan)
    totals = funnel.quote_total_cents  # once, not per block
    return Blocks(lambda b: _quote_block(plan, funnel, totals, b), len(funnel.quote_status), plan.block_rows)


@blocked
def generate_quote_lines(plan: TierPlan) -> Blocks:
    """Blocks here are blocks of quotes; each yields the lines of its quotes."""
    funnel = cached_funnel_plan(plan)
    unit = cents_per_unit(funnel.quote_currency)
    return Blocks(lambda b: product_lines_block(plan, QUOTE_LINES, "quote", funnel.quote_line_offsets,
                                                  funnel.quote_line_product, funnel.quote_line_quantity,
                                                  funnel.quote_line_price_cents, funnel.quote_line_discount,
                                                  unit, b),
                    len(funnel.quote_status), plan.block_rows, unit="quotes")


def _opportunity_block(plan: TierPlan, funnel: FunnelPlan, accounts: AccountPlan, quote_totals: np.ndarray,
                       block: Block) -> pa.Table:
    rows = slice(block.start, block.stop)
    account = funnel.opportunity_account[rows]
    n_quotes = len(funnel.quote_status)
    index = np.arange(block.start, block.stop)
    quoted = index < n_quotes
    amount = funnel.opportunity_amount_cents[rows].copy()
    amount[quoted] = quote_totals[index[quoted]]
    lead = funnel.opportunity_lead[rows]
    lead_ids = uuids_at(plan.ids, "lead", np.maximum(lead, 0)).to_numpy(zero_copy_only=False).astype(object)
    lead_ids[lead < 0] = None
    stage = np.array(v.OPPORTUNITY_STAGE, dtype=object)[funnel.opportunity_stage[rows]]
    return build_table(OPPORTUNITIES, {
        "opportunity_uuid": derive_uuids(plan.ids, "opportunity", block.start, block.stop),
        "account_uuid": account_uuids(plan, account),
        "owner_employee_uuid": employee_uuids(plan, accounts.owner[account]),
        "lead_uuid": lead_ids,
        "name": funnel.opportunity_name.at(rows, accounts),
        "stage": stage,
        "probability": np.array([plan.commercial.stage_probability[s] for s in stage], dtype=np.int64),
        "amount": cents_to_money(amount),
        "close_date": funnel.opportunity_close[rows],
        "created_at": funnel.opportunity_created[rows],
    })


@blocked
def generate_opportunities(plan: TierPlan) -> Blocks:
    funnel, accounts = cached_funnel_plan(plan), cached_account_plan(plan)
    totals = funnel.quote_total_cents  # once, not per block
    n = len(funnel.opportunity_stage)
    return Blocks(lambda b: _opportunity_block(plan, funnel, accounts, totals, b), n, plan.block_rows)
