"""A tier built from the CLI and from the UI's path, in the same run: `crm-mock materialize` against a run of
`materialize_all` submitted through a real dagster-webserver's GraphQL API and launched by the daemon, both
on the same project-local instance.

    .venv/bin/python benchmarks/ui_vs_cli.py --tier staging [--repeat 2]

Prints each time (wall clock: the CLI from start to exit; the UI from submission to the run's end) and the
ratio UI / CLI.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crm_mock_tests.dagster_processes import (bin_path, daemon, free_port, module_workspace,  # noqa: E402
                                              wait_for_daemon, wait_for_run, wait_until_serving, webserver)


def cli_seconds(project: Path, env: dict, tier: str) -> float:
    started = time.time()
    done = subprocess.run([bin_path("crm-mock"), "materialize", "--tier", tier], cwd=project, env=env, check=True,
                          capture_output=True, text=True, timeout=3600)
    print(f"  CLI: {done.stdout.strip().splitlines()[-1][:100]}", flush=True)
    return time.time() - started


def ui_seconds(client, instance: dg.DagsterInstance, tier: str) -> float:
    submitted = time.time()
    run_id = client.submit_job_execution("materialize_all", tags={"dagster/partition": tier})
    assert wait_for_run(client, run_id, timeout=3600) == "SUCCESS"
    record = instance.get_run_record_by_id(run_id)
    stats = instance.get_run_stats(run_id)
    print(f"  UI run {run_id[:8]}: queued {record.create_timestamp.timestamp() - submitted:.1f} s after submission, "
          f"started {record.start_time - submitted:.1f} s, {stats.steps_succeeded} steps in "
          f"{record.end_time - record.start_time:.1f} s", flush=True)
    return record.end_time - submitted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tier", default="staging", choices=("smoke", "staging", "load"))
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    from dagster_graphql import DagsterGraphQLClient

    with tempfile.TemporaryDirectory(prefix="crm_mock_ui_vs_cli_") as tmp:
        project = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "CRM_MOCK_"))}
        cli = [cli_seconds(project, env, args.tier)]  # also creates ./dagster_home, as a user's first run would
        home = project / "dagster_home"
        env["DAGSTER_HOME"] = str(home)
        workspace = module_workspace(project)
        port = free_port()
        processes = [webserver(workspace, env, project / "webserver.log", port),
                     daemon(workspace, env, project / "daemon.log")]
        instance = dg.DagsterInstance.from_config(str(home))
        ui = []
        try:
            wait_until_serving(port, processes)
            wait_for_daemon(instance, processes[1])
            client = DagsterGraphQLClient("127.0.0.1", port_number=port)
            # the daemon loads the code on its first launch, which a running `crm-mock dev` has long done
            warm_up = client.submit_job_execution("live_consistency", tags={"dagster/partition": args.tier})
            assert wait_for_run(client, warm_up, timeout=600) == "SUCCESS"
            for round_ in range(args.repeat):
                ui.append(ui_seconds(client, instance, args.tier))
                if round_ + 1 < args.repeat:
                    cli.append(cli_seconds(project, env, args.tier))
        finally:
            for process in processes:
                process.stop()
            instance.dispose()
    cli_median, ui_median = statistics.median(cli), statistics.median(ui)
    print(f"tier {args.tier}: CLI {', '.join(f'{s:.1f}' for s in cli)} s; UI {', '.join(f'{s:.1f}' for s in ui)} s; "
          f"median ratio UI/CLI {ui_median / cli_median:.2f}")


if __name__ == "__main__":
    main()
