"""The definitions load, and the graph is the one the data model describes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from crm_mock.defs.tables import database_key, produced_tables, table_key
from crm_mock.generate import ENTITY_COUNTS, MASTER_GENERATORS, TRANSACTION_GENERATORS
from crm_mock.model import CATALOG
from crm_mock.scenario import TIERS
from crm_mock_tests.conftest import build_defs

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def defs(tmp_path_factory) -> dg.Definitions:
    return build_defs(tmp_path_factory.mktemp("defs"))


def test_definitions_load(defs):
    dg.Definitions.validate_loadable(defs)


def test_every_produced_table_is_an_asset_with_its_group(defs):
    graph = defs.resolve_asset_graph()
    groups = {key: graph.get(key).group_name for key in graph.get_all_asset_keys()}
    for name in MASTER_GENERATORS:
        assert groups[table_key(name)] == "master_data"
    for name in TRANSACTION_GENERATORS:
        assert groups[table_key(name)] == "transactions"
    for table in produced_tables():
        if table.is_replica:
            assert groups[table_key(table)] == "replicas"
    for entity in ENTITY_COUNTS:
        assert groups[dg.AssetKey(["id_maps", entity])] == "id_maps"
    for service in ("hr", "contact", "inventory", "sales", "orders", "finance", "support"):
        assert groups[database_key(service)] == "service_dbs"


def test_every_asset_is_partitioned_by_tier(defs):
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        partitions = graph.get(key).partitions_def
        assert partitions is not None and list(partitions.get_partition_keys()) == list(TIERS), key


def test_every_table_has_model_checks(defs):
    checks = {(c.asset_key, c.name) for c in defs.resolve_asset_graph().asset_check_keys}
    for table in produced_tables():
        key = table_key(table)
        assert (key, "primary_key_unique") in checks
        assert (key, "conforms_to_model") in checks
        if table.foreign_keys:
            assert (key, "references_resolve") in checks
        if table.is_replica:
            assert (key, "replica_in_sync") in checks


def test_lineage_follows_the_model(defs):
    graph = defs.resolve_asset_graph()
    parents = graph.get(table_key("contact.contacts")).parent_keys
    assert table_key("contact.accounts") in parents
    assert dg.AssetKey(["id_maps", "contact"]) in parents
    replica = graph.get(table_key("sales.product_replica"))
    assert replica.parent_keys == {table_key("inventory.products")}
    database = graph.get(database_key("contact")).parent_keys
    assert database == {table_key(t) for t in produced_tables() if t.service == "contact"}


def test_every_model_table_is_produced():
    assert {t.qualified_name for t in produced_tables()} == {t.qualified_name for t in CATALOG}


def test_transactions_build_on_their_service_replicas(defs):
    """References resolve through the service's replica, so a blocking replica check gates them."""
    graph = defs.resolve_asset_graph()
    parents = graph.get(table_key("orders.sales_orders")).parent_keys
    assert table_key("orders.account_replica") in parents and table_key("sales.quotes") in parents
    assert table_key("contact.accounts") not in parents


def test_column_schema_comes_from_the_model(defs):
    spec = defs.resolve_asset_graph().get(table_key("contact.accounts"))
    schema = spec.metadata["dagster/column_schema"]
    assert [c.name for c in schema.columns] == list(CATALOG["contact.accounts"].column_names)


def test_dagster_cli_validates_the_workspace():
    env = {**os.environ, "DAGSTER_HOME": ""}
    env.pop("DAGSTER_HOME")
    done = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "passed validation" in done.stdout + done.stderr
