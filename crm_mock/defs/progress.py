"""A step's progress in the run's logs (``context.log``: the UI's run view and the run's history) and, when the
CLI listens, on its terminal. The counting itself is plain Python (crm_mock.generate.progress)."""

import dagster as dg

from crm_mock.generate.progress import HEARTBEAT_SECONDS, Outlet, Tracker, live_outlet

# at most one line per step this often in the run's logs, besides the heartbeat and the step's summary
LOG_EVERY_SECONDS = 10.0


def step_label(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> str:
    """The step as the CLI names it: ``orders/order_lines`` for the step ``orders__order_lines``."""
    return context.op_execution_context.op_def.name.replace("__", "/")


def step_tracker(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext, *,
                 every: float = LOG_EVERY_SECONDS, heartbeat: float = HEARTBEAT_SECONDS) -> Tracker:
    """The step's tracker (use it as a context manager: it beats while the step works)."""
    log = context.log
    # one summary line at the end of the step rather than one per phase: most steps take a second or less
    outlets = [Outlet(lambda report: log.info(report.text), every, heartbeat, phase_ends=False)]
    if (live := live_outlet()) is not None:
        outlets.append(live)
    return Tracker(step_label(context), outlets, tick_seconds=min(1.0, heartbeat / 4))
