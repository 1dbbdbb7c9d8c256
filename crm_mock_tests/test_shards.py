"""Shards as steps: the big transaction tables generated in shard steps (CRM_MOCK_SHARDS / --shards) give the
single-shot bytes, in process and on the multiprocess executor, and the graph keeps every check."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from crm_mock.defs.executors import (
    EXECUTOR_ENV, PROCESSES_ENV, SHARDS_ENV, ExecutorChoiceError, process_count, shard_count,
)
from crm_mock.defs.shards import shard_blocks
from crm_mock.defs.tables import table_key
from crm_mock.generate import TRANSACTION_GENERATORS
from crm_mock.model import CATALOG
from crm_mock.scenario import DEFAULT_SCENARIO
from crm_mock_tests.conftest import build_defs
from crm_mock_tests.dagster_processes import bin_path

pytestmark = pytest.mark.timeout(600)
BLOCK_ROWS = 40  # the smoke tier in many blocks, so that shards hold several each and some straddle row groups


@pytest.fixture(scope="module")
def small_blocks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scenario = yaml.safe_load(DEFAULT_SCENARIO.read_text())
    scenario.update(block_rows=BLOCK_ROWS, reference_date="2026-06-30")
    path = tmp_path_factory.mktemp("scenario") / "small_blocks.yaml"
    path.write_text(yaml.safe_dump(scenario))
    return path


def _materialize(scenario: Path, data_dir: Path, *args: str, dagster_home: Path | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_MOCK_")}
    if dagster_home is not None:
        env["DAGSTER_HOME"] = str(dagster_home)
    done = subprocess.run([bin_path("crm-mock"), "materialize", "--tier", "smoke", "--scenario", str(scenario),
                           "--data-dir", str(data_dir), *args], env=env, cwd=data_dir.parent,
                          capture_output=True, text=True, timeout=500)
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _digests(data_dir: Path) -> dict[str, str]:
    tables = data_dir / "smoke" / "tables"
    return {str(p.relative_to(tables)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(tables.rglob("*.parquet"))}


@pytest.fixture(scope="module")
def single_shot(small_blocks: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    data_dir = tmp_path_factory.mktemp("single") / "data"
    _materialize(small_blocks, data_dir, "--shards", "1")
    return _digests(data_dir)


@pytest.mark.parametrize(("count", "shards"), [(0, 2), (1, 2), (2, 2), (7, 3), (100, 4), (5, 8)])
def test_shards_cover_every_block_once_in_order(count: int, shards: int):
    ranges = [shard_blocks(count, k, shards) for k in range(shards)]
    assert [b for r in ranges for b in r] == list(range(count))
    sizes = [len(r) for r in ranges]
    assert max(sizes) - min(sizes) <= 1


def test_shard_count_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(SHARDS_ENV, raising=False)
    monkeypatch.setenv(EXECUTOR_ENV, "in_process")
    assert shard_count() == 1
    monkeypatch.setenv(EXECUTOR_ENV, "multiprocess")  # shards are asked for, never assumed (see shard_count)
    assert shard_count() == 1
    monkeypatch.setenv(EXECUTOR_ENV, "celery")
    assert shard_count() == 1
    monkeypatch.setenv(SHARDS_ENV, "3")
    assert shard_count() == 3
    for bad in ("0", "two", "-1", "65"):
        monkeypatch.setenv(SHARDS_ENV, bad)
        with pytest.raises(ExecutorChoiceError, match=SHARDS_ENV):
            shard_count()


def test_process_count_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(PROCESSES_ENV, raising=False)
    assert process_count() == (os.cpu_count() or 2)
    monkeypatch.setenv(PROCESSES_ENV, " 3 ")
    assert process_count() == 3
    for bad in ("0", "all", "-2", "1.5", "257"):
        monkeypatch.setenv(PROCESSES_ENV, bad)
        with pytest.raises(ExecutorChoiceError, match=PROCESSES_ENV):
            process_count()


def test_a_bad_process_count_is_refused_before_anything_is_written(small_blocks: Path, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_MOCK_")}
    done = subprocess.run([bin_path("crm-mock"), "materialize", "--tier", "smoke", "--scenario", str(small_blocks),
                           "--data-dir", str(tmp_path / "data"), "--executor", "multiprocess", "--processes", "0"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "CRM_MOCK_PROCESSES='0'" in done.stderr
    assert not (tmp_path / "data").exists()


def test_a_sharded_graph_has_a_step_per_shard_and_keeps_every_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(SHARDS_ENV, raising=False)
    single = build_defs(tmp_path).resolve_job_def("materialize_all")
    monkeypatch.setenv(SHARDS_ENV, "3")
    sharded = build_defs(tmp_path).resolve_job_def("materialize_all")
    assert sharded.asset_layer.asset_graph.get_all_asset_keys() == single.asset_layer.asset_graph.get_all_asset_keys()
    assert ({k for k in sharded.asset_layer.asset_graph.asset_check_keys}
            == {k for k in single.asset_layer.asset_graph.asset_check_keys})
    ops = {node.name for node in sharded.graph.iterate_op_defs()}
    for name in TRANSACTION_GENERATORS:
        table = CATALOG[name]
        step = f"{table.service}__{table.name}"
        assert {f"{step}__shard_{k}" for k in range(3)} | {f"{step}__join"} <= ops
        # shards draw from the plan alone and start with the run; the join waits for the upstream tables
        join = sharded.graph.node_named(step).definition.node_named(f"{step}__join").definition
        upstream = {"__".join(p.path) for p in single.asset_layer.asset_graph.get(table_key(table)).parent_keys}
        assert {i.name for i in join.input_defs} == {f"shard_{k}" for k in range(3)} | upstream, step
        for k in range(3):
            shard = sharded.graph.node_named(step).definition.node_named(f"{step}__shard_{k}").definition
            assert not shard.input_defs, step
    # the lineage and what the UI shows are the same: each sharded table depends on exactly what it did
    for key in single.asset_layer.asset_graph.get_all_asset_keys():
        one, cut = single.asset_layer.asset_graph.get(key), sharded.asset_layer.asset_graph.get(key)
        assert cut.parent_keys == one.parent_keys, key
        assert (cut.group_name, cut.kinds, cut.tags, cut.owners, cut.description) == (
            one.group_name, one.kinds, one.tags, one.owners, one.description), key
        assert cut.metadata.keys() == one.metadata.keys(), key


def test_shards_in_process_give_the_single_shot_bytes(small_blocks: Path, single_shot: dict[str, str], tmp_path: Path):
    data_dir = tmp_path / "data"
    _materialize(small_blocks, data_dir, "--shards", "3")
    sharded = _digests(data_dir)
    assert set(sharded) == set(single_shot) and len(sharded) > 30
    transactions = {f"{CATALOG[n].service}/{CATALOG[n].name}.parquet" for n in TRANSACTION_GENERATORS}
    assert transactions <= set(sharded)
    assert sharded == single_shot
    assert not list((data_dir / "smoke" / "tables").rglob("*.shards"))  # the parts are gone once joined


def test_shards_on_the_multiprocess_executor_give_the_single_shot_bytes(small_blocks: Path, single_shot: dict[str, str],
                                                                        tmp_path: Path):
    """Each shard in a process of its own (the executor Dagster uses to put every core to work)."""
    data_dir = tmp_path / "data"
    output = _materialize(small_blocks, data_dir, "--executor", "multiprocess", "--shards", "2",
                          "--select", "key:orders/order_lines or key:finance/ledger_entries")
    for step in ("orders/order_lines/shard_0", "orders/order_lines/shard_1", "orders/order_lines/join",
                 "finance/ledger_entries/shard_1"):
        assert step in output, output
    sharded = _digests(data_dir)
    assert set(sharded) == {"orders/order_lines.parquet", "finance/ledger_entries.parquet"}
    # the step processes shared the plans: one file each, the order plan read by both tables' four shards
    assert {"orders", "invoices", "accounts"} <= {p.name.split(".")[1] for p in (data_dir / "plans").glob("*.plan")}
    assert sharded == {name: single_shot[name] for name in sharded}


def test_the_multiprocess_executor_runs_no_more_steps_at_once_than_asked(small_blocks: Path,
                                                                        single_shot: dict[str, str], tmp_path: Path):
    """--processes 1: the shard steps, free to start together, run one after another (read from the run's own
    event log in the instance the command used)."""
    from dagster import DagsterEventType, DagsterInstance

    home, data_dir = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    (home / "dagster.yaml").write_text("")
    _materialize(small_blocks, data_dir, "--executor", "multiprocess", "--shards", "3", "--processes", "1",
                 "--select", "key:orders/order_lines", dagster_home=home)
    with DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        spans: dict[str, list[float]] = {}
        for entry in instance.all_logs(run.run_id, of_type={DagsterEventType.STEP_START,
                                                              DagsterEventType.STEP_SUCCESS}):
            spans.setdefault(entry.step_key, []).append(entry.timestamp)
    assert {f"orders__order_lines.orders__order_lines__shard_{k}" for k in range(3)} <= set(spans), spans
    ordered = sorted(spans.values())
    assert all(len(span) == 2 for span in ordered), spans
    for (_, end), (start, _) in zip(ordered, ordered[1:]):
        assert start >= end, f"steps overlapped: {spans}"
    assert _digests(data_dir) == {"orders/order_lines.parquet": single_shot["orders/order_lines.parquet"]}
