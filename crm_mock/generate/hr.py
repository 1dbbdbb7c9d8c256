"""hr.employees: a company of employees under one manager tree."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from crm_mock.edge_cases.planting import plant_cells
from crm_mock.generate.frame import Block, assemble, blocks_of, build_table, concat
from crm_mock.generate.ids import derive_uuids, uuids_at
from crm_mock.generate.pools import JOB_TITLES, LOCALES_BY_COUNTRY, locale_pools
from crm_mock.generate.random import Stream
from crm_mock.generate.timeline import days_before
from crm_mock.model import vocabularies as v
from crm_mock.scenario import TierPlan

TABLE = "hr.employees"
ENTITY = "employee"
COMPANY_DOMAIN = "northwind-mock.example"
# where our own staff come from (a company headquartered in the US with offices abroad)
STAFF_COUNTRIES = {"US": 60, "GB": 15, "DE": 10, "CA": 8, "IN": 7}
DEPARTMENT_WEIGHTS = {"EXECUTIVE": 2, "SALES": 30, "SUPPORT": 20, "FINANCE": 8, "OPERATIONS": 15, "HR": 4,
                      "ENGINEERING": 13, "MARKETING": 8}
STATUS_WEIGHTS = {"ACTIVE": 92, "ON_LEAVE": 3, "TERMINATED": 5}


@dataclass(frozen=True)
class EmployeePlan:
    """Per-employee facts other tables depend on (who may own accounts, who works support)."""

    departments: np.ndarray  # indices into v.DEPARTMENT
    statuses: np.ndarray  # indices into v.EMPLOYEE_STATUS

    def active_in(self, department: str) -> np.ndarray:
        """Indices of ACTIVE employees of a department; falls back to the head of the company."""
        mask = (self.departments == v.DEPARTMENT.index(department)) & (self.statuses == 0)
        found = np.flatnonzero(mask)
        return found if len(found) else np.array([0])


def employee_plan(plan: TierPlan) -> EmployeePlan:
    n = plan.employees
    departments = np.empty(n, dtype=np.int64)
    statuses = np.empty(n, dtype=np.int64)
    names = list(DEPARTMENT_WEIGHTS)
    for block in blocks_of(n, plan.block_rows):
        rng = Stream(plan.seed, TABLE, "plan", block=block.index)
        departments[block.start:block.stop] = [v.DEPARTMENT.index(names[i]) for i in
                                               rng.choice(block.size, list(DEPARTMENT_WEIGHTS.values()))]
        statuses[block.start:block.stop] = rng.choice(block.size, list(STATUS_WEIGHTS.values()))
    # the head of the company, and one of each team the rest of the data leans on
    fixed = {0: "EXECUTIVE", 1: "SALES", 2: "SUPPORT"}
    for index, department in fixed.items():
        if index < n:
            departments[index] = v.DEPARTMENT.index(department)
            statuses[index] = 0
    return EmployeePlan(departments, statuses)


def employee_uuids(plan: TierPlan, indices: np.ndarray) -> pa.StringArray:
    return uuids_at(plan.ids, ENTITY, indices)


def _block(plan: TierPlan, people: EmployeePlan, block: Block) -> pa.Table:
    rng = Stream(plan.seed, TABLE, "rows", block=block.index)
    n = block.size
    index = np.arange(block.start, block.stop)
    pools = locale_pools(plan.seed)
    countries = list(STAFF_COUNTRIES)
    country = rng.choice(n, list(STAFF_COUNTRIES.values()))
    first = np.empty(n, dtype=object)
    last = np.empty(n, dtype=object)
    first_ascii = np.empty(n, dtype=object)
    last_ascii = np.empty(n, dtype=object)
    pick_first = rng.uniform(n)
    pick_last = rng.uniform(n)
    for c, code in enumerate(countries):
        rows = country == c
        pool = pools[code]
        fi = np.floor(pick_first[rows] * len(pool.first_names)).astype(np.int64)
        li = np.floor(pick_last[rows] * len(pool.last_names)).astype(np.int64)
        first[rows], first_ascii[rows] = pool.first_names[fi], pool.first_ascii[fi]
        last[rows], last_ascii[rows] = pool.last_names[li], pool.last_ascii[li]
    # "jdoe17@…": the employee number keeps every address unique
    email = concat(np.array([f[0] for f in first_ascii], dtype=object), last_ascii,
                   (index + 1).astype(str).astype(object), "@" + COMPANY_DOMAIN)

    # a manager is always an earlier employee, so the graph is one tree rooted at employee 0;
    # squaring the uniform leans managers toward the top of the company
    manager_index = np.floor(rng.uniform(n) ** 2 * index).astype(np.int64)
    manager = employee_uuids(plan, np.maximum(manager_index, 0)).to_numpy(zero_copy_only=False).astype(object)
    manager[index == 0] = None

    departments = people.departments[block.start:block.stop]
    title_pick = rng.uniform(n)
    job_title = np.empty(n, dtype=object)
    for d, department in enumerate(v.DEPARTMENT):
        rows = departments == d
        titles = np.array(JOB_TITLES[department], dtype=object)
        job_title[rows] = titles[np.floor(title_pick[rows] * len(titles)).astype(np.int64)]
    job_title[index == 0] = "Chief Executive Officer"

    tenure_days = rng.integers(30, 365 * plan.realism.employee_history_years, n)
    tenure_days[index == 0] = 365 * plan.realism.employee_history_years  # the founder came first
    return build_table(TABLE, {
        "employee_uuid": derive_uuids(plan.ids, ENTITY, block.start, block.stop),
        "manager_uuid": manager,
        "first_name": first,
        "last_name": last,
        "email": email,
        "department": np.array(v.DEPARTMENT, dtype=object)[departments],
        "job_title": job_title,
        "hire_date": days_before(plan.reference_date, tenure_days),
        "status": np.array(v.EMPLOYEE_STATUS, dtype=object)[people.statuses[block.start:block.stop]],
    })


def generate_employees(plan: TierPlan, blocks: Iterable[int] | None = None) -> pa.Table:
    people = employee_plan(plan)
    return assemble(lambda b: plant_cells(plan, TABLE, b.start, _block(plan, people, b)), plan.employees,
                    plan.block_rows, blocks)


assert set(STAFF_COUNTRIES) <= set(LOCALES_BY_COUNTRY)
