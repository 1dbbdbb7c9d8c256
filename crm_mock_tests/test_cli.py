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


def test_failure_names_the_asset(tmp_path, capsys):
    # loading a database whose tables were never generated fails, and says which asset
    code = main(["materialize", "--tier", "smoke", "--data-dir", str(tmp_path / "data"),
                 "--select", "key:contact/database"])
    assert code == EXIT_FAILED
    captured = capsys.readouterr()
    assert "contact/database" in captured.err
    assert "FAIL" in captured.out and "has not been materialised" in captured.out


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
