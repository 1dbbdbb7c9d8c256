"""Plans shared through files by a run's processes: a table drawn from plans read back from files is the table
drawn from plans built in memory; one version per (tier, plan) is kept; a process that needs a plan another is
building waits and reads it; a file that would run code is refused and the plan built instead; sharing never
fails a step."""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import pickle
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401 - pa.compute
import pytest

from crm_mock.generate import GENERATORS, PLANS, memo, shared_plans
from crm_mock.generate.money import DocumentNumbers
from crm_mock.scenario import load_scenario, plan_tier


@pytest.fixture
def empty_memo(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(memo, "_MEMO", type(memo._MEMO)())
    yield memo._MEMO
    memo.share_plans_through(None)


def test_tables_drawn_from_plans_read_back_from_files_are_the_same(empty_memo, tmp_path: Path):
    plan = plan_tier(load_scenario(), "smoke")
    in_memory = {name: generate(plan) for name, generate in GENERATORS.items()}
    memo.forget_plans()
    memo.share_plans_through(tmp_path)
    written = {name: generate(plan) for name, generate in GENERATORS.items()}  # built here, written for others
    names = {p.name.split(".")[1] for p in tmp_path.glob("*.plan")}
    assert {"accounts", "orders", "funnel", "invoices", "ledger", "movements", "tickets"} <= names <= set(PLANS)
    for build in PLANS.values():  # the registry names every plan there is, and each call shares it
        build(plan)
    assert {p.name.split(".")[1] for p in tmp_path.glob("*.plan")} == set(PLANS)
    memo.forget_plans()

    def refuse(_plan):
        raise AssertionError("a plan was built although its file was there")

    for name in names:  # every plan now comes from its file
        assert memo.memoised(name, plan, refuse) is not None
    read_back = {name: generate(plan) for name, generate in GENERATORS.items()}
    for name, table in in_memory.items():
        assert written[name].equals(table), name
        assert read_back[name].equals(table), name


def test_one_version_of_each_plan_is_kept_per_tier(empty_memo, tmp_path: Path):
    memo.share_plans_through(tmp_path)
    smoke, staging = plan_tier(load_scenario(), "smoke"), plan_tier(load_scenario(), "staging")
    memo.memoised("draws", smoke, lambda p: np.arange(3))
    memo.memoised("draws", staging, lambda p: np.arange(4))
    memo.memoised("other", smoke, lambda p: np.arange(5))
    first = sorted(p.name for p in tmp_path.glob("*.plan"))
    assert [name.split(".")[:2] for name in first] == [["smoke", "draws"], ["smoke", "other"], ["staging", "draws"]]
    memo.forget_plans()
    changed = dataclasses.replace(smoke, seed=smoke.seed + 1)
    assert list(memo.memoised("draws", changed, lambda p: np.arange(7))) == list(range(7))  # another key: built
    after = sorted(p.name for p in tmp_path.glob("*.plan"))
    assert len(after) == 3 and first[0] not in after and first[1] in after and first[2] in after


def test_a_plan_file_that_would_run_code_is_refused_and_the_plan_built(empty_memo, tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture):
    plan = plan_tier(load_scenario(), "smoke")
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    path = shared_plans.plan_file(tmp_path / "plans", plan.tier, "draws", plan.cache_key)
    path.parent.mkdir()
    shared_plans.write_plan(path, Payload())  # pickling only records the call; reading it would make it
    memo.share_plans_through(tmp_path / "plans")
    with caplog.at_level(logging.WARNING, logger=shared_plans.__name__):
        value = memo.memoised("draws", plan, lambda p: np.arange(3))
    assert list(value) == [0, 1, 2] and not marker.exists()
    assert "may not construct posix.system" in caplog.text
    assert isinstance(shared_plans.read_plan(path), np.ndarray)  # rewritten with the plan built


def test_sharing_never_fails_a_step(empty_memo, tmp_path: Path, caplog: pytest.LogCaptureFixture):
    plan = plan_tier(load_scenario(), "smoke")
    blocked = tmp_path / "not_a_directory"
    blocked.write_text("a file where the plans' directory should be")
    memo.share_plans_through(blocked)
    with caplog.at_level(logging.WARNING, logger=shared_plans.__name__):
        assert list(memo.memoised("draws", plan, lambda p: np.arange(2))) == [0, 1]
    assert "plans are not shared" in caplog.text

    memo.share_plans_through(tmp_path / "plans")
    truncated = shared_plans.plan_file(tmp_path / "plans", plan.tier, "cut", plan.cache_key)
    (tmp_path / "plans").mkdir()
    shared_plans.write_plan(truncated, np.arange(1000))
    truncated.write_bytes(truncated.read_bytes()[:-300])  # cut short: its end (with the arrays' places) lost
    assert list(memo.memoised("cut", plan, lambda p: np.arange(4))) == [0, 1, 2, 3]
    one_stream = shared_plans.plan_file(tmp_path / "plans", plan.tier, "older", plan.cache_key)
    one_stream.write_bytes(pickle.dumps(np.arange(9), protocol=5))  # a file in the first format: built again
    with caplog.at_level(logging.WARNING, logger=shared_plans.__name__):
        assert list(memo.memoised("older", plan, lambda p: np.arange(5))) == list(range(5))
    assert "not a plan file of this version" in caplog.text


def test_a_plan_read_back_maps_its_arrays_instead_of_copying_them(empty_memo, tmp_path: Path):
    path = tmp_path / "smoke.mapped.x.plan"
    # a plan's shapes: arrays of several types, an Arrow array with a null, a nested tuple, a scalar
    built = (np.arange(100_003, dtype=np.int32), np.arange(7).astype("datetime64[s]"), pa.array(["a", None, "ccc"]),
             (np.ones(5, np.int8), np.zeros(0, np.float64)), 42)
    shared_plans.write_plan(path, built)
    counts, moments, names, pairs, total = shared_plans.read_plan(path)
    assert total == 42 and names.equals(built[2]) and names.null_count == 1
    for mine, theirs in [(counts, built[0]), (moments, built[1]), *zip(pairs, built[3])]:
        assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs)
    for array in (counts, moments, pairs[0]):
        assert not array.flags.owndata and not array.flags.writeable  # a view of the mapped file
        assert array.ctypes.data % 64 == 0
    accounts = PLANS["accounts"](plan_tier(load_scenario(), "smoke"))  # a plan's dataclass, as a step reads it
    shared_plans.write_plan(tmp_path / "smoke.accounts.x.plan", accounts)
    read = shared_plans.read_plan(tmp_path / "smoke.accounts.x.plan")
    assert type(read) is type(accounts) and not read.country.flags.writeable
    assert np.array_equal(read.country, accounts.country) and read.name.equals(accounts.name)
    with pytest.raises(ValueError, match="read-only"):
        read.country[0] = 1  # a generator writing into a plan it was handed would change the file's readers


def test_a_plans_arrow_strings_are_read_back_mapped_chunk_by_chunk(tmp_path: Path):
    names = pa.chunked_array([pa.array(["Kestrel Drill", "Atlas Saw (FG-0000002)"]), pa.array(["Halden PLC"])])
    shared_plans.write_plan(tmp_path / "smoke.names.x.plan", names)
    read = shared_plans.read_plan(tmp_path / "smoke.names.x.plan")
    assert isinstance(read, pa.ChunkedArray) and read.num_chunks == 2 and read.equals(names)
    with open(tmp_path / "smoke.names.x.plan", "rb") as file:
        data = file.read()
    # the strings' bytes are the file's (mapped), not a copy made while unpickling
    character_data = read.chunk(0).buffers()[2]
    mapped = [line for line in Path("/proc/self/maps").read_text().splitlines()
              if "smoke.names.x.plan" in line] if Path("/proc/self/maps").exists() else []
    if mapped:
        spans = [[int(x, 16) for x in line.split()[0].split("-")] for line in mapped]
        assert any(low <= character_data.address < high for low, high in spans)
    assert b"Atlas Saw (FG-0000002)" in data


def _build_slowly(directory: str, log_path: str, results: multiprocessing.Queue) -> None:
    plan = plan_tier(load_scenario(), "smoke")

    def build(_plan):
        with open(log_path, "a") as log:
            log.write(f"{os.getpid()}\n")
        time.sleep(1.0)
        return np.arange(10)

    memo.share_plans_through(directory)
    results.put(memo.memoised("slow", plan, build).tolist())


def test_a_process_waits_for_the_plan_another_is_building(tmp_path: Path):
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    builds = tmp_path / "builds.log"
    workers = [context.Process(target=_build_slowly, args=(str(tmp_path / "plans"), str(builds), results))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        outcomes = [results.get(timeout=120) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    assert outcomes == [list(range(10))] * 2
    assert len(builds.read_text().split()) == 1  # built by one, read by the other


def test_the_fingerprint_follows_the_sources(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    (tmp_path / "generate").mkdir()
    source = tmp_path / "generate" / "orders.py"
    source.write_text("LINES = 3\n")
    monkeypatch.setattr(shared_plans, "_PACKAGE", tmp_path)
    before = shared_plans.code_fingerprint.__wrapped__()
    assert shared_plans.code_fingerprint.__wrapped__() == before
    source.write_text("LINES = 4\n")
    assert shared_plans.code_fingerprint.__wrapped__() != before


def test_the_process_that_builds_a_plan_keeps_the_mapped_copy(empty_memo, tmp_path: Path):
    plan = plan_tier(load_scenario(), "smoke")
    memo.share_plans_through(tmp_path)
    built = memo.memoised("draws", plan, lambda p: np.arange(1000))
    assert list(built) == list(range(1000))
    assert not built.flags.owndata and not built.flags.writeable  # its file's pages, not the array it built
    memo.share_plans_through(tmp_path / "not_a_directory")
    (tmp_path / "not_a_directory").write_text("")
    kept = memo.memoised("other", plan, lambda p: np.arange(3))  # not shared: the array built, as it was
    assert kept.flags.owndata and kept.flags.writeable


def _rss_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    pytest.skip(f"no {field} in /proc/self/status")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the resident set from /proc")
def test_a_plans_pages_can_leave_while_it_is_held(empty_memo, tmp_path: Path):
    plan = plan_tier(load_scenario(), "smoke")
    memo.share_plans_through(tmp_path)
    held = memo.memoised("wide", plan, lambda p: np.arange(16 * 2**20 // 8))  # 16 MiB, mapped from its file
    before = _rss_mib("RssFile")
    assert int(held.sum()) == (len(held) - 1) * len(held) // 2  # every page read: resident
    touched = _rss_mib("RssFile")
    memo.drop_pages("other", plan)  # another plan's: these stay
    assert _rss_mib("RssFile") > touched - 4
    memo.drop_pages("wide", plan)
    assert _rss_mib("RssFile") < touched - 12 and touched > before + 12
    assert int(held.sum()) == (len(held) - 1) * len(held) // 2 and held[12345] == 12345  # read again from the file


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the resident set from /proc")
def test_a_build_starts_and_ends_without_the_pages_read_before_it(empty_memo, tmp_path: Path):
    plan = plan_tier(load_scenario(), "smoke")
    memo.share_plans_through(tmp_path)
    wide = memo.memoised("wide", plan, lambda p: np.arange(16 * 2**20 // 8))  # 16 MiB, mapped from its file
    assert int(wide.sum()) == (len(wide) - 1) * len(wide) // 2  # every page read: resident
    touched = _rss_mib("RssFile")
    seen_by_the_build = []

    def build(p):
        seen_by_the_build.append(_rss_mib("RssFile"))
        return np.arange(10)

    memo.memoised("next", plan, build)  # a build: the pages read before it leave, the plan stays valid
    assert seen_by_the_build[0] < touched - 12
    assert int(wide.sum()) == (len(wide) - 1) * len(wide) // 2  # read again from the file: resident again
    memo.memoised("after", plan, lambda p: np.arange(5))
    assert _rss_mib("RssFile") < touched - 12  # and they leave again when a build ends


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the resident set from /proc")
@pytest.mark.parametrize("every, most_mib", [(4, 6), (10**9, None)])
def test_a_tables_stream_lets_the_pages_it_read_go_as_it_goes(empty_memo, tmp_path: Path, monkeypatch, every,
                                                               most_mib):
    from crm_mock.generate import frame

    plan = plan_tier(load_scenario(), "smoke")
    memo.share_plans_through(tmp_path)
    column = memo.memoised("column", plan, lambda p: np.arange(32 * 2**20 // 8))  # 32 MiB, mapped from its file
    memo.drop_pages("column", plan)
    monkeypatch.setattr(frame, "BLOCKS_BETWEEN_PAGE_DROPS", every)
    per_block = len(column) // 64
    blocks = frame.Blocks(lambda b: pa.table({"n": column[b.start:b.stop]}), len(column), per_block)
    before, highest, total = _rss_mib("RssFile"), 0.0, 0
    for table in blocks.stream():
        total += pa.compute.sum(table["n"]).as_py()
        highest = max(highest, _rss_mib("RssFile") - before)
    assert total == (len(column) - 1) * len(column) // 2
    if most_mib is None:
        assert highest > 24  # without drops, every page read stays until the step ends
    else:
        assert highest < most_mib  # a few blocks' pages at a time


def test_a_plan_file_may_view_int64_only_as_dates_or_durations():
    assert shared_plans._viewed_as(np.arange(2), "<M8[s]").dtype == np.dtype("datetime64[s]")
    with pytest.raises(pickle.UnpicklingError, match="may not view"):
        shared_plans._viewed_as(np.arange(2), "<f8")
    with pytest.raises(pickle.UnpicklingError, match="may not view"):
        shared_plans._viewed_as(np.arange(2, dtype=np.int32), "<m8[D]")


def test_spill_outside_a_shared_build_keeps_the_array():
    array = np.arange(10)
    assert memo.spill(array) is array


@dataclasses.dataclass(frozen=True)
class _Numbered:
    prefix: str
    year: np.ndarray
    label: np.ndarray  # object: pickled in band, never spilled


def test_a_build_spills_finished_arrays_and_the_plan_is_unchanged(tmp_path: Path):
    moments = (np.datetime64("2026-01-01T00:00:00") + np.arange(1000).astype("timedelta64[s]"))
    seen = {}

    def build():
        counts = memo.spill(np.arange(100_000, dtype=np.int32))
        when = memo.spill(moments.copy())
        numbered = memo.spill(_Numbered("Q", np.arange(5, dtype=np.int16), np.array(["a", None] * 2 + ["b"], object)))
        seen.update(counts=counts, when=when, numbered=numbered, files=sorted(p.name for p in tmp_path.iterdir()))
        return {"counts": counts, "when": when, "numbered": numbered, "strided": memo.spill(np.arange(20)[::3])}

    value = shared_plans.shared(tmp_path, "smoke", "numbers", "key", build)
    # while built: read-only views of an unlinked file (nothing of it in the folder), dates kept
    assert not seen["counts"].flags.writeable and not seen["when"].flags.writeable
    assert seen["when"].dtype == moments.dtype and seen["numbered"].prefix == "Q"
    assert seen["numbered"].label.flags.writeable  # objects stay in memory
    assert not [name for name in seen["files"] if name.startswith(".spill")]
    # and the plan written from them is the plan
    np.testing.assert_array_equal(value["counts"], np.arange(100_000, dtype=np.int32))
    np.testing.assert_array_equal(value["when"], moments)
    np.testing.assert_array_equal(value["numbered"].year, np.arange(5, dtype=np.int16))
    assert list(value["numbered"].label) == ["a", None, "a", None, "b"]
    np.testing.assert_array_equal(value["strided"], np.arange(20)[::3])
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".lock", ".plan"]
    assert shared_plans._SPILLS == []


def test_an_array_spilled_twice_is_written_once_and_stays_shared(tmp_path: Path):
    def build():
        year = memo.spill(np.arange(50_000, dtype=np.int16))
        assert memo.spill(year) is year and memo.spill(year[::2]).base is not None
        numbered = memo.spill(DocumentNumbers("Q", year, np.arange(50_000)))
        assert numbered.year is year  # a plan's part holding a field spilled already keeps that very view
        return {"year": year, "numbered": numbered}

    shared_plans.shared(tmp_path, "smoke", "twice", "key", build)
    value = shared_plans.read_plan(next(tmp_path.glob("*.plan")))
    assert value["numbered"].sequence[-1] == 49_999
    assert value["numbered"].year is value["year"]  # pickled once: one array in the file, not two
    np.testing.assert_array_equal(value["year"], np.arange(50_000, dtype=np.int16))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the resident set from /proc")
def test_a_spilled_array_leaves_memory_until_read_and_its_pages_go_again(tmp_path: Path):
    size = 64 * 2**20

    def build():
        array = np.ones(size, np.uint8)
        held = _rss_mib("RssAnon")
        array = memo.spill(array)
        spilled = _rss_mib("RssAnon")
        assert held - spilled > 48  # the copy went; the view holds no memory
        before_read = _rss_mib("RssFile")
        assert int(array.sum()) == size  # read back: its pages come in from the file
        assert _rss_mib("RssFile") - before_read > 48
        memo.drop_spilled_pages()
        assert _rss_mib("RssFile") - before_read < 16
        return array

    assert int(shared_plans.shared(tmp_path, "smoke", "big", "key", build).sum()) == size
