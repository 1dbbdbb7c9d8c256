"""sales.leads, sales.opportunities, sales.quotes and sales.quote_lines: the funnel behind the orders.

Worked backwards from the orders: every quote-backed order has its accepted quote (same lines), the
scenario's quote-to-order rate adds quotes that were rejected, expired or are still open, every quote has
its opportunity, more opportunities never reached a quote, and a share of opportunities came from leads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from crm_mock.generate.contact import AccountPlan, account_uuids, cached_account_plan
from crm_mock.generate.frame import Block, assemble, build_table, cents_to_money, concat
from crm_mock.generate.hr import employee_plan, employee_uuids
from crm_mock.generate.ids import derive_uuids, uuids_at
from crm_mock.generate.inventory import cached_product_plan
from crm_mock.generate.lines import product_lines_block
from crm_mock.generate.memo import memoised
from crm_mock.generate.orders import _accounts_for, _lines, cached_order_plan
from crm_mock.generate.pools import CountryPools, web_domains
from crm_mock.generate.random import Stream
from crm_mock.generate.timeline import SECONDS_PER_DAY, moment, seasonal_moments, to_date
from crm_mock.model import vocabularies as v
from crm_mock.scenario import TierPlan

LEADS, OPPORTUNITIES = "sales.leads", "sales.opportunities"
QUOTES, QUOTE_LINES = "sales.quotes", "sales.quote_lines"
QUOTE_VALID_DAYS = 30
# open and lost quotes: status shares and how old (days) each may be
OTHER_QUOTES = {"REJECTED": (40, 2, None), "EXPIRED": (30, QUOTE_VALID_DAYS + 1, None), "SENT": (20, 0, 29),
                "DRAFT": (10, 0, 10)}
QUOTE_STAGE = {"ACCEPTED": "CLOSED_WON", "REJECTED": "CLOSED_LOST", "EXPIRED": "CLOSED_LOST",
               "SENT": "NEGOTIATION", "DRAFT": "PROPOSAL"}
UNQUOTED_OPPORTUNITIES = {"PROSPECTING": 40, "QUALIFICATION": 35, "CLOSED_LOST": 25}
OPEN_LEADS = {"NEW": (25, 0, 30), "CONTACTED": (30, 3, 120), "QUALIFIED": (20, 7, 365),
              "DISQUALIFIED": (25, 7, None)}
DEAL_LABELS = np.array(["New Business", "Expansion", "Renewal", "Upgrade", "Pilot", "Replacement",
                        "Annual Supply", "Service Contract"], dtype=object)


@dataclass(frozen=True)
class FunnelPlan:
    quote_status: np.ndarray  # index into v.QUOTE_STATUS
    quote_account: np.ndarray
    quote_created: np.ndarray
    quote_line_offsets: np.ndarray
    quote_line_product: np.ndarray
    quote_line_quantity: np.ndarray
    quote_line_price_cents: np.ndarray
    opportunity_account: np.ndarray
    opportunity_created: np.ndarray
    opportunity_stage: np.ndarray  # index into v.OPPORTUNITY_STAGE
    opportunity_close: np.ndarray  # datetime64[D], NaT when unknown
    opportunity_amount_cents: np.ndarray
    opportunity_lead: np.ndarray  # lead index, -1 when none
    lead_opportunity: np.ndarray  # opportunity index of each converted lead

    @property
    def quote_line_total_cents(self) -> np.ndarray:
        return self.quote_line_quantity * self.quote_line_price_cents

    @property
    def quote_total_cents(self) -> np.ndarray:
        return np.add.reduceat(self.quote_line_total_cents, self.quote_line_offsets[:-1])


def _aged(plan: TierPlan, shares: dict[str, tuple], n: int, rng: Stream) -> tuple[np.ndarray, np.ndarray]:
    """Statuses drawn by share, each with a moment inside its allowed age range (days)."""
    names = list(shares)
    status = rng.choice(n, [shares[s][0] for s in names])
    window = (plan.reference_date - plan.history_start).days
    youngest = np.array([shares[s][1] for s in names], dtype=np.float64)[status]
    oldest = np.array([shares[s][2] or window for s in names], dtype=np.float64)[status]
    reference = moment(plan.reference_moment)
    latest = reference - (youngest * SECONDS_PER_DAY).astype("timedelta64[s]")
    earliest = reference - (oldest * SECONDS_PER_DAY).astype("timedelta64[s]")
    when = seasonal_moments(plan.history_start, plan.reference_date, earliest, latest, rng.uniform(n), rng.uniform(n))
    return status, when


def _before(later: np.ndarray, floor: np.ndarray, max_days: float, u: np.ndarray) -> np.ndarray:
    """A moment up to ``max_days`` before ``later`` but not before ``floor``."""
    room = np.minimum((later - floor).astype(np.int64), int(max_days * SECONDS_PER_DAY))
    return later - np.floor(u * np.maximum(room, 0)).astype(np.int64).astype("timedelta64[s]")


def funnel_plan(plan: TierPlan) -> FunnelPlan:
    accounts = cached_account_plan(plan)
    products = cached_product_plan(plan)
    orders = cached_order_plan(plan)
    rng = Stream(plan.seed, QUOTES, "plan")
    backed = np.flatnonzero(orders.quote_backed)  # order of accepted quote k is backed[k]
    accepted = len(backed)
    n_quotes = max(accepted, round(accepted / plan.conversion.quote_to_order), 1)

    # accepted quotes carry exactly their order's lines, shortly before the order
    account = orders.account[backed]
    created = _before(orders.placed_at[backed], accounts.created_at[account], 20, rng.uniform(accepted))
    other_status, other_created = _aged(plan, OTHER_QUOTES, n_quotes - accepted, rng)
    other_account = _accounts_for(plan, accounts, other_created, rng)
    other_created = np.maximum(other_created, accounts.created_at[other_account])
    names = list(OTHER_QUOTES)
    status = np.concatenate([np.full(accepted, v.QUOTE_STATUS.index("ACCEPTED")),
                             np.array([v.QUOTE_STATUS.index(names[s]) for s in other_status], dtype=np.int64)])
    quote_account = np.concatenate([account, other_account])
    quote_created = np.concatenate([created, other_created])

    starts, stops = orders.line_offsets[backed], orders.line_offsets[backed + 1]
    taken = np.concatenate([np.arange(a, b) for a, b in zip(starts, stops)]) if accepted else np.zeros(0, np.int64)
    offsets, product, quantity, price = _lines(plan, accounts.segment[other_account],
                                               np.zeros(len(other_account), bool), products,
                                               Stream(plan.seed, QUOTE_LINES, "rows"))
    accepted_offsets = np.concatenate([[0], np.cumsum(stops - starts)])
    line_offsets = np.concatenate([accepted_offsets, accepted_offsets[-1] + offsets[1:]])

    opportunities = _opportunities(plan, accounts, status, quote_account, quote_created, orders, backed, rng)
    return FunnelPlan(
        quote_status=status, quote_account=quote_account, quote_created=quote_created,
        quote_line_offsets=line_offsets,
        quote_line_product=np.concatenate([orders.line_product[taken], product]),
        quote_line_quantity=np.concatenate([orders.line_quantity[taken], quantity]),
        quote_line_price_cents=np.concatenate([orders.line_price_cents[taken], price]),
        **opportunities,
    )


def _opportunities(plan: TierPlan, accounts: AccountPlan, quote_status: np.ndarray, quote_account: np.ndarray,
                   quote_created: np.ndarray, orders, backed: np.ndarray, rng: Stream) -> dict:
    n_quotes = len(quote_status)
    n = max(n_quotes, round(n_quotes / plan.conversion.opportunity_to_quote))
    created = _before(quote_created, accounts.created_at[quote_account], 45, rng.uniform(n_quotes))
    names = list(UNQUOTED_OPPORTUNITIES)
    extra_stage, extra_created = _aged(plan, {s: (w, 1, None) for s, w in UNQUOTED_OPPORTUNITIES.items()},
                                       n - n_quotes, rng)
    extra_account = _accounts_for(plan, accounts, extra_created, rng)
    extra_created = np.maximum(extra_created, accounts.created_at[extra_account])
    stage = np.concatenate([
        [v.OPPORTUNITY_STAGE.index(QUOTE_STAGE[v.QUOTE_STATUS[s]]) for s in quote_status],
        [v.OPPORTUNITY_STAGE.index(names[s]) for s in extra_stage],
    ]).astype(np.int64)
    account = np.concatenate([quote_account, extra_account])
    created_all = np.concatenate([created, extra_created])

    reference_day = np.datetime64(plan.reference_date, "D")
    close = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    won = np.flatnonzero(quote_status == v.QUOTE_STATUS.index("ACCEPTED"))
    close[won] = to_date(orders.placed_at[backed])
    lost = stage == v.OPPORTUNITY_STAGE.index("CLOSED_LOST")
    decided = to_date(created_all) + rng.integers(7, 90, n).astype("timedelta64[D]")
    close[lost] = np.minimum(decided[lost], reference_day)
    still_open = ~np.isin(stage, [v.OPPORTUNITY_STAGE.index("CLOSED_WON"), v.OPPORTUNITY_STAGE.index("CLOSED_LOST")])
    close[still_open] = reference_day + rng.integers(14, 120, int(still_open.sum())).astype("timedelta64[D]")

    segment_amount = np.array([2_000_00, 25_000_00, 150_000_00])[accounts.segment[extra_account]]
    amount = np.concatenate([np.zeros(n_quotes, np.int64),
                             np.round(rng.lognormal(segment_amount, 0.8, n - n_quotes)).astype(np.int64)])

    converted = min(round(plan.leads * plan.conversion.lead_to_opportunity), n)
    lead_opportunity = np.sort(rng.permutation(n)[:converted])
    opportunity_lead = np.full(n, -1, dtype=np.int64)
    opportunity_lead[lead_opportunity] = np.arange(converted)
    return dict(opportunity_account=account, opportunity_created=created_all, opportunity_stage=stage,
                opportunity_close=close, opportunity_amount_cents=amount, opportunity_lead=opportunity_lead,
                lead_opportunity=lead_opportunity)


def cached_funnel_plan(plan: TierPlan) -> FunnelPlan:
    return memoised("funnel", plan, funnel_plan)


def _quote_block(plan: TierPlan, funnel: FunnelPlan, block: Block) -> pa.Table:
    rows = slice(block.start, block.stop)
    created = funnel.quote_created[rows]
    return build_table(QUOTES, {
        "quote_uuid": derive_uuids(plan.ids, "quote", block.start, block.stop),
        "opportunity_uuid": uuids_at(plan.ids, "opportunity", np.arange(block.start, block.stop)),
        "account_uuid": account_uuids(plan, funnel.quote_account[rows]),
        "status": np.array(v.QUOTE_STATUS, dtype=object)[funnel.quote_status[rows]],
        "valid_until": to_date(created) + np.timedelta64(QUOTE_VALID_DAYS, "D"),
        "total_amount": cents_to_money(funnel.quote_total_cents[rows]),
        "created_at": created,
    })


def generate_quotes(plan: TierPlan, blocks: Iterable[int] | None = None) -> pa.Table:
    funnel = cached_funnel_plan(plan)
    return assemble(lambda b: _quote_block(plan, funnel, b), len(funnel.quote_status), plan.block_rows, blocks)


def generate_quote_lines(plan: TierPlan, blocks: Iterable[int] | None = None) -> pa.Table:
    """Blocks here are blocks of quotes; each yields the lines of its quotes."""
    funnel = cached_funnel_plan(plan)
    return assemble(lambda b: product_lines_block(plan, QUOTE_LINES, "quote", funnel.quote_line_offsets,
                                                  funnel.quote_line_product, funnel.quote_line_quantity,
                                                  funnel.quote_line_price_cents, b),
                    len(funnel.quote_status), plan.block_rows, blocks)


def _opportunity_block(plan: TierPlan, funnel: FunnelPlan, block: Block) -> pa.Table:
    rows = slice(block.start, block.stop)
    accounts = cached_account_plan(plan)
    pools = CountryPools(plan.seed, accounts.countries)
    rng = Stream(plan.seed, OPPORTUNITIES, "rows", block=block.index)
    account = funnel.opportunity_account[rows]
    n_quotes = len(funnel.quote_status)
    index = np.arange(block.start, block.stop)
    quoted = index < n_quotes
    amount = funnel.opportunity_amount_cents[rows].copy()
    amount[quoted] = funnel.quote_total_cents[index[quoted]]
    lead = funnel.opportunity_lead[rows]
    lead_ids = uuids_at(plan.ids, "lead", np.maximum(lead, 0)).to_numpy(zero_copy_only=False).astype(object)
    lead_ids[lead < 0] = None
    label = DEAL_LABELS[rng.integers(0, len(DEAL_LABELS), block.size)]
    return build_table(OPPORTUNITIES, {
        "opportunity_uuid": derive_uuids(plan.ids, "opportunity", block.start, block.stop),
        "account_uuid": account_uuids(plan, account),
        "owner_employee_uuid": employee_uuids(plan, accounts.owner[account]),
        "lead_uuid": lead_ids,
        "name": concat(accounts.names(pools, account), " — ", label),
        "stage": np.array(v.OPPORTUNITY_STAGE, dtype=object)[funnel.opportunity_stage[rows]],
        "amount": cents_to_money(amount),
        "close_date": funnel.opportunity_close[rows],
        "created_at": funnel.opportunity_created[rows],
    })


def generate_opportunities(plan: TierPlan, blocks: Iterable[int] | None = None) -> pa.Table:
    funnel = cached_funnel_plan(plan)
    n = len(funnel.opportunity_stage)
    return assemble(lambda b: _opportunity_block(plan, funnel, b), n, plan.block_rows, blocks)


def _lead_block(plan: TierPlan, funnel: FunnelPlan, block: Block) -> pa.Table:
    accounts = cached_account_plan(plan)
    pools = CountryPools(plan.seed, accounts.countries)
    rng = Stream(plan.seed, LEADS, "rows", block=block.index)
    n = block.size
    index = np.arange(block.start, block.stop)
    converted = index < len(funnel.lead_opportunity)
    opportunity = funnel.lead_opportunity[index[converted]]

    # open leads: a prospect company from the account countries, not (yet) a customer
    country = rng.choice(n, list(plan.country_shares.values()))
    company = pools.pick("companies", country, rng.uniform(n))
    domain_index = pools.index("domains", country, rng.uniform(n))
    account = np.zeros(n, dtype=np.int64)
    account[converted] = funnel.opportunity_account[opportunity]
    country[converted] = accounts.country[account[converted]]
    company[converted] = accounts.names(pools, account[converted])
    domains = web_domains(pools.values("domains")[domain_index], plan.contact_details)
    domains[converted] = accounts.domains(pools, account[converted])
    first = pools.index("first_names", country, rng.uniform(n))
    last = pools.index("last_names", country, rng.uniform(n))

    names = list(OPEN_LEADS)
    open_status, created = _aged(plan, OPEN_LEADS, n, rng)
    status = np.array([v.LEAD_STATUS.index(names[s]) for s in open_status], dtype=np.int64)
    status[converted] = v.LEAD_STATUS.index("CONVERTED")
    # a converted lead came before the account it became and the opportunity it opened
    became = np.minimum(accounts.created_at[account[converted]], funnel.opportunity_created[opportunity])
    created[converted] = became - (SECONDS_PER_DAY * rng.integers(1, 60, int(converted.sum()))).astype("timedelta64[s]")
    sales = employee_plan(plan).active_in("SALES")
    owner = sales[rng.integers(0, len(sales), n)]
    owner[converted] = accounts.owner[account[converted]]
    account_ids = account_uuids(plan, account).to_numpy(zero_copy_only=False).astype(object)
    account_ids[~converted] = None
    return build_table(LEADS, {
        "lead_uuid": derive_uuids(plan.ids, "lead", block.start, block.stop),
        "company_name": company,
        "contact_name": concat(pools.values("first_names")[first], " ", pools.values("last_names")[last]),
        "email": concat(pools.values("first_ascii")[first], ".", pools.values("last_ascii")[last], "@", domains),
        "source": np.array(v.LEAD_SOURCE, dtype=object)[rng.choice(n, [35, 20, 15, 20, 10])],
        "status": np.array(v.LEAD_STATUS, dtype=object)[status],
        "owner_employee_uuid": employee_uuids(plan, owner),
        "account_uuid": account_ids,
        "created_at": created,
    })


def generate_leads(plan: TierPlan, blocks: Iterable[int] | None = None) -> pa.Table:
    funnel = cached_funnel_plan(plan)
    return assemble(lambda b: _lead_block(plan, funnel, b), plan.leads, plan.block_rows, blocks)

