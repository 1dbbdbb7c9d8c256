"""support.tickets: requests from customers, skewed toward large accounts, with SLA targets by segment
and priority; some first responses breach their target."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa

from crm_mock.generate.contact import account_uuids, cached_account_plan, contact_created_at
from crm_mock.edge_cases.planting import (
    GOLDEN_HOLD_ACCOUNT, GOLDEN_TICKET, SUSPENDED_TICKET, plant_cells, rows_per_case,
)
from crm_mock.generate.frame import Block, assemble, build_table
from crm_mock.generate.hr import employee_plan, employee_uuids
from crm_mock.generate.ids import derive_uuids, uuids_at
from crm_mock.generate.orders import weighted_accounts
from crm_mock.generate.random import Stream
from crm_mock.generate.timeline import moment, seasonal_moments
from crm_mock.model import vocabularies as v
from crm_mock.scenario import TierPlan

TICKETS = "support.tickets"
SEGMENT_TICKET_WEIGHT = {"SMALL_BUSINESS": 1.0, "MID_MARKET": 2.5, "ENTERPRISE": 6.0}
PRIORITY_SHARES = (25, 45, 22, 8)  # LOW, NORMAL, HIGH, URGENT
# first-response targets in hours: rows are segments, columns priorities (LOW … URGENT)
SLA_HOURS = np.array([[72, 48, 24, 4], [48, 24, 8, 2], [24, 8, 4, 1]], dtype=np.float64)
RESOLUTION_MEDIAN_HOURS = np.array([120, 72, 24, 8], dtype=np.float64)
CLOSED_AFTER_DAYS = 7  # resolved tickets are closed a week later
SUBJECTS = np.array([
    "Invoice amount does not match the quote", "Order not yet delivered", "Damaged goods on arrival",
    "Request for a credit note", "Cannot log in to the customer portal", "Change of billing address",
    "Wrong item shipped", "Question about payment terms", "Installation appointment", "Product stopped working",
    "Missing items in shipment", "Request for a copy of an invoice", "Bulk order pricing", "Return authorisation",
], dtype=object)


def _ticket_block(plan: TierPlan, block: Block) -> pa.Table:
    accounts = cached_account_plan(plan)
    rng = Stream(plan.seed, TICKETS, "rows", block=block.index)
    n = block.size
    reference = moment(plan.reference_moment)
    start = moment(plan.history_start)
    created = seasonal_moments(plan.history_start, plan.reference_date, np.full(n, start), np.full(n, reference),
                               rng.uniform(n), rng.uniform(n))
    weight = (np.array([SEGMENT_TICKET_WEIGHT[s] for s in v.ACCOUNT_SEGMENT])[accounts.segment]
              * Stream(plan.seed, TICKETS, "account_weights").lognormal(1.0, 0.8, len(accounts.segment)))
    account = weighted_accounts(accounts, weight, created, rng.uniform(n))

    # most tickets come from a contact of the account, raised after that contact existed
    has_contact = ~rng.bernoulli(0.1, n)
    contact = accounts.contact_offsets[account] + np.floor(
        rng.uniform(n) * accounts.contact_counts[account]).astype(np.int64)
    contact_created = contact_created_at(plan, accounts, contact)
    created = np.maximum(created, accounts.created_at[account])
    created = np.where(has_contact, np.maximum(created, contact_created), created)
    contact_ids = uuids_at(plan.ids, "contact", contact).to_numpy(zero_copy_only=False).astype(object)
    contact_ids[~has_contact] = None

    priority = rng.choice(n, PRIORITY_SHARES)
    target = SLA_HOURS[accounts.segment[account], priority]
    sla_due = created + np.round(target * 3600).astype(np.int64).astype("timedelta64[s]")
    response = np.round(target * 3600 * rng.lognormal(0.55, 0.7, n)).astype(np.int64).astype("timedelta64[s]")
    first_response = created + response
    resolution = np.round(3600 * rng.lognormal(RESOLUTION_MEDIAN_HOURS[priority], 1.0, n)).astype(np.int64)
    resolved = first_response + resolution.astype("timedelta64[s]")

    answered = first_response <= reference
    done = answered & (resolved <= reference)
    status = np.where(rng.bernoulli(0.7, n), v.TICKET_STATUS.index("OPEN"), v.TICKET_STATUS.index("PENDING"))
    status[~answered] = v.TICKET_STATUS.index("NEW")
    closed = done & (resolved <= reference - np.timedelta64(CLOSED_AFTER_DAYS * 86_400, "s"))
    status[done] = v.TICKET_STATUS.index("RESOLVED")
    status[closed] = v.TICKET_STATUS.index("CLOSED")

    for row, forced_account, forced_priority in forced_tickets(plan, accounts):
        if not block.start <= row < block.stop:
            continue
        i = row - block.start
        account[i], priority[i] = forced_account, forced_priority
        created[i] = reference - np.timedelta64(2 * 86_400 - 3_600, "s")  # raised two days ago, still open
        first_contact = accounts.contact_offsets[forced_account]
        has_contact[i] = contact_created_at(plan, accounts, np.array([first_contact]))[0] <= created[i]
        contact_ids[i] = uuids_at(plan.ids, "contact", np.array([first_contact]))[0].as_py() if has_contact[i] else None
        target[i] = SLA_HOURS[accounts.segment[forced_account], forced_priority]
        sla_due[i] = created[i] + np.timedelta64(int(target[i] * 3600), "s")
        first_response[i] = created[i] + np.timedelta64(20 * 60, "s")
        answered[i], done[i] = True, False
        status[i] = v.TICKET_STATUS.index("OPEN")

    support = employee_plan(plan).active_in("SUPPORT")
    assignee = employee_uuids(plan, support[rng.integers(0, len(support), n)]).to_numpy(zero_copy_only=False)
    assignee = assignee.astype(object)
    assignee[~answered & rng.bernoulli(0.5, n)] = None  # new tickets may wait in the queue
    return build_table(TICKETS, {
        "ticket_uuid": derive_uuids(plan.ids, "ticket", block.start, block.stop),
        "account_uuid": account_uuids(plan, account),
        "contact_uuid": contact_ids,
        "assignee_employee_uuid": assignee,
        "subject": SUBJECTS[rng.integers(0, len(SUBJECTS), n)],
        "channel": np.array(v.TICKET_CHANNEL, dtype=object)[rng.choice(n, (45, 25, 20, 10))],
        "priority": np.array(v.TICKET_PRIORITY, dtype=object)[priority],
        "status": np.array(v.TICKET_STATUS, dtype=object)[status],
        "created_at": created,
        "sla_due_at": sla_due,
        "first_response_at": np.where(answered, first_response, np.datetime64("NaT")),
        "resolved_at": np.where(done, resolved, np.datetime64("NaT")),
    })


def forced_tickets(plan: TierPlan, accounts) -> list[tuple[int, int, int]]:
    """(ticket row, account, priority): the golden credit-hold account's URGENT ticket, always, and an
    open ticket of a SUSPENDED account when edge cases are planted."""
    forced = [(GOLDEN_TICKET, GOLDEN_HOLD_ACCOUNT, v.TICKET_PRIORITY.index("URGENT"))]
    suspended = np.flatnonzero(accounts.status == v.ACCOUNT_STATUS.index("SUSPENDED"))
    if rows_per_case(plan) and len(suspended):
        forced.append((SUSPENDED_TICKET, int(suspended[0]), v.TICKET_PRIORITY.index("HIGH")))
    return [f for f in forced if f[0] < plan.tickets]


def generate_tickets(plan: TierPlan, blocks: Iterable[int] | None = None) -> pa.Table:
    return assemble(lambda b: plant_cells(plan, TICKETS, b.start, _ticket_block(plan, b)), plan.tickets,
                    plan.block_rows, blocks)
