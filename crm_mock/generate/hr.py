"""hr.employees: a company with an org chart.

The chief executive (employee 0) was hired first. Each department has a head (its earliest-hired
employee still with the company) reporting to the chief executive; departments bigger than a team have
managers (the next earliest hires), and everyone else reports to a manager of their own department hired
before them, or to the head. Terminated employees manage no one. Titles follow department and level.
E-mail addresses are first.last@, with a middle initial (then a number) when two people share a name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from crm_mock.generate.frame import Block, Blocks, blocked, blocks_of, build_table, occurrence_rank
from crm_mock.generate.ids import derive_uuids, uuids_at
from crm_mock.generate.memo import memoised
from crm_mock.generate.planting import plant_cells, planted_cells
from crm_mock.generate.pools import (
    HEAD_TITLES, MANAGER_TITLES, STAFF_TITLES, ascii_slug, locale_pools,
)
from crm_mock.generate.random import Stream
from crm_mock.model import vocabularies as v
from crm_mock.scenario import TierPlan

TABLE = "hr.employees"
ENTITY = "employee"
COMPANY_DOMAIN = "northwind-mock.example"
CHIEF_EXECUTIVE = 0
# where our own staff come from (a company headquartered in the US with offices abroad)
STAFF_COUNTRIES = {"US": 60, "GB": 15, "DE": 10, "CA": 8, "IN": 7}
DEPARTMENT_WEIGHTS = {"EXECUTIVE": 2, "SALES": 30, "SUPPORT": 20, "FINANCE": 8, "OPERATIONS": 15, "HR": 4,
                      "ENGINEERING": 13, "MARKETING": 8}
STATUS_WEIGHTS = {"ACTIVE": 92, "ON_LEAVE": 3, "TERMINATED": 5}
ACTIVE, TERMINATED = v.EMPLOYEE_STATUS.index("ACTIVE"), v.EMPLOYEE_STATUS.index("TERMINATED")
EXECUTIVE = v.DEPARTMENT.index("EXECUTIVE")
# department heads were on board before the first account, lead or ticket they may own (days of margin)
HEAD_MARGIN_DAYS = 120


@dataclass(frozen=True)
class EmployeePlan:
    """The org chart and what other tables need: who works where, since when, and who may own work."""

    departments: np.ndarray  # indices into v.DEPARTMENT
    statuses: np.ndarray  # indices into v.EMPLOYEE_STATUS
    hire_date: np.ndarray  # datetime64[D]
    manager: np.ndarray  # employee index, -1 for the chief executive
    level: np.ndarray  # 0 chief executive / executive, 1 head, 2 manager, 3 staff
    heads: dict[int, int]  # department index -> head employee
    country: np.ndarray  # index into STAFF_COUNTRIES
    first: np.ndarray  # index into the staff country's first names
    last: np.ndarray
    email: np.ndarray  # object

    def active_in(self, department: str) -> np.ndarray:
        """Indices of ACTIVE employees of a department; falls back to the chief executive."""
        mask = (self.departments == v.DEPARTMENT.index(department)) & (self.statuses == ACTIVE)
        found = np.flatnonzero(mask)
        return found if len(found) else np.array([CHIEF_EXECUTIVE])

    def pick(self, department: str, at: np.ndarray, u: np.ndarray) -> np.ndarray:
        """For each moment ``at``, an ACTIVE employee of ``department`` already hired on that day (uniformly
        by ``u``); the department's head, hired before any work began, when nobody else was."""
        d = v.DEPARTMENT.index(department)
        eligible = np.flatnonzero((self.departments == d) & (self.statuses == ACTIVE))
        fallback = self.heads.get(d, CHIEF_EXECUTIVE)
        if not len(eligible):
            return np.full(len(at), fallback, dtype=np.int64)
        eligible = eligible[np.argsort(self.hire_date[eligible], kind="stable")]
        day = np.asarray(at, dtype="datetime64[s]").astype("datetime64[D]")
        count = np.searchsorted(self.hire_date[eligible], day, side="right")
        chosen = eligible[np.minimum(np.floor(u * count).astype(np.int64), len(eligible) - 1)]
        return np.where(count > 0, chosen, fallback)


def _draw(plan: TierPlan) -> tuple[np.ndarray, ...]:
    n = plan.employees
    departments, statuses = np.empty(n, np.int64), np.empty(n, np.int64)
    country, pick_first, pick_last, tenure = np.empty(n, np.int64), np.empty(n), np.empty(n), np.empty(n, np.int64)
    names = list(DEPARTMENT_WEIGHTS)
    for block in blocks_of(n, plan.block_rows):
        rng = Stream(plan.seed, TABLE, "plan", block=block.index)
        rows = slice(block.start, block.stop)
        departments[rows] = [v.DEPARTMENT.index(names[i]) for i in
                             rng.choice(block.size, list(DEPARTMENT_WEIGHTS.values()))]
        statuses[rows] = rng.choice(block.size, list(STATUS_WEIGHTS.values()))
        people = Stream(plan.seed, TABLE, "rows", block=block.index)
        country[rows] = people.choice(block.size, list(STAFF_COUNTRIES.values()))
        pick_first[rows], pick_last[rows] = people.uniform(block.size), people.uniform(block.size)
        tenure[rows] = people.integers(30, 365 * plan.realism.employee_history_years, block.size)
    # the chief executive, and one of each team the rest of the data leans on
    for index, department in {0: "EXECUTIVE", 1: "SALES", 2: "SUPPORT"}.items():
        if index < n:
            departments[index], statuses[index] = v.DEPARTMENT.index(department), ACTIVE
    tenure[CHIEF_EXECUTIVE] = 365 * plan.realism.employee_history_years  # the founder came first
    return departments, statuses, country, pick_first, pick_last, tenure


def employee_plan(plan: TierPlan) -> EmployeePlan:
    n = plan.employees
    departments, statuses, country, pick_first, pick_last, tenure = _draw(plan)
    hire = np.datetime64(plan.reference_date, "D") - tenure.astype("timedelta64[D]")
    planted = planted_cells(plan).get(TABLE, {}).get("hire_date", {})
    for row, (_, day) in planted.items():  # the org chart is built around the planted hire dates
        hire[row] = np.datetime64(day, "D")
    head_by = (np.datetime64(plan.reference_date, "D")
               - np.timedelta64(plan.realism.account_history_years * 365 + HEAD_MARGIN_DAYS, "D"))
    may_lead = (statuses != TERMINATED) & ~np.isin(np.arange(n), list(planted))
    may_lead[CHIEF_EXECUTIVE] = False
    manager = np.full(n, CHIEF_EXECUTIVE, dtype=np.int64)
    manager[CHIEF_EXECUTIVE] = -1
    level = np.full(n, 3, dtype=np.int64)
    level[CHIEF_EXECUTIVE] = 0
    heads: dict[int, int] = {}
    for d in range(len(v.DEPARTMENT)):
        members = np.flatnonzero(departments == d)
        members = members[members != CHIEF_EXECUTIVE]
        if d == EXECUTIVE:
            level[members] = 0  # executives report to the chief executive
            continue
        leaders = members[may_lead[members]]
        if not len(leaders):
            continue  # a department without anyone to lead it reports to the chief executive
        leaders = leaders[np.argsort(hire[leaders], kind="stable")]
        head = int(leaders[0])
        heads[d] = head
        hire[head] = min(hire[head], head_by)
        level[head] = 1
        team_leads = leaders[1:1 + (len(members) - 1) // (plan.realism.span_of_control + 1)]
        level[team_leads] = 2
        manager[team_leads] = head
        staff = members[level[members] == 3]
        _report(staff, team_leads, head, hire, manager, Stream(plan.seed, TABLE, "reports", d))
    first, last, email = _names_and_emails(plan, country, pick_first, pick_last, planted_cells(plan).get(TABLE, {}))
    return EmployeePlan(departments, statuses, hire, manager, level, heads, country, first, last, email)


def _report(staff: np.ndarray, team_leads: np.ndarray, head: int, hire: np.ndarray, manager: np.ndarray,
            rng: Stream) -> None:
    """Each of ``staff`` reports to a team lead hired on or before them, else the head if hired before
    them, else the chief executive."""
    if not len(staff):
        return
    u = rng.uniform(len(staff))
    if len(team_leads):
        leads = team_leads[np.argsort(hire[team_leads], kind="stable")]
        count = np.searchsorted(hire[leads], hire[staff], side="right")
        chosen = leads[np.minimum(np.floor(u * count).astype(np.int64), len(leads) - 1)]
    else:
        count, chosen = np.zeros(len(staff), np.int64), np.zeros(len(staff), np.int64)
    fallback = np.where(hire[head] <= hire[staff], head, CHIEF_EXECUTIVE)
    manager[staff] = np.where(count > 0, chosen, fallback)


def _names_and_emails(plan: TierPlan, country: np.ndarray, pick_first: np.ndarray, pick_last: np.ndarray,
                      planted: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pools = locale_pools(plan.seed)
    codes = list(STAFF_COUNTRIES)
    first, last = np.empty(len(country), np.int64), np.empty(len(country), np.int64)
    first_ascii, last_ascii = np.empty(len(country), object), np.empty(len(country), object)
    for c, code in enumerate(codes):
        rows = country == c
        pool = pools[code]
        first[rows] = np.floor(pick_first[rows] * len(pool.first_names)).astype(np.int64)
        last[rows] = np.floor(pick_last[rows] * len(pool.last_names)).astype(np.int64)
        first_ascii[rows], last_ascii[rows] = pool.first_ascii[first[rows]], pool.last_ascii[last[rows]]
    for column, spelled in (("first_name", first_ascii), ("last_name", last_ascii)):
        for row, (_, value) in planted.get(column, {}).items():  # a planted name is spelled in the address too
            if value and ascii_slug(value):
                spelled[row] = ascii_slug(value)[:30]
    base = first_ascii + "." + last_ascii
    local = base.copy()
    # a second Jane Doe becomes jane.m.doe (her middle initial), a later one jane.doe3
    repeat = occurrence_rank(base)
    initials = np.array(list("abcdefghijklmnoprstvw"), dtype=object)
    middle = initials[Stream(plan.seed, TABLE, "middle_initial").integers(0, len(initials), len(base))]
    later = repeat > 0
    local[later] = first_ascii[later] + "." + middle[later] + "." + last_ascii[later]
    for _ in range(10):
        rank = occurrence_rank(local)
        clash = rank > 0
        if not clash.any():
            break
        local[clash] = base[clash] + (rank[clash] + repeat[clash] + 1).astype(str).astype(object)
    return first, last, local + "@" + COMPANY_DOMAIN


def cached_employee_plan(plan: TierPlan) -> EmployeePlan:
    return memoised("employees", plan, employee_plan)


def employee_uuids(plan: TierPlan, indices: np.ndarray) -> pa.StringArray:
    return uuids_at(plan.ids, ENTITY, indices)


def _titles(plan: TierPlan, people: EmployeePlan, index: np.ndarray) -> np.ndarray:
    rng = Stream(plan.seed, TABLE, "titles")
    u = rng.uniform(plan.employees)[index]
    departments = people.departments[index]
    level = people.level[index]
    titles = np.empty(len(index), dtype=object)
    for d, department in enumerate(v.DEPARTMENT):
        for lvl, table in ((0, HEAD_TITLES), (1, HEAD_TITLES), (2, MANAGER_TITLES), (3, STAFF_TITLES)):
            rows = (departments == d) & (level == lvl)
            options = np.array(table[department], dtype=object)
            if department == "EXECUTIVE" and lvl == 0:  # one of each officer, in turn
                titles[rows] = options[(index[rows] - 1) % len(options)]
            else:
                titles[rows] = options[np.floor(u[rows] * len(options)).astype(np.int64)]
    titles[index == CHIEF_EXECUTIVE] = "Chief Executive Officer"
    return titles


def _block(plan: TierPlan, people: EmployeePlan, block: Block) -> pa.Table:
    rows = slice(block.start, block.stop)
    index = np.arange(block.start, block.stop)
    pools = locale_pools(plan.seed)
    first, last = np.empty(block.size, object), np.empty(block.size, object)
    for c, code in enumerate(STAFF_COUNTRIES):
        mask = people.country[rows] == c
        first[mask] = pools[code].first_names[people.first[rows][mask]]
        last[mask] = pools[code].last_names[people.last[rows][mask]]
    manager_index = people.manager[rows]
    manager = employee_uuids(plan, np.maximum(manager_index, 0)).to_numpy(zero_copy_only=False).astype(object)
    manager[manager_index < 0] = None
    return build_table(TABLE, {
        "employee_uuid": derive_uuids(plan.ids, ENTITY, block.start, block.stop),
        "manager_uuid": manager,
        "first_name": first,
        "last_name": last,
        "email": people.email[rows],
        "department": np.array(v.DEPARTMENT, dtype=object)[people.departments[rows]],
        "job_title": _titles(plan, people, index),
        "hire_date": people.hire_date[rows],
        "status": np.array(v.EMPLOYEE_STATUS, dtype=object)[people.statuses[rows]],
    })


@blocked
def generate_employees(plan: TierPlan) -> Blocks:
    people = cached_employee_plan(plan)
    return Blocks(lambda b: plant_cells(plan, TABLE, b.start, _block(plan, people, b)), plan.employees,
                    plan.block_rows)


assert set(STAFF_COUNTRIES) <= set(v.LOCALES_BY_COUNTRY)
