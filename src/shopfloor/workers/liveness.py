"""Is a worker still running, and stopping one: re-discovery without trusting this process's memory.

A worker is alive while its shim or its agent is. A shim that vanished without recording an
ending (killed, out of memory) leaves its agent without an owner: that agent is stopped,
its uncommitted work saved, and the worker marked ``lost``, never silently forgotten.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from shopfloor.errors import ConflictError, ShopfloorError
from shopfloor.tracker.clock import epoch
from shopfloor.tracker.service import Tracker
from shopfloor.workers import procs, records, terminal
from shopfloor.workers.records import FINAL_STATES, Worker
from shopfloor.workers.spec import SPEC_NAME, read
from shopfloor.workspace import worktrees

STOP_WAIT_S = 15.0
AGENT_GRACE_S = 5.0
ENDING_WAIT_S = 10.0  # a shim that recorded its ending exits within moments, slower only under load
START_GRACE_S = 30.0  # a worker still "starting" after this, with no shim, is lost


def shim_alive(worker: Worker) -> bool:
    return procs.is_alive(worker.pid, worker.pid_start)


def agent_alive(worker: Worker) -> bool:
    return procs.is_alive(worker.agent_pid, worker.agent_pid_start)


def _age_s(stamp: str) -> float:
    return time.time() - epoch(stamp)


def _wait(check: Callable[[], bool], timeout: float) -> bool:
    """Wait until ``check()`` is false; True if it became false in time."""
    deadline = time.monotonic() + timeout
    while check() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not check()


def stop_agent(worker: Worker) -> None:
    """TERM the agent's process group, then KILL it if it lingers."""
    if not agent_alive(worker):
        return
    procs.signal_group(worker.agent_pid, signal.SIGTERM)
    if not _wait(lambda: agent_alive(worker), AGENT_GRACE_S):
        procs.signal_group(worker.agent_pid, signal.SIGKILL)
        _wait(lambda: agent_alive(worker), AGENT_GRACE_S)


def confinement_of(worker: Worker) -> list[str]:
    """The agent's sandbox prefix from its launch spec: git that acts on its workspace's files runs
    inside it (``worktrees.save_wip``). Empty when the agent ran unconfined or never launched."""

    path = Path(worker.log_dir) / SPEC_NAME
    if not path.is_file():
        return []
    try:
        return list(read(path).sandbox)
    except ShopfloorError:
        return []


def _save(tracker: Tracker, worker: Worker, why: str) -> tuple[str | None, str | None]:
    """Save uncommitted work, and bring the branch into the main repository; returns (wip
    commit, problem)."""
    if not Path(worker.worktree).is_dir():
        return None, f"the worktree {worker.worktree} is gone"
    try:
        wip = worktrees.save_wip(Path(worker.worktree), worker.issue, why, confine=confinement_of(worker))
        common = Path(tracker.location.common_dir).resolve()
        worktrees.fetch_back(common.parent if common.name == ".git" else common, worker.issue)
        return wip, None
    except ShopfloorError as exc:
        return None, f"could not save uncommitted work: {exc}"


def reconcile(tracker: Tracker, worker: Worker) -> Worker:
    """Mark a worker lost if its shim is gone without having recorded how it ended."""
    if worker.state in FINAL_STATES or shim_alive(worker):
        return worker
    if worker.pid is None and _age_s(worker.started_at) < START_GRACE_S:
        return worker  # being launched right now
    fresh = records.get(tracker.conn, worker.name)  # it may have just finished
    if fresh.state in FINAL_STATES or fresh.generation != worker.generation or shim_alive(fresh):
        return fresh
    why = f"its shim (pid {fresh.pid}) is gone without recording an ending; the log is in {fresh.log_dir}"
    if agent_alive(fresh):
        stop_agent(fresh)
        why += f"; its agent (pid {fresh.agent_pid}) was left without an owner and has been stopped"
    _end(tracker, fresh, "lost", why, "uncommitted when its shim was lost")
    return records.get(tracker.conn, fresh.name)


def _end(tracker: Tracker, worker: Worker, state: str, why: str, wip_reason: str) -> None:
    """Record an ending the shim could not record itself, after saving uncommitted work as a
    ``wip:`` commit (a failure to save is added to ``why``, never raised)."""
    wip, problem = _save(tracker, worker, wip_reason)
    records.update(
        tracker.conn,
        worker.name,
        worker.generation,
        state=state,
        wip_commit=wip,
        error=why + (f"; {problem}" if problem else ""),
        ended_at=tracker.now(),
    )


def kill(tracker: Tracker, worker: Worker) -> Worker:
    """Stop the worker's shim and agent; uncommitted work is saved as a ``wip:`` commit."""
    if worker.state == "starting" and worker.terminal == "setup" and shim_alive(worker):
        raise ConflictError(
            f"worker {worker.name} is still being set up by process {worker.pid}: wait until it is running "
            "(`shopfloor worker list`), or stop that process"
        )
    if shim_alive(worker):
        assert worker.pid is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signal.SIGTERM)  # the shim stops its agent and records the ending
        if not _wait(lambda: shim_alive(worker), STOP_WAIT_S):
            procs.signal_group(worker.pid, signal.SIGKILL)
    fresh = records.get(tracker.conn, worker.name)  # re-read: the agent's pid may be newer than ours
    stop_agent(fresh)
    if fresh.state not in FINAL_STATES and fresh.generation == worker.generation:
        _end(tracker, fresh, "killed", "killed by shopfloor worker kill", "uncommitted when the worker was killed")
    terminal.close(fresh.tmux_session)
    return records.get(tracker.conn, worker.name)


def is_running(worker: Worker) -> bool:
    return worker.state not in FINAL_STATES or shim_alive(worker) or agent_alive(worker)


def settled(worker: Worker, timeout: float = ENDING_WAIT_S) -> bool:
    """True when nothing of the worker runs. A worker whose ending is recorded may still be
    closing down (its shim closes the channel and the log after it records the ending): wait for
    that, up to ``timeout``, rather than call a finished worker running."""
    if worker.state not in FINAL_STATES:
        return False
    return _wait(lambda: shim_alive(worker) or agent_alive(worker), timeout)
