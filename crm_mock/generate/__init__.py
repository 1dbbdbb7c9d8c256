"""Pure, vectorised, deterministic generators: a function of (scenario tier plan, block). No Dagster here."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from crm_mock.generate.contact import generate_accounts, generate_contacts
from crm_mock.generate.hr import generate_employees
from crm_mock.generate.ids import derive_uuids
from crm_mock.generate.inventory import generate_products, generate_stock_levels, generate_warehouses
from crm_mock.generate.replicas import project_replica
from crm_mock.scenario import TierPlan

Generator = Callable[..., pa.Table]

# master tables and the generator that builds each (the Dagster layer makes one asset per entry)
MASTER_GENERATORS: dict[str, Generator] = {
    "hr.employees": generate_employees,
    "contact.accounts": generate_accounts,
    "contact.contacts": generate_contacts,
    "inventory.products": generate_products,
    "inventory.warehouses": generate_warehouses,
    "inventory.stock_levels": generate_stock_levels,
}

ENTITY_COUNTS: dict[str, Callable[[TierPlan], int]] = {
    "employee": lambda plan: plan.employees,
    "account": lambda plan: plan.accounts,
    "contact": lambda plan: plan.contacts,
    "product": lambda plan: plan.products,
    "warehouse": lambda plan: plan.warehouses,
}


def id_map(plan: TierPlan, entity: str) -> pa.Table:
    """Row index -> UUID for every row of an entity in this tier."""
    n = ENTITY_COUNTS[entity](plan)
    return pa.table({"row_index": pa.array(range(n), pa.int64()),
                     f"{entity}_uuid": derive_uuids(plan.seed, entity, 0, n)})


__all__ = ["ENTITY_COUNTS", "MASTER_GENERATORS", "id_map", "project_replica"]
