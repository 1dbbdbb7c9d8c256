"""Master data: HR employees, Contact accounts and contacts, Inventory products, warehouses and stock."""

import dagster as dg

from crm_mock.defs.generated import generated_table_asset
from crm_mock.defs.metadata import preview
from crm_mock.defs.partitions import TIER_PARTITIONS
from crm_mock.defs.resources import ScenarioResource
from crm_mock.generate import MASTER_GENERATORS
from crm_mock.generate.finance import credit_holds


@dg.asset(
    key=["finance", "credit_holds"], group_name="master_data", partitions_def=TIER_PARTITIONS, kinds={"parquet"},
    io_manager_key="table_io_manager", deps=[dg.AssetKey(["id_maps", "account"])], tags={"service": "finance"},
    description="The accounts Finance has put on credit hold. Finance owns the hold: Contact's ON_HOLD account "
                "status and finance.customer_accounts.credit_status are synced from here.",
)
def finance_credit_holds(context: dg.AssetExecutionContext, scenario: ScenarioResource) -> dg.MaterializeResult:
    holds = credit_holds(scenario.plan(context.partition_key))
    return dg.MaterializeResult(value=holds, metadata={
        "dagster/row_count": holds.num_rows,
        "dagster/column_schema": dg.TableSchema(columns=[
            dg.TableColumn("account_uuid", "uuid", constraints=dg.TableColumnConstraints(unique=True)),
            dg.TableColumn("credit_status", "varchar(20)"), dg.TableColumn("placed_on", "date")]),
        "preview": preview(holds),
    })


@dg.definitions
def defs() -> dg.Definitions:
    tables = [generated_table_asset(name, "master_data") for name in MASTER_GENERATORS]
    return dg.Definitions(assets=[finance_credit_holds, *tables])
