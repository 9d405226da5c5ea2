"""Did the agent start? ``worker start`` and ``worker restart`` wait for the shim to say so.

The shim runs on its own (in tmux, or detached), so the command that launched it returns before
the agent's exec has happened. Until the shim records the agent ``running`` (or ends), and in
the sandbox until its first event or ``EXEC_GRACE_S`` (there bwrap is what starts, and its exec
of the agent may still fail), the command waits: an agent that could not be launched at all
(``Argument list too long``, a missing interpreter) is then reported by the command that
launched it, with a non-zero exit, instead of a ``starting`` that later turns out to have failed.
"""

from __future__ import annotations

import re
import time

from shopfloor.errors import ShopfloorError
from shopfloor.tracker.service import Tracker
from shopfloor.workers import lifecycle
from shopfloor.workers.records import Worker

LAUNCH_WAIT_S = 20.0  # the shim starts in well under a second; this only bounds a stuck start
EXEC_GRACE_S = 2.0  # in the sandbox bwrap is what starts: its exec of the agent fails within this
# (0.5 s was too short on a loaded 2-core machine: the suite saw a failed exec reported as a start;
# a working agent usually ends the wait sooner, with its first event)
POLL_S = 0.05
_BWRAP_EXEC = re.compile(r"^bwrap: execvp (.+?): (.+)$")


def sandbox_exec_failure(stderr_tail: str) -> str | None:
    """The reason bwrap could not exec the agent (its last stderr line), worded as the shim words
    a failed start; None for anything else. Pure."""
    lines = stderr_tail.strip().splitlines()
    found = _BWRAP_EXEC.match(lines[-1]) if lines else None
    return f"cannot start {found[1]}: {found[2]}" if found else None


def launch_failure(worker: Worker) -> str | None:
    """Why the agent of ``worker`` never started, or None when it did (or may still). Pure."""
    if worker.state not in ("failed", "lost") or worker.agent_pid is not None or worker.exit_code is not None:
        return None
    first = (worker.error or "").strip().splitlines()
    return first[0] if first else "its shim ended before it started the agent"


def await_launch(tracker: Tracker, worker: Worker, timeout: float = LAUNCH_WAIT_S) -> Worker:
    """The worker once its agent runs or its shim has ended (or ``timeout`` has passed); raises
    with one line when the agent could not be launched."""

    deadline = time.monotonic() + timeout
    current, running_since = worker, None
    while current.generation == worker.generation and _pending(current, running_since):
        if time.monotonic() > deadline:
            return current
        time.sleep(POLL_S)
        current = lifecycle.find(tracker, worker.name)  # a shim that died is reconciled as lost
        if current.state == "running" and running_since is None:
            running_since = time.monotonic()
    reason = launch_failure(current) if current.generation == worker.generation else None
    if reason is not None:
        raise ShopfloorError(
            f"worker {worker.name} could not start the {worker.agent} agent: {reason} "
            f"(`shopfloor worker rm {worker.name}` removes it)"
        )
    return current


def _pending(worker: Worker, running_since: float | None) -> bool:
    """Still to wait for: the shim has not started the agent yet, or the agent runs but has said
    nothing yet and may still turn out never to have started (a sandboxed exec that fails)."""
    if worker.state == "starting":
        return True
    quiet = worker.state == "running" and not worker.last_event
    return quiet and (running_since is None or time.monotonic() - running_since < EXEC_GRACE_S)
