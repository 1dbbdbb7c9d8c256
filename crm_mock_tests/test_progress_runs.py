"""Progress the way it really runs: in a run's Dagster logs, in `crm-mock materialize` writing to a file or
pipe, and on a terminal (a pseudo-terminal, with the CLI in its own process)."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import time

import dagster as dg

from crm_mock.cli import EXIT_OK, main
from crm_mock.defs.progress import step_tracker

HR = 'key:"hr/employees" or key:"hr/database"'  # a table and the database it goes into: seconds


def _messages(instance: dg.DagsterInstance, run_id: str) -> dict[str, list[str]]:
    """The run's log lines (not its events), by step."""
    found: dict[str, list[str]] = {}
    for entry in instance.all_logs(run_id):
        if entry.dagster_event is None:
            found.setdefault(entry.step_key, []).append(entry.user_message)
    return found


def test_plain_output_and_the_run_s_logs_show_each_step_s_progress(tmp_path, capsys):
    code = main(["materialize", "--tier", "smoke", "--data-dir", str(tmp_path / "data"), "--select", HR,
                 "--progress-every", "0"])
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    lines = out.splitlines()
    assert "\r" not in out
    employees = lines.index(next(line for line in lines if line.endswith("peak  hr/employees")))
    assert re.fullmatch(r"  ok +[\d.]+s +\d+ MB peak  hr/employees", lines[employees])
    progress = [line for line in lines[:employees] if line.startswith("  ...  hr/employees ")]
    assert [line.split(":")[0] for line in progress if " in " in line] == [
        "  ...  hr/employees generate", "  ...  hr/employees checks"]  # generated straight into the store
    assert any(line.startswith("  ...  hr/database load: 5 rows in ") for line in lines[employees:])
    assert lines[-1].startswith("crm-mock: tier 'smoke' done in ")

    # the same run in the instance the CLI records it in: one line per step, as the UI shows it
    with dg.DagsterInstance.get() as instance:
        run, = instance.get_run_records(dg.RunsFilter(tags={"crm_mock/trigger": "crm-mock materialize"}), limit=1)
        logged = _messages(instance, run.dagster_run.run_id)
    # the step's summary (a step slowed past the heartbeat by a busy machine also logs that it is still running)
    generated, = [line for line in logged["hr__employees"] if line.startswith("hr/employees in ")]
    assert re.fullmatch(r"hr/employees in [\d.]+s: generate 5 rows in [\d.]+s \([\d,.]+ rows/s\); "
                        r"checks \d+ checks in .*", generated), generated
    loaded, = [line for line in logged["hr__database"] if line.startswith("hr/database in ")]
    assert re.match(r"hr/database in [\d.]+s: load 5 rows in ", loaded) and "; checks 1 check in " in loaded


def test_a_long_step_beats_in_the_run_s_logs():
    """The heartbeat is written from the tracker's own thread into the run's logs while the step works."""

    @dg.asset
    def slow(context):
        with step_tracker(context, every=0.1, heartbeat=0.3):
            time.sleep(1.5)

    with dg.instance_for_test() as instance:
        result = dg.materialize([slow], instance=instance)
        beats = [m for m in _messages(instance, result.run_id)["slow"] if m.startswith("slow")]  # not the IO manager's
    assert len(beats) >= 3, beats
    assert all(re.fullmatch(r"slow: still working after [\d.]+s", beat) for beat in beats), beats


def test_a_terminal_gets_a_bar_redrawn_in_place(tmp_path):
    main_fd, terminal_fd = pty.openpty()
    command = [sys.executable, "-m", "crm_mock.cli", "materialize", "--tier", "smoke",
               "--data-dir", str(tmp_path / "data"), "--select", HR]
    with subprocess.Popen(command, stdin=terminal_fd, stdout=terminal_fd, stderr=terminal_fd, cwd=tmp_path,
                          env={**os.environ, "COLUMNS": "160"}) as process:
        os.close(terminal_fd)
        out = _read_all(main_fd)
    assert process.returncode == EXIT_OK, out
    # the bar, then the step's line written over it, then the next step's bar
    assert re.search(r"\r\x1b\[K  \[#{20}\] 100%  hr/employees checks  \d+/\d+ checks .*"
                     r"\r\x1b\[K  ok +[\d.]+s +\d+ MB peak  hr/employees\r\n", out), out
    assert "\r\x1b[K  [####################] 100%  hr/database load  5/5 rows" in out
    # no bar is left behind: the summary follows the last step's line
    assert out.split("peak  hr/database\r\n", 1)[1].startswith("crm-mock: tier 'smoke' done in ")


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal's other end closed: the process is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode()



def test_the_live_report_counts_its_rules(smoke_run, tmp_path, capsys):
    """The live report's step says how many rules it has checked of all (rate, ETA), not only that it runs."""
    import shutil

    from crm_mock.defs.consistency.checks import LIVE_RULES

    shutil.copytree(smoke_run.data_dir / smoke_run.tier, tmp_path / "data" / smoke_run.tier)
    code = main(["materialize", "--tier", "smoke", "--data-dir", str(tmp_path / "data"), "--select",
                 'key:"consistency/live_report"', "--progress-every", "0"])
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert re.search(rf"^  \.\.\.  consistency/live_report rules: {len(LIVE_RULES)} rules in [\d.]+s", out, re.M), out
    with dg.DagsterInstance.get() as instance:
        run, = instance.get_run_records(dg.RunsFilter(tags={"crm_mock/trigger": "crm-mock materialize"}), limit=1)
        logged = _messages(instance, run.dagster_run.run_id)
    assert any(re.match(rf"consistency/live_report in [\d.]+s: rules {len(LIVE_RULES)} rules in ", line)
               for line in logged["consistency__live_report"]), logged
