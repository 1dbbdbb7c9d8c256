"""The live rules on threads side by side (`run_rules_side_by_side`), against a real loaded smoke tier: the
same results in the same order as one after another, each thread with connections of its own, and a rule
that raises raised in the caller; and what the rules read: plain tuples, UUIDs as text, PostgreSQL's rows
streamed from a server-side cursor that closes when the stream ends."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from crm_mock.consistency.registry import run_rules, run_rules_side_by_side
from crm_mock.consistency.sources import DatabaseSource, Unreachable
from crm_mock.defs.consistency.checks import LIVE_RULES
from crm_mock.scenario import load_scenario, plan_tier
from crm_mock.sinks.databases import service_databases
from crm_mock.sinks.values import canonical_uuid
from crm_mock_tests.conftest import require_postgres


@pytest.fixture(scope="module")
def live(smoke_run):
    databases = service_databases("", str(smoke_run.data_dir))
    plan = plan_tier(load_scenario(), "smoke")
    return databases, plan


def _outcome(results):
    return [(r.rule, r.table, r.passed, r.offending, tuple(r.sample)) for r in results]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_side_by_side_gives_the_results_of_one_after_another(live, workers: int):
    databases, plan = live
    with DatabaseSource(databases, "smoke") as source:
        alone = run_rules(source, plan, LIVE_RULES)
    opened: list[str] = []

    def open_source():
        opened.append(threading.current_thread().name)
        return DatabaseSource(databases, "smoke")

    finished: list[int] = []
    together = run_rules_side_by_side(open_source, plan, LIVE_RULES, workers, on_result=lambda: finished.append(1))
    assert _outcome(together) == _outcome(alone) and len(together) == len(LIVE_RULES) > 30
    assert len(finished) == len(LIVE_RULES)  # each rule heard once as it finishes (the step's progress)
    assert len(opened) == workers  # one source per thread, opened in that thread
    if workers > 1:
        assert threading.main_thread().name not in opened


def test_a_rule_that_raises_is_raised_in_the_caller(live):
    databases, plan = live

    def broken(ctx, found):
        raise RuntimeError("rule broke")

    rules = list(LIVE_RULES)
    rules[3] = dataclasses.replace(rules[3], find=broken)
    with pytest.raises(RuntimeError, match="rule broke"):
        run_rules_side_by_side(lambda: DatabaseSource(databases, "smoke"), plan, rules, 2)


def test_an_unreachable_tier_is_named_as_before(tmp_path, live):
    _, plan = live
    nowhere = service_databases("", str(tmp_path))
    with pytest.raises(Unreachable):
        run_rules_side_by_side(lambda: DatabaseSource(nowhere, "smoke"), plan, LIVE_RULES, 2)


@pytest.mark.parametrize("kind", ["sqlite", "sqlite_hex", "postgresql"])
def test_database_rows_are_plain_tuples_with_uuids_as_text(smoke_tier, kind: str):
    if kind == "postgresql":
        require_postgres()
    source = smoke_tier.clean(kind)
    rows = list(source.rows("contact", "SELECT account_uuid, name FROM accounts ORDER BY account_uuid"))
    expected = sorted((r["account_uuid"], r["name"]) for r in smoke_tier.rows("contact.accounts"))
    assert all(type(row) is tuple for row in rows)
    assert [(canonical_uuid(key), name) for key, name in rows] == expected
    if kind != "sqlite_hex":  # text as the database spells it: canonical already, never a uuid.UUID
        assert all(type(key) is str for key, _ in rows) and [row for row in rows] == expected


def test_postgresql_rows_stream_from_a_server_side_cursor(smoke_tier):
    require_postgres()
    source = smoke_tier.clean("postgresql")
    query = "SELECT contact_uuid FROM contacts ORDER BY contact_uuid"
    cursors = "SELECT statement FROM pg_cursors"

    def declared() -> set[str]:  # what each open cursor of the session runs ("DECLARE … CURSOR … FOR <query>")
        return {statement.split(" FOR ", 1)[1] for statement, in source.rows("contact", cursors)}

    streaming = source.rows("contact", query)
    first = next(streaming)
    # asked in the same session while the first stream is open: its rows wait on the server, in a cursor
    assert declared() == {query, cursors}
    rest = list(streaming)
    assert [first, *rest] == sorted((r["contact_uuid"],) for r in smoke_tier.rows("contact.contacts"))
    # a finished stream closes its cursor
    assert declared() == {cursors}
