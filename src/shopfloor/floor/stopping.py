"""Stopping the floor: what Ctrl-C and SIGTERM say, and ``shopfloor stop``.

A coordinator that stops (Ctrl-C, SIGTERM) leaves its workers running: agents are expensive
to interrupt, and the next ``shopfloor run`` adopts them. So it says exactly that, and how to
end them. ``shopfloor stop`` ends everything cleanly: it stops the coordinator first (SIGTERM,
then SIGKILL if it does not let go of the floor: the fault-injection tests show any point is
safe), so it cannot restart what is stopped next; then it stops every running agent, saving
its uncommitted work as a ``wip:`` commit on its branch. Its attempt ends as ``stopped``, and
the next ``shopfloor run`` resumes that same session instead of counting a crash.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from shopfloor import paths
from shopfloor.errors import ConflictError
from shopfloor.floor import attempts
from shopfloor.floor.lock import holder_text
from shopfloor.floor.outcomes import Outcome
from shopfloor.tracker.service import Tracker
from shopfloor.workers import lifecycle as workers

STOPPED = Outcome.STOPPED  # an attempt's outcome: `shopfloor stop` ended its agent


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the coordinator is, so it ends as on Ctrl-C (checks killed, counts kept)."""


def on_sigterm() -> None:
    """Make SIGTERM end ``shopfloor run`` the way Ctrl-C does, with its message."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Terminated()

    signal.signal(signal.SIGTERM, handler)


def parting_words(how: str, running: list[str]) -> str:
    """What a stopped coordinator says (pure): the workers keep running, and how to end them."""
    if not running:
        return f"stopped by {how}: no worker is running; `shopfloor run` carries on from here"
    names = ", ".join(running[:8]) + (f" and {len(running) - 8} more" if len(running) > 8 else "")
    return (
        f"stopped by {how}: {len(running)} worker(s) keep running ({names}); `shopfloor run` adopts them "
        "again, and `shopfloor stop` ends them with their work saved"
    )


def holder(state_dir: Path) -> dict[str, Any] | None:
    """Who holds the floor's lock, or None when no coordinator runs."""

    path = paths.floor_lock(state_dir)
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                found = json.loads(handle.read() or "{}")
            except ValueError:
                found = {}
            return found if isinstance(found, dict) else {}
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return None


def stop_coordinator(state_dir: Path, wait_s: float, progress: Callable[[str], None]) -> dict[str, Any] | None:
    """SIGTERM the coordinator holding the floor, and wait until it lets go (SIGKILL after ``wait_s``)."""
    found = holder(state_dir)
    if found is None:
        return None
    if found.get("host") != socket.gethostname() or not isinstance(found.get("pid"), int):
        raise ConflictError(
            f"the floor is run by {holder_text(found)}, not on this machine: stop it there (Ctrl-C in its terminal)"
        )
    pid = int(found["pid"])
    progress(f"stopping the coordinator ({holder_text(found)}) ...")
    how = "SIGTERM"
    for sig, patience in ((signal.SIGTERM, wait_s), (signal.SIGKILL, 10.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        how = sig.name
        deadline = time.monotonic() + patience
        while holder(state_dir) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if holder(state_dir) is None:
            break
    if holder(state_dir) is not None:
        raise ConflictError(f"the coordinator ({holder_text(found)}) did not stop: end process {pid} by hand")
    return {**found, "signal": how}


@dataclass
class Stopped:
    coordinator: dict[str, Any] | None = None
    workers: list[dict[str, Any]] = field(default_factory=list)


def stop_floor(tracker: Tracker, wait_s: float, progress: Callable[[str], None]) -> Stopped:
    """The coordinator, then every running agent, each with its work saved."""

    out = Stopped(stop_coordinator(paths.state_dir(tracker), wait_s, progress))
    for worker in workers.list_workers(tracker):
        if worker.state not in ("running", "starting"):
            continue
        attempt = attempts.of_worker(tracker.conn, worker.name, worker.generation)
        ended = workers.kill(tracker, worker)
        if attempt is not None and not attempt.ended_at and attempt.outcome is None:
            attempts.end(tracker.conn, attempt.id, tracker.now(), STOPPED, ended)
        saved = f"uncommitted work saved as {ended.wip_commit[:10]}" if ended.wip_commit else "nothing uncommitted"
        progress(f"{worker.issue}: stopped worker {worker.name} ({saved} on {worker.branch})")
        out.workers.append(
            {"name": worker.name, "issue": worker.issue, "branch": worker.branch, "wip_commit": ended.wip_commit}
        )
    return out
