"""The tier's profile page: the distributions a person looks at first, as pictures in the asset's metadata."""

import base64

import dagster as dg

from crm_mock.defs.partitions import TIER_PARTITIONS
from crm_mock.defs.progress import step_tracker
from crm_mock.defs.resources import ScenarioResource, StorageResource
from crm_mock.defs.tables import table_key
from crm_mock.profile.distributions import profile

ORDERS, ACCOUNTS, INVOICES = "orders.sales_orders", "contact.accounts", "finance.invoices"
BATCH_ROWS = 500_000


def _image(png: bytes, title: str) -> dg.MetadataValue:
    return dg.MetadataValue.md(f"![{title}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})")


@dg.asset(
    key=["profile", "distributions"], group_name="profile", partitions_def=TIER_PARTITIONS, kinds={"matplotlib"},
    deps=[table_key(ORDERS), table_key(ACCOUNTS), table_key(INVOICES)], tags={"service": "all"},
    description="The tier at a glance: orders per month, order value by segment, accounts by country and the "
                "ageing of open invoices, as pictures on this page (one materialisation per tier: pick the "
                "partition).",
)
def profile_distributions(context: dg.AssetExecutionContext, scenario: ScenarioResource,
                          storage: StorageResource) -> dg.MaterializeResult:
    # matplotlib takes a second to import: only the step that draws pays it, not every process that loads
    # the code location (the webserver, the daemon, each run, each sensor tick)
    from crm_mock.profile.plots import CHARTS

    tier, store = context.partition_key, storage.store()
    with step_tracker(context):  # a heartbeat in the run's logs while it reads and draws
        # orders and invoices streamed (3 M rows each at the stress tier), in batches large enough that looking up
        # their accounts costs little
        found = profile(store.model_batches(tier, ORDERS, ["order_date", "account_uuid", "total_amount"], BATCH_ROWS),
                        store.read_model_table(tier, ACCOUNTS, ["account_uuid", "segment", "country_code"]),
                        store.model_batches(tier, INVOICES, ["status", "due_date"], BATCH_ROWS),
                        scenario.plan(tier).reference_date)
        metadata = {name: _image(chart(found, tier), name.replace("_", " ")) for name, chart in CHARTS.items()}
    metadata["orders"] = sum(found.orders_per_month.values())
    metadata["countries"] = len(found.accounts_by_country)
    metadata["open_invoices"] = sum(found.invoice_ageing.values())
    return dg.MaterializeResult(metadata=metadata)
