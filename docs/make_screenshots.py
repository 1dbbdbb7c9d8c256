"""Re-make the README's screenshots: build the smoke tier with the CLI, plant drift in two replicas, let the
consistency sensor report it through the real daemon, and photograph the UI with Debian's Chromium.

    .venv/bin/python docs/make_screenshots.py        # writes docs/*.png (needs /usr/bin/chromium, playwright)
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import dagster as dg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crm_mock_tests.dagster_processes import (bin_path, daemon, free_port, module_workspace,  # noqa: E402
                                              wait_for_daemon, wait_until_serving, webserver)

DOCS = REPO / "docs"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
# a replica row deleted in Orders and a price changed in Sales: what a broken sync leaves behind
DRIFT = (("orders", "DELETE FROM account_replica WHERE account_uuid = "
                    "(SELECT account_uuid FROM account_replica ORDER BY account_uuid LIMIT 1 OFFSET 3)"),
         ("sales", "UPDATE product_replica SET list_price = list_price + 1 WHERE product_uuid = "
                   "(SELECT product_uuid FROM product_replica ORDER BY product_uuid LIMIT 1 OFFSET 2)"))


def _filter(page, query: str) -> None:
    page.locator(".CodeMirror").first.click()
    page.keyboard.type(query)
    page.keyboard.press("Enter")
    page.wait_for_timeout(4000)


def photograph(base: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tempfile.mkdtemp(prefix="crm_mock_chromium_"), executable_path="/usr/bin/chromium", headless=True,
            args=FLAGS, viewport={"width": 1400, "height": 820})
        context.set_default_timeout(60_000)
        page = context.new_page()
        page.goto(f"{base}/asset-groups")
        page.wait_for_timeout(5000)
        page.screenshot(path=str(DOCS / "graph_groups.png"))
        _filter(page, " or ".join(f'key:"{s}/account_replica"' for s in ("sales", "orders", "support")))
        page.screenshot(path=str(DOCS / "graph_replicas.png"))
        page.goto(f"{base}/assets/sales/account_replica")
        page.get_by_text("account_uuid").first.wait_for()
        page.wait_for_timeout(2000)
        page.screenshot(path=str(DOCS / "asset_page.png"))
        page.goto(f"{base}/assets/orders/account_replica?view=checks")
        page.get_by_text("live_replica_in_sync").first.click()
        page.wait_for_timeout(3000)
        page.screenshot(path=str(DOCS / "drifted_replica.png"))
        page.goto(f"{base}/locations/crm_mock/sensors/service_consistency_sensor")
        page.get_by_role("button", name="Preview tick result").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Skip reason:").wait_for()
        page.wait_for_timeout(1000)
        page.screenshot(path=str(DOCS / "sensor_tick.png"))
        page.goto(f"{base}/assets/profile/distributions")
        page.get_by_text("[Show Markdown]").first.click()
        page.wait_for_timeout(2000)
        page.screenshot(path=str(DOCS / "profile.png"))
        context.close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="crm_mock_screens_") as tmp:
        project = Path(tmp)
        subprocess.run([bin_path("crm-mock"), "materialize", "--tier", "smoke"], cwd=project, check=True,
                       timeout=900)
        for service, statement in DRIFT:
            with closing(sqlite3.connect(project / "data" / "smoke" / f"{service}.sqlite")) as conn:
                conn.execute(statement)
                conn.commit()
        home = project / "dagster_home"
        env = {"PATH": "/usr/bin:/bin", "DAGSTER_HOME": str(home), "CRM_MOCK_DATA_DIR": str(project / "data"),
               "CRM_MOCK_CONSISTENCY_INTERVAL_SECONDS": "5"}
        workspace = module_workspace(project)
        subprocess.run([bin_path("dagster"), "sensor", "start", "service_consistency_sensor", "-w", str(workspace)],
                       cwd=project, env=env, check=True, timeout=300)
        port = free_port()
        processes = [webserver(workspace, env, project / "webserver.log", port),
                     daemon(workspace, env, project / "daemon.log")]
        instance = dg.DagsterInstance.from_config(str(home))
        try:
            wait_until_serving(port, processes)
            wait_for_daemon(instance, processes[1])
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:  # the first tick launches live_consistency; later ones skip
                runs = instance.get_run_records(dg.RunsFilter(job_name="live_consistency"))
                if runs and runs[0].dagster_run.is_finished and time.monotonic() > deadline - 270:
                    break
                time.sleep(2)
            photograph(f"http://127.0.0.1:{port}")
        finally:
            for process in processes:
                process.stop()
            instance.dispose()


if __name__ == "__main__":
    main()
