"""Master data: HR employees, Contact accounts and contacts, Inventory products, warehouses and stock."""

import dagster as dg

from crm_mock.defs.generated import generated_table_asset
from crm_mock.generate import MASTER_GENERATORS


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[generated_table_asset(name, "master_data") for name in MASTER_GENERATORS])
