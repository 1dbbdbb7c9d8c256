"""Transactions: leads → opportunities → quotes → orders → stock movements → invoices → payments → ledger,
and support tickets, along a timeline that ends at the scenario's reference date."""

import dagster as dg

from crm_mock.defs.generated import generated_table_asset
from crm_mock.generate import TRANSACTION_GENERATORS


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[generated_table_asset(name, "transactions") for name in TRANSACTION_GENERATORS])
