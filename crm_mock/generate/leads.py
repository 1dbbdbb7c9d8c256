"""sales.leads: prospects, and the leads that became opportunities.

A converted lead came in a few weeks before the opportunity it opened (the scenario's
lead_conversion_days), from the account's company; its owner is the account's sales rep. An open lead
is a prospect company named the way its country names companies, writing from that company's domain,
owned by a sales rep already hired when it came in.
"""

from __future__ import annotations


import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crm_mock.generate.companies import compose
from crm_mock.generate.contact import AccountPlan, account_uuids, cached_account_plan
from crm_mock.generate.frame import Block, Blocks, blocked, build_table, join_strings
from crm_mock.generate.hr import EmployeePlan, cached_employee_plan, employee_uuids
from crm_mock.generate.ids import derive_uuids
from crm_mock.generate.pools import CountryPools, web_domains
from crm_mock.generate.random import Stream
from crm_mock.generate.sales import FunnelPlan, aged, cached_funnel_plan
from crm_mock.generate.timeline import SECONDS_PER_DAY
from crm_mock.model import vocabularies as v
from crm_mock.scenario import TierPlan

LEADS = "sales.leads"
OPEN_LEADS = {"NEW": (25, 0, 30), "CONTACTED": (30, 3, 120), "QUALIFIED": (20, 7, 365),
              "DISQUALIFIED": (25, 7, None)}


def _lead_block(plan: TierPlan, funnel: FunnelPlan, accounts: AccountPlan, employees: EmployeePlan,
                block: Block) -> pa.Table:
    pools = CountryPools(plan.seed, accounts.countries)
    rng = Stream(plan.seed, LEADS, "rows", block=block.index)
    n = block.size
    index = np.arange(block.start, block.stop)
    converted = index < len(funnel.lead_opportunity)
    opportunity = funnel.lead_opportunity[index[converted]]
    account = np.zeros(n, dtype=np.int64)
    account[converted] = funnel.opportunity_account[opportunity]

    # open leads: a prospect company from the account countries, not (yet) a customer
    country = rng.choice(n, list(plan.country_shares.values()))
    country[converted] = accounts.country[account[converted]]
    industry = np.array([v.INDUSTRY.index(i) for i in plan.industry_shares])[
        rng.choice(n, list(plan.industry_shares.values()))]
    city = pools.pick("cities", country, rng.uniform(n))
    prospects = compose(pools, country, industry, city, rng.uniform(n * 5).reshape(n, 5))
    company = prospects.name.copy()
    company[converted] = accounts.names(account[converted])
    domains = web_domains(prospects.domain_slug, np.array(accounts.countries, dtype=object)[country],
                          plan.contact_details)
    domains[converted] = accounts.domains(account[converted])
    first = pools.index("first_names", country, rng.uniform(n))
    last = pools.index("last_names", country, rng.uniform(n))

    names = list(OPEN_LEADS)
    open_status, created = aged(plan, OPEN_LEADS, n, rng)
    status = np.array([v.LEAD_STATUS.index(name) for name in names], dtype=np.int64)[open_status]
    status[converted] = v.LEAD_STATUS.index("CONVERTED")
    days = plan.commercial.lead_conversion_days
    lag = SECONDS_PER_DAY * (days.min + rng.uniform(int(converted.sum())) * (days.max - days.min))
    created[converted] = funnel.opportunity_created[opportunity] - lag.astype(np.int64).astype("timedelta64[s]")
    owner = employees.pick("SALES", created, rng.uniform(n))
    owner[converted] = accounts.owner[account[converted]]
    account_ids = pc.replace_with_mask(pa.nulls(n, pa.string()), pa.array(converted),
                                       account_uuids(plan, account[converted]))
    return build_table(LEADS, {
        "lead_uuid": derive_uuids(plan.ids, "lead", block.start, block.stop),
        "company_name": company,
        "contact_name": join_strings(pools.take("first_names", first), " ", pools.take("last_names", last)),
        "email": join_strings(pools.take("first_ascii", first), ".", pools.take("last_ascii", last), "@",
                              pa.array(domains, pa.string())),
        "source": np.array(v.LEAD_SOURCE, dtype=object)[rng.choice(n, [35, 20, 15, 20, 10])],
        "status": np.array(v.LEAD_STATUS, dtype=object)[status],
        "owner_employee_uuid": employee_uuids(plan, owner),
        "account_uuid": account_ids,
        "created_at": created,
    })


@blocked
def generate_leads(plan: TierPlan) -> Blocks:
    funnel, accounts, employees = cached_funnel_plan(plan), cached_account_plan(plan), cached_employee_plan(plan)
    return Blocks(lambda b: _lead_block(plan, funnel, accounts, employees, b), plan.leads, plan.block_rows)
