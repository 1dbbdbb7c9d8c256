"""`crm-mock materialize`: runs the graph, reports progress, exits with a meaningful code."""

from __future__ import annotations

import sqlite3
from contextlib import closing

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
