"""Did the agent start? ``worker start`` and ``worker restart`` wait for the shim to say so.

The shim runs on its own (in tmux, or detached), so the command that launched it returns before
the agent's exec has happened. Until the shim records the agent ``running`` (or ends), the
command waits, briefly: an agent that could not be launched at all (``Argument list too long``,
a missing interpreter) is then reported by the command that launched it, with a non-zero exit,
instead of a ``starting`` that later turns out to have failed.
"""

from __future__ import annotations

import time

from shopfloor.errors import ShopfloorError
from shopfloor.tracker.service import Tracker
from shopfloor.workers.records import Worker

LAUNCH_WAIT_S = 20.0  # the shim starts in well under a second; this only bounds a stuck start
POLL_S = 0.05


def launch_failure(worker: Worker) -> str | None:
    """Why the agent of ``worker`` never started, or None when it did (or may still). Pure."""
    if worker.state not in ("failed", "lost") or worker.agent_pid is not None or worker.exit_code is not None:
        return None
    first = (worker.error or "").strip().splitlines()
    return first[0] if first else "its shim ended before it started the agent"


def await_launch(tracker: Tracker, worker: Worker, timeout: float = LAUNCH_WAIT_S) -> Worker:
    """The worker once its agent runs or its shim has ended (or ``timeout`` has passed); raises
    with one line when the agent could not be launched."""
    from shopfloor.workers import service

    deadline = time.monotonic() + timeout
    current = worker
    while current.state == "starting" and current.generation == worker.generation:
        if time.monotonic() > deadline:
            return current
        time.sleep(POLL_S)
        current = service.find(tracker, worker.name)  # a shim that died is reconciled as lost
    reason = launch_failure(current) if current.generation == worker.generation else None
    if reason is not None:
        raise ShopfloorError(
            f"worker {worker.name} could not start the {worker.agent} agent: {reason} "
            f"(`shopfloor worker rm {worker.name}` removes it)"
        )
    return current
