"""support.tickets: requests from customers, skewed toward large accounts, with SLA targets by segment
and priority.

Each ticket has a category; delivery, billing, product and return tickets name the order, invoice or
product they are about (one the account had before the ticket; an account with none asks something
else), and say so in their subject and description. Tickets are numbered in the order they came in. They
are answered within a few times their SLA target and resolved within support.max_open_days, some waiting
on the customer; resolved tickets close support.close_after_days later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from crm_mock.generate.catalogue import KINDS
from crm_mock.generate.contact import (
    account_uuids, cached_account_plan, contact_accounts_of, contact_created_at, contact_names,
)
from crm_mock.generate.finance import cached_invoice_plan
from crm_mock.generate.frame import Block, Blocks, blocked, blocks_of, build_table
from crm_mock.generate.hr import cached_employee_plan, employee_uuids
from crm_mock.generate.ids import derive_uuids, uuids_at
from crm_mock.generate.inventory import cached_product_plan
from crm_mock.generate.memo import memoised, spill
from crm_mock.generate.money import DocumentNumbers, document_numbers
from crm_mock.generate.orders import AccountDraw, account_draw, buying_accounts, cached_order_plan
from crm_mock.generate.planting import (
    GOLDEN_HOLD_ACCOUNT, GOLDEN_TICKET, SUSPENDED_TICKET, Plant, plant_cells, rows_per_case,
)
from crm_mock.generate.pools import CountryPools
from crm_mock.generate.random import Stream
from crm_mock.generate.support_text import CATEGORIES
from crm_mock.generate.timeline import SECONDS_PER_DAY, moment, seasonal_moments
from crm_mock.model import vocabularies as v
from crm_mock.scenario import TierPlan

TICKETS = "support.tickets"
FORCED_STATUS = "OPEN"  # the forced tickets were answered and are still open
SEGMENT_TICKET_WEIGHT = {"SMALL_BUSINESS": 1.0, "MID_MARKET": 2.5, "ENTERPRISE": 6.0}
PRIORITY_SHARES = (25, 45, 22, 8)  # LOW, NORMAL, HIGH, URGENT
# first-response targets in hours: rows are segments, columns priorities (LOW … URGENT)
SLA_HOURS = np.array([[72, 48, 24, 4], [48, 24, 8, 2], [24, 8, 4, 1]], dtype=np.float64)
PRIORITY_SPEED = np.array([1.4, 1.0, 0.5, 0.25])  # urgent work is done sooner
LATEST_RESPONSE_FACTOR = 3.0  # no answer comes later than three SLA targets
RECENT_ORDERS = 5  # a ticket is about one of the account's last few orders
CATEGORY = {name: i for i, name in enumerate(v.TICKET_CATEGORY)}
NEEDS = {name: spec[1] for name, spec in CATEGORIES.items()}
FALLBACK_CATEGORY = {"order": "HOW_TO", "invoice": "ACCOUNT", "product": "HOW_TO"}


@dataclass(frozen=True)
class TicketPlan:
    account: np.ndarray
    contact: np.ndarray  # contact index, -1 when raised without one
    category: np.ndarray  # index into v.TICKET_CATEGORY
    order: np.ndarray  # order (and invoice) index the ticket is about, -1 when none
    product: np.ndarray  # product index, -1 when none
    priority: np.ndarray
    created: np.ndarray
    sla_due: np.ndarray
    first_response: np.ndarray  # NaT while unanswered
    resolved: np.ndarray  # NaT while open
    status: np.ndarray
    assignee: np.ndarray  # employee index, -1 while in the queue
    number: DocumentNumbers  # TKT-YYYY-NNNNNNN
    text_pick: np.ndarray  # uniforms choosing the subject and description


def _recent_order(orders, account: np.ndarray, at: np.ndarray, when: np.ndarray, u: np.ndarray) -> np.ndarray:
    """One of each account's last few orders with ``when`` (placed or shipped moment) before ``at``; -1 if none."""
    index = np.flatnonzero(~np.isnat(when))
    seconds = when[index].astype(np.int64)
    span = int(max(seconds.max(initial=0), at.astype(np.int64).max(initial=0))) + 1
    # in place where it can be: at the stress tier each of these is an int64 per order (3 M) or per ticket (2 M)
    key = orders.account[index].astype(np.int64)
    key *= span
    key += seconds
    del seconds
    sort = np.argsort(key, kind="stable")
    key, index = key[sort], index[sort]
    del sort
    target = account.astype(np.int64) * span
    start = np.searchsorted(key, target, side="left")
    target += at.astype(np.int64)
    before = np.searchsorted(key, target, side="right")
    del key, target
    count = before - start
    del start
    pick = before - 1 - np.floor(u * np.minimum(count, RECENT_ORDERS)).astype(np.int64)
    return np.where(count > 0, index[np.clip(pick, 0, max(len(index) - 1, 0))] if len(index) else -1, -1)


def _account_weights(plan: TierPlan, accounts) -> np.ndarray:
    """How much each account raises tickets (drawn once per plan, not per block)."""
    return (np.array([SEGMENT_TICKET_WEIGHT[s] for s in v.ACCOUNT_SEGMENT])[accounts.segment]
            * Stream(plan.seed, TICKETS, "account_weights").lognormal(1.0, 0.8, len(accounts.segment)))


def _block_draws(plan: TierPlan, accounts, draw: AccountDraw, block: Block) -> dict:
    rng = Stream(plan.seed, TICKETS, "rows", block=block.index)
    n = block.size
    reference = moment(plan.reference_moment)
    start = moment(plan.history_start)
    created = seasonal_moments(plan.history_start, plan.reference_date, np.full(n, start), np.full(n, reference),
                               rng.uniform(n), rng.uniform(n))
    account = buying_accounts(accounts, draw, created, rng)
    has_contact = ~rng.bernoulli(0.1, n)
    contact = accounts.contact_offsets[account] + np.floor(rng.uniform(n) * accounts.contact_counts[account]).astype(np.int64)
    created = np.maximum(created, accounts.created_at[account])
    created = np.where(has_contact, np.maximum(created, contact_created_at(plan, accounts, contact)), created)
    names = list(CATEGORIES)
    category = np.array([CATEGORY[names[i]] for i in rng.choice(n, [CATEGORIES[c][0] for c in names])])
    return dict(account=account, contact=np.where(has_contact, contact, -1), created=created, category=category,
                priority=rng.choice(n, PRIORITY_SHARES), u=rng.uniform(n * 8).reshape(n, 8))


def ticket_plan(plan: TierPlan) -> TicketPlan:
    accounts = cached_account_plan(plan)
    orders = cached_order_plan(plan)
    draw = account_draw(accounts, _account_weights(plan, accounts))
    parts = [_block_draws(plan, accounts, draw, b) for b in blocks_of(plan.tickets, plan.block_rows)]
    # the uniforms as one contiguous column per use, each let go after it (8 columns, 96 MB at the stress tier)
    u = [np.concatenate([p["u"][:, i] for p in parts]) for i in range(8)]
    for p in parts:
        del p["u"]
    # each draw joined and its blocks' parts let go before the next (the parts are 150 MB at the stress tier)
    draws = {key: np.concatenate([p.pop(key) for p in parts]) for key in list(parts[0])}
    del parts
    account, contact, created, category, priority = (draws.pop(k) for k in
                                                     ("account", "contact", "created", "category", "priority"))
    reference = moment(plan.reference_moment)
    _force(plan, accounts, account, contact, created, priority, category)
    contact = spill(contact)  # each field of the plan goes ahead to its file once final

    # what the ticket is about: an order placed (delivery), an invoice issued or goods delivered before it
    order = np.full(len(account), -1, dtype=np.int64)
    product = np.full(len(account), -1, dtype=np.int64)
    need = np.array([NEEDS[c] for c in v.TICKET_CATEGORY], dtype=object)[category]
    placed = _recent_order(orders, account, created, orders.placed_at, u[0])
    shipped = _recent_order(orders, account, created, orders.shipped_at, u[0])
    u[0] = None
    order = np.where(need == "order", placed, np.where((need == "invoice") | (need == "product"), shipped, -1))
    del placed, shipped
    about_goods = (need == "product") & (order >= 0)
    first_line = orders.line_offsets[np.maximum(order, 0)]
    lines = np.diff(orders.line_offsets)[np.maximum(order, 0)]
    product[about_goods] = orders.line_product[first_line + np.floor(u[1] * lines).astype(np.int64)][about_goods]
    del about_goods, first_line, lines
    product, order = spill(product), spill(order)
    orphan = (need != None) & (order < 0)  # noqa: E711 (an object array of None and str)
    category[orphan] = [CATEGORY[FALLBACK_CATEGORY[n]] for n in need[orphan]]
    del need, orphan

    target = SLA_HOURS[accounts.segment[account], priority]
    account = spill(account)
    sla_due = spill(created + np.round(target * 3600).astype(np.int64).astype("timedelta64[s]"))
    response_hours = np.minimum(target * np.exp(0.7 * _normal(u[2], u[3]) - 0.3), target * LATEST_RESPONSE_FACTOR)
    u[2] = u[3] = None
    del target
    first_response = created + np.round(response_hours * 3600).astype(np.int64).astype("timedelta64[s]")
    del response_hours
    median = np.array([CATEGORIES[c][3] for c in v.TICKET_CATEGORY])[category] * PRIORITY_SPEED[priority]
    category, priority = spill(category), spill(priority)
    work_hours = np.minimum(median * np.exp(_normal(u[4], u[5])), plan.support.max_open_days * 24.0)
    u[4] = u[5] = None
    del median
    resolved = first_response + np.round(work_hours * 3600).astype(np.int64).astype("timedelta64[s]")
    del work_hours

    answered = first_response <= reference
    done = answered & (resolved <= reference)
    waiting = u[6] < plan.support.waiting_on_customer_share
    status = np.where(waiting, v.TICKET_STATUS.index("PENDING"), v.TICKET_STATUS.index("OPEN"))
    status[~answered] = v.TICKET_STATUS.index("NEW")
    status[done] = v.TICKET_STATUS.index("RESOLVED")
    closing = np.timedelta64(plan.support.close_after_days * SECONDS_PER_DAY, "s")
    status[done & (resolved + closing <= reference)] = v.TICKET_STATUS.index("CLOSED")
    for row, *_ in forced_tickets(plan, accounts):  # raised two days ago, answered, still open
        first_response[row] = created[row] + np.timedelta64(20 * 60, "s")
        answered[row], done[row], status[row] = True, False, v.TICKET_STATUS.index(FORCED_STATUS)

    # assigned to a support agent already hired when the ticket came in; new tickets may wait in the queue
    assignee = cached_employee_plan(plan).pick("SUPPORT", created, u[7])
    assignee[~answered & (u[6] < 0.5)] = -1
    status, assignee = spill(status), spill(assignee)
    first_response = spill(np.where(answered, first_response, np.datetime64("NaT")))
    resolved = spill(np.where(done, resolved, np.datetime64("NaT")))
    return TicketPlan(account, contact, category, order, product, priority, created, sla_due, first_response,
                      resolved, status, assignee, document_numbers("TKT", created), spill(u[1]))


def _normal(u1: np.ndarray, u2: np.ndarray) -> np.ndarray:
    return np.sqrt(-2.0 * np.log(1.0 - u1)) * np.cos(2.0 * np.pi * u2)


def _force(plan: TierPlan, accounts, account: np.ndarray, contact: np.ndarray, created: np.ndarray,
           priority: np.ndarray, category: np.ndarray) -> None:
    reference = moment(plan.reference_moment)
    for row, forced_account, forced_priority in forced_tickets(plan, accounts):
        account[row], priority[row] = forced_account, forced_priority
        created[row] = reference - np.timedelta64(2 * SECONDS_PER_DAY - 3_600, "s")
        first_contact = accounts.contact_offsets[forced_account]
        has = contact_created_at(plan, accounts, np.array([first_contact]))[0] <= created[row]
        contact[row] = first_contact if has else -1
        category[row] = CATEGORY["ACCOUNT"]


def forced_tickets(plan: TierPlan, accounts) -> list[tuple[int, int, int]]:
    """(ticket row, account, priority): the golden credit-hold account's URGENT ticket, always, and an
    open ticket of a SUSPENDED account when edge cases are planted."""
    forced = [(GOLDEN_TICKET, GOLDEN_HOLD_ACCOUNT, v.TICKET_PRIORITY.index("URGENT"))]
    suspended = np.flatnonzero(accounts.status == v.ACCOUNT_STATUS.index("SUSPENDED"))
    if rows_per_case(plan) and len(suspended):
        forced.append((SUSPENDED_TICKET, int(suspended[0]), v.TICKET_PRIORITY.index("HIGH")))
    return [f for f in forced if f[0] < plan.tickets]


def ticket_plants(plan: TierPlan, accounts) -> tuple[tuple[Plant, ...], tuple[Plant, ...]]:
    """What the forced tickets plant: the suspended account's open ticket (an edge case) and the golden
    credit-hold account's URGENT ticket (the golden scenario)."""
    plants, golden = [], []
    for row, _, priority in forced_tickets(plan, accounts):
        if row == GOLDEN_TICKET:
            golden.append(Plant("credit_hold_account", TICKETS, row, "priority", v.TICKET_PRIORITY[priority]))
        else:
            plants.append(Plant("suspended_account_open_ticket", TICKETS, row, "status", FORCED_STATUS))
    return tuple(plants), tuple(golden)


def cached_ticket_plan(plan: TierPlan) -> TicketPlan:
    return memoised("tickets", plan, ticket_plan)


def _texts(plan: TierPlan, tickets: TicketPlan, drawn_from: tuple, rows: slice) -> tuple[np.ndarray, np.ndarray]:
    orders, invoices, accounts = drawn_from
    pools = CountryPools(plan.seed, accounts.countries)
    contact = tickets.contact[rows]
    first, _ = contact_names(plan, accounts, pools, contact_accounts_of(accounts, np.maximum(contact, 0)),
                             np.maximum(contact, 0))
    signed = np.where(contact >= 0, pools.values("first_names")[first], "the purchasing team")
    kind = cached_product_plan(plan).kind
    noun_of_kind = [k.noun for k in KINDS]
    subjects, descriptions = [], []
    for category, order, product, name, pick in zip(tickets.category[rows], tickets.order[rows],
                                                     tickets.product[rows], signed, tickets.text_pick[rows]):
        _, _, texts, _ = CATEGORIES[v.TICKET_CATEGORY[category]]
        fields = {
            "order": orders.number[order] if order >= 0 else "",
            "invoice": (invoices.number[order] or "") if order >= 0 else "",
            "date": str(orders.placed_at[order].astype("datetime64[D]")) if order >= 0 else "",
            "product": noun_of_kind[kind[product]] if product >= 0 else "",
            "name": name,
        }
        subject, description = texts[int(pick * len(texts))]
        subjects.append(subject.format(**fields))
        descriptions.append(description.format(**fields))
    return np.array(subjects, dtype=object), np.array(descriptions, dtype=object)


def _ticket_block(plan: TierPlan, tickets: TicketPlan, drawn_from: tuple, block: Block) -> pa.Table:
    rows = slice(block.start, block.stop)
    contact = tickets.contact[rows]
    contact_ids = uuids_at(plan.ids, "contact", np.maximum(contact, 0)).to_numpy(zero_copy_only=False).astype(object)
    contact_ids[contact < 0] = None

    def reference(entity: str, index: np.ndarray, keep: np.ndarray) -> np.ndarray:
        ids = uuids_at(plan.ids, entity, np.maximum(index, 0)).to_numpy(zero_copy_only=False).astype(object)
        ids[~keep] = None
        return ids

    category = np.array(v.TICKET_CATEGORY, dtype=object)[tickets.category[rows]]
    order = tickets.order[rows]
    invoices = drawn_from[1]
    billing = (category == "BILLING") & (order >= 0)
    billing[billing] = invoices.number[order[billing]] != None  # noqa: E711
    assignee = tickets.assignee[rows]
    assignee_ids = employee_uuids(plan, np.maximum(assignee, 0)).to_numpy(zero_copy_only=False).astype(object)
    assignee_ids[assignee < 0] = None
    subject, description = _texts(plan, tickets, drawn_from, rows)
    return build_table(TICKETS, {
        "ticket_uuid": derive_uuids(plan.ids, "ticket", block.start, block.stop),
        "ticket_number": tickets.number[rows],
        "account_uuid": account_uuids(plan, tickets.account[rows]),
        "contact_uuid": contact_ids,
        "assignee_employee_uuid": assignee_ids,
        "category": category,
        "subject": subject,
        "description": description,
        "order_uuid": reference("order", order, (order >= 0) & (category != "BILLING")),
        "invoice_uuid": reference("invoice", order, billing),
        "product_uuid": reference("product", tickets.product[rows], tickets.product[rows] >= 0),
        "channel": np.array(v.TICKET_CHANNEL, dtype=object)[
            Stream(plan.seed, TICKETS, "channel", block=block.index).choice(block.size, (45, 25, 20, 10))],
        "priority": np.array(v.TICKET_PRIORITY, dtype=object)[tickets.priority[rows]],
        "status": np.array(v.TICKET_STATUS, dtype=object)[tickets.status[rows]],
        "created_at": tickets.created[rows],
        "sla_due_at": tickets.sla_due[rows],
        "first_response_at": tickets.first_response[rows],
        "resolved_at": tickets.resolved[rows],
    })


@blocked
def generate_tickets(plan: TierPlan) -> Blocks:
    tickets = cached_ticket_plan(plan)
    # held for the whole table: looked up per block, a plan the memo had let go was rebuilt per block
    drawn_from = (cached_order_plan(plan), cached_invoice_plan(plan), cached_account_plan(plan))
    return Blocks(lambda b: plant_cells(plan, TICKETS, b.start, _ticket_block(plan, tickets, drawn_from, b)),
                  plan.tickets, plan.block_rows)
