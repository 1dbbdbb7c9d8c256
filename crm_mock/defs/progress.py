"""A step's progress in the run's logs (``context.log``: the UI's run view and the run's history) and, when the
CLI listens, on its terminal. The counting itself is plain Python (crm_mock.generate.progress)."""

import dagster as dg

from crm_mock.generate.progress import Outlet, Tracker, live_outlet

# at most one line per step this often in the run's logs, besides the heartbeat and each phase's last line
LOG_EVERY_SECONDS = 10.0


def step_label(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> str:
    """The step as the CLI names it: ``orders/order_lines`` for the step ``orders__order_lines``."""
    return context.op_execution_context.op_def.name.replace("__", "/")


def step_tracker(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> Tracker:
    """The step's tracker (use it as a context manager: it beats while the step works)."""
    log = context.log
    outlets = [Outlet(lambda report: log.info(report.text), every=LOG_EVERY_SECONDS)]
    if (live := live_outlet()) is not None:
        outlets.append(live)
    return Tracker(step_label(context), outlets)
