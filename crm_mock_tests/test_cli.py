"""`crm-mock materialize`: runs the graph, reports progress, exits with a meaningful code."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from crm_mock.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from crm_mock.scenario import DEFAULT_SCENARIO


def test_materialize_smoke(tmp_path, capsys):
    assert main(["materialize", "--tier", "smoke", "--data-dir", str(tmp_path / "data")]) == EXIT_OK
    out = capsys.readouterr().out
    assert "ok" in out and "contact/accounts" in out and "done" in out
    with closing(sqlite3.connect(tmp_path / "data/smoke/contact.sqlite")) as conn:
        assert conn.execute("SELECT COUNT(*) FROM accounts").fetchone()[0] == 50


def test_bad_scenario_is_refused_before_anything_is_written(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEFAULT_SCENARIO.read_text().replace("accounts: 500", "accounts: -3"))
    code = main(["materialize", "--tier", "smoke", "--scenario", str(bad), "--data-dir", str(tmp_path / "data")])
    assert code == EXIT_USAGE
    assert "volumes.accounts" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("selection, why", [
    ("group:master_data or", "Invalid selection string"),  # Dagster cannot parse it
    ("key:hr/no_such_table", "selects no asset"),
])
def test_bad_selection_is_refused_before_a_run(tmp_path, capsys, selection, why):
    code = main(["materialize", "--tier", "smoke", "--data-dir", str(tmp_path / "data"), "--select", selection])
    assert code == EXIT_USAGE
    captured = capsys.readouterr()
    assert f"bad --select {selection!r}" in captured.err and why in captured.err
    assert "Traceback" not in captured.err and "materialising" not in captured.out
    assert not (tmp_path / "data").exists()


def test_failure_names_the_asset(tmp_path, capsys):
    # loading a database whose tables were never generated fails, and says which asset
    code = main(["materialize", "--tier", "smoke", "--data-dir", str(tmp_path / "data"),
                 "--select", "key:contact/database"])
    assert code == EXIT_FAILED
    captured = capsys.readouterr()
    assert "contact/database" in captured.err
    assert "FAIL" in captured.out and "has not been materialised" in captured.out


def test_a_group_alone_on_a_fresh_directory_runs_the_checks_it_can(tmp_path, capsys):
    """The master data without the replicas (the README's own example): a check that reads a replica waits
    for a run that builds it; once the replicas are in the store, selecting the master data runs it too."""
    from crm_mock.cli import _resolve_selection
    from crm_mock.consistency.registry import registry

    data = str(tmp_path / "data")
    reads_replica = {r.name for r in registry() if r.table.qualified_name == "contact.accounts"
                     and "contact.employee_replica" in r.reads}
    assert reads_replica

    def checks_run() -> set[str]:
        return {c.name for c in _resolve_selection("group:master_data", "smoke", data)[1]
                if c.asset_key.to_user_string() == "contact/accounts"}

    assert reads_replica.isdisjoint(checks_run())
    assert main(["materialize", "--tier", "smoke", "--data-dir", data, "--select", "group:master_data"]) == EXIT_OK, \
        capsys.readouterr()
    assert main(["materialize", "--tier", "smoke", "--data-dir", data, "--select", "group:replicas"]) == EXIT_OK
    assert reads_replica <= checks_run()
    assert main(["materialize", "--tier", "smoke", "--data-dir", data, "--select", "group:master_data"]) == EXIT_OK


def test_materialize_stores_sqlite_uuids_as_asked(tmp_path, capsys, monkeypatch):
    from crm_mock.definitions import SQLITE_UUID_STORAGE_ENV

    # the flag sets the variable for the run's definitions: put it back afterwards
    monkeypatch.setenv(SQLITE_UUID_STORAGE_ENV, "")
    code = main(["materialize", "--tier", "smoke", "--data-dir", str(tmp_path / "data"),
                 "--sqlite-uuid-storage", "blob", "--select", '+key:"hr/database"'])
    assert code == EXIT_OK, capsys.readouterr()
    with closing(sqlite3.connect(tmp_path / "data/smoke/hr.sqlite")) as conn:
        kinds = conn.execute("SELECT DISTINCT typeof(employee_uuid), length(employee_uuid) FROM employees").fetchall()
    assert kinds == [("blob", 16)]


def test_an_unknown_sqlite_uuid_storage_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["materialize", "--tier", "smoke", "--data-dir", str(tmp_path / "data"), "--sqlite-uuid-storage", "b64"])
    assert caught.value.code == EXIT_USAGE and "--sqlite-uuid-storage" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_the_run_s_job_is_built_once_per_configuration(tmp_path, monkeypatch):
    """Dagster reconstructs the command's job many times per run; it is built once for the same command,
    environment and scenario text, and again when any of them changes."""
    from crm_mock.cli import materialize_all_job

    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(DEFAULT_SCENARIO.read_text())
    command = (str(tmp_path / "data"), str(scenario), "", "", "smoke", "1")
    first = materialize_all_job(*command)
    assert materialize_all_job(*command) is first
    assert materialize_all_job(str(tmp_path / "elsewhere"), *command[1:]) is not first
    monkeypatch.setenv("CRM_MOCK_TEST_PROBE", "another environment")
    assert materialize_all_job(*command) is not first
    monkeypatch.delenv("CRM_MOCK_TEST_PROBE")
    assert materialize_all_job(*command) is first
    scenario.write_text(DEFAULT_SCENARIO.read_text().replace("accounts: 500", "accounts: 400"))
    assert materialize_all_job(*command) is not first
