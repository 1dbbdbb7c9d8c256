"""What the UI path relies on: in-process runs, one shared instance, a readable graph, the stress guard, a bad
scenario refused at load, no warning noise, the tier profile."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import warnings
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from crm_mock.cli import dev_command
from crm_mock.defs.resources import CONFIRM_TAG
from crm_mock.defs.tables import database_key, produced_tables, table_key
from crm_mock.instance import LOCAL_HOME, dagster_home, ensure_dagster_home
from crm_mock.profile import distributions as dist
from crm_mock.profile.plots import CHARTS
from crm_mock.scenario import DEFAULT_SCENARIO, ScenarioError
from crm_mock_tests.conftest import TierRun, build_defs
from crm_mock_tests.dagster_processes import bin_path

ANCHOR = dg.AssetKey(["id_maps", "warehouse"])


@pytest.fixture(scope="module")
def defs(tmp_path_factory) -> dg.Definitions:
    return build_defs(tmp_path_factory.mktemp("ui_defs") / "data")


def _bad_scenario(directory: Path) -> Path:
    bad = directory / "bad.yaml"
    bad.write_text(DEFAULT_SCENARIO.read_text().replace("accounts: 500", "accounts: -3"))
    return bad


def test_every_job_and_the_graphs_materialize_run_in_one_process(defs):
    assert defs.resolve_job_def("materialize_all").executor_def.name == "in_process"
    assert defs.resolve_implicit_global_asset_job_def().executor_def.name == "in_process"  # "Materialize all"
    schedule = defs.resolve_schedule_def("staging_refresh_schedule")
    assert schedule.job_name == "materialize_all"


def test_checks_run_in_their_tables_step(defs):
    job = defs.resolve_job_def("materialize_all")
    graph = defs.resolve_asset_graph()
    steps = len(job.graph.node_defs)
    assert steps < len(graph.get_all_asset_keys()) + 10 < len(graph.asset_check_keys)  # not a step per check


def test_definitions_load_without_beta_warnings(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_defs(tmp_path / "data").get_repository_def()
    assert [str(w.message) for w in caught if issubclass(w.category, dg.BetaWarning)] == []


def test_a_bad_scenario_stops_the_code_location_with_the_field_named(tmp_path):
    env = {**os.environ, "CRM_MOCK_SCENARIO": str(_bad_scenario(tmp_path)), "DAGSTER_HOME": str(tmp_path)}
    done = subprocess.run([bin_path("dagster"), "definitions", "validate", "-m", "crm_mock.definitions"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "volumes.accounts" in done.stdout + done.stderr and "CRM_MOCK_SCENARIO" in done.stdout + done.stderr


def _materialize_anchor(data_dir: Path, tier: str, tags: dict | None = None,
                        scenario: Path | None = None) -> dg.ExecuteInProcessResult:
    definitions = build_defs(data_dir, scenario)
    with dg.instance_for_test() as instance:
        return dg.materialize([*definitions.assets], selection=dg.AssetSelection.assets(ANCHOR), partition_key=tier,
                              instance=instance, resources=definitions.resources, tags=tags, raise_on_error=False)


def _failure(result: dg.ExecuteInProcessResult) -> str:
    return "\n".join(str(e.event_specific_data) for e in result.all_events if e.is_failure)


def test_the_stress_tier_needs_its_confirming_tag(tmp_path):
    refused = _materialize_anchor(tmp_path / "data", "stress")
    assert not refused.success and f"{CONFIRM_TAG}=stress" in _failure(refused)
    assert not (tmp_path / "data" / "stress").exists()  # refused before any step
    assert _materialize_anchor(tmp_path / "data", "stress", tags={CONFIRM_TAG: "stress"}).success
    assert _materialize_anchor(tmp_path / "data", "smoke").success  # the other tiers need nothing


def test_a_scenario_broken_after_loading_fails_the_run_before_any_step(tmp_path):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(DEFAULT_SCENARIO.read_text())
    definitions = build_defs(tmp_path / "data", scenario)
    scenario.write_text(_bad_scenario(tmp_path).read_text())
    with dg.instance_for_test() as instance:
        result = dg.materialize([*definitions.assets], selection=dg.AssetSelection.assets(ANCHOR), partition_key="smoke",
                                instance=instance, resources=definitions.resources, raise_on_error=False)
    assert not result.success and "volumes.accounts" in _failure(result)
    assert result.get_step_success_events() == [] and not (tmp_path / "data" / "smoke").exists()


def test_every_table_and_database_node_shows_its_service(defs):
    graph = defs.resolve_asset_graph()
    for table in produced_tables():
        assert table.service in graph.get(table_key(table)).kinds, table.qualified_name
    for service in {t.service for t in produced_tables()}:
        assert {service, "sqlite"} <= graph.get(database_key(service)).kinds


def test_the_column_schema_says_where_each_copied_column_comes_from(defs):
    schema = defs.resolve_asset_graph().get(table_key("sales.account_replica")).metadata["dagster/column_schema"]
    descriptions = {c.name: c.description or "" for c in schema.columns}
    assert descriptions["name"].endswith("← contact/accounts.name")
    orders = defs.resolve_asset_graph().get(table_key("orders.sales_orders")).metadata["column_lineage"]
    assert "| account_uuid | orders/account_replica.account_uuid |" in orders.value


def test_the_instance_is_project_local_unless_dagster_home_is_set(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME")
    assert dagster_home(tmp_path) == tmp_path.resolve() / LOCAL_HOME
    home = ensure_dagster_home(tmp_path)
    assert os.environ["DAGSTER_HOME"] == str(home) and "nux" in (home / "dagster.yaml").read_text()
    with dg.DagsterInstance.from_config(str(home)) as instance:  # the written configuration loads
        assert instance.get_run_records() == []
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "team"))
    assert dagster_home(tmp_path) == tmp_path / "team"


def test_dev_uses_the_checkout_workspace_or_the_installed_package(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    outside = dev_command(["-p", "3001"], home, cwd=tmp_path)
    assert outside[1:4] == ["dev", "-p", "3001"] and outside[-2:] == ["-w", str(home / "workspace.yaml")]
    assert "location_name: crm_mock" in (home / "workspace.yaml").read_text()
    (tmp_path / "workspace.yaml").write_text("load_from: []\n")
    assert dev_command([], home, cwd=tmp_path)[1:] == ["dev"]  # dagster dev reads ./workspace.yaml itself


def test_the_profile_counts_what_it_should():
    orders = pa.table({"order_date": [dt.date(2025, 1, 5), dt.date(2025, 3, 1), dt.date(2025, 3, 9)],
                       "account_uuid": ["a", "b", "a"], "total_amount": [10.0, 2000.0, 30.0]})
    accounts = pa.table({"account_uuid": ["a", "b", "c"], "segment": ["SMALL_BUSINESS", "ENTERPRISE", "MID_MARKET"],
                         "country_code": ["FR", "US", "FR"]})
    invoices = pa.table({"status": ["PAID", "UNPAID", "OVERDUE", "OVERDUE", "DRAFT"],
                         "due_date": [dt.date(2025, 1, 1), dt.date(2025, 7, 1), dt.date(2025, 5, 20),
                                      dt.date(2025, 1, 1), None]})
    found = dist.profile(orders, accounts, invoices, dt.date(2025, 6, 30))
    assert found.orders_per_month == {"2025-01": 1, "2025-02": 0, "2025-03": 2}  # an empty month is a zero
    assert list(found.order_values_by_segment["SMALL_BUSINESS"]) == [10.0, 30.0]
    assert list(found.accounts_by_country.items()) == [("FR", 2), ("US", 1)]
    assert found.invoice_ageing == {"not yet due": 1, "1–30 days": 0, "31–60 days": 1, "61–90 days": 0,
                                    "over 90 days": 1}
    # streamed from the store a batch at a time, the same profile
    streamed = dist.profile(iter(orders.to_batches(max_chunksize=1)), accounts,
                            iter(invoices.to_batches(max_chunksize=2)), dt.date(2025, 6, 30))
    assert (streamed.orders_per_month, streamed.accounts_by_country, streamed.invoice_ageing) == (
        found.orders_per_month, found.accounts_by_country, found.invoice_ageing)
    assert {s: v.tolist() for s, v in streamed.order_values_by_segment.items()} == {
        s: v.tolist() for s, v in found.order_values_by_segment.items()}
    pictures = [chart(found, "smoke") for chart in CHARTS.values()]
    assert all(p.startswith(b"\x89PNG") for p in pictures)
    assert pictures == [chart(found, "smoke") for chart in CHARTS.values()]  # same data, same bytes


def test_the_profile_page_of_a_tier_shows_four_pictures(smoke_run: TierRun):
    materialised = {e.asset_key: e.event_specific_data.materialization.metadata
                    for e in smoke_run.result.get_asset_materialization_events()}
    metadata = materialised[dg.AssetKey(["profile", "distributions"])]
    for name in CHARTS:
        assert metadata[name].value.startswith(f"![{name.replace('_', ' ')}](data:image/png;base64,")
    assert metadata["orders"].value == 200


def test_scenario_errors_stop_the_definitions(tmp_path):
    with pytest.raises(ScenarioError, match="volumes.accounts"):
        build_defs(tmp_path / "data", _bad_scenario(tmp_path))
