"""Workers start beside the floor's loop, several at once.

A start clones a workspace, runs the project's ``[workspace] setup`` (``npm ci`` can take
minutes) and launches the agent. One after another in the loop, fifty starts took 4 s before
the last agent began (issue 13), and one slow setup held up every gate and landing behind it.
The loop claims the issue and hands the start to a job; the job's thread, with its own
database connection, starts the worker and records its first attempt, or puts the issue back
(``floor.startfail``). An issue whose start is in flight counts as having a worker (``adopt``
must not put its claim back) and takes a slot.
"""

from __future__ import annotations

import os
import threading
import time

from shopfloor import faults
from shopfloor.errors import ShopfloorError
from shopfloor.floor import attempts, startfail
from shopfloor.progress import Progress
from shopfloor.sandbox.config import enabled as sandbox_enabled
from shopfloor.tracker import store
from shopfloor.tracker.service import Tracker
from shopfloor.workers import lifecycle as workers
from shopfloor.workers.records import Worker


def default_jobs(cores: int | None = None) -> int:
    """Starts at once: twice the cores, at least 2. A start mostly waits on git and on process
    start-up; a heavy ``[workspace] setup`` is the project's, and admission bounds the agents."""
    return max(2, 2 * (cores if cores is not None else (os.cpu_count() or 1)))


def begin_attempt(tracker: Tracker, row: Worker, *, handoff: bool = False, learnings: list[str] | None = None) -> None:
    """Record the start of an attempt for the worker's current generation (``learnings``: the
    memory's source ids its briefing included)."""
    vibe = int(store.get(tracker.conn, row.issue).get("vibe") or 3)
    sandbox = "bwrap" if sandbox_enabled() else "none"  # --no-sandbox: every attempt says so
    attempts.begin(
        tracker.conn, row.issue, row.name, row.generation, row.agent, vibe, tracker.now(), handoff=handoff,
        sandbox=sandbox, learnings=learnings,
    )  # fmt: skip


class StartPool:
    def __init__(self, tracker: Tracker, jobs: int, progress: Progress, wake: threading.Event) -> None:
        self.tracker = tracker
        self.jobs = jobs
        self.progress = progress
        self.wake = wake
        self._running: dict[str, threading.Thread] = {}
        self._stopped: startfail.FloorStopped | None = None
        self._lock = threading.Lock()

    def starting(self) -> set[str]:
        """The issues whose start is in flight."""
        with self._lock:
            return set(self._running)

    def count(self) -> int:
        with self._lock:
            return len(self._running)

    def room(self) -> int:
        """How many more starts may begin now. After a failed start (a streak), one at a time:
        a machine that cannot start agents should not fail a whole slot's worth of issues."""
        limit = 1 if startfail.pending_streak(self.tracker) else self.jobs
        return max(0, limit - self.count())

    def start(self, request: workers.StartRequest, learnings: list[str] | None = None) -> None:
        """Start ``request`` in a job; its first attempt records ``learnings`` (its briefing's)."""
        thread = threading.Thread(
            target=self._job, args=(request, learnings), name=f"start-{request.issue}", daemon=True
        )
        with self._lock:
            self._running[request.issue] = thread
        thread.start()

    def raise_if_stopped(self) -> None:
        """A start in a job reached the streak that stops the floor: stop it here, in the loop."""
        if self._stopped is not None:
            raise self._stopped

    def _job(self, request: workers.StartRequest, learnings: list[str] | None) -> None:
        tracker: Tracker | None = None
        try:
            tracker = self.tracker.sibling()  # its own connection
            try:
                row = workers.start(tracker, request)
            except Exception as exc:  # back to open, not blocked; the loop tries again later
                error = exc if isinstance(exc, ShopfloorError) else ShopfloorError(f"{type(exc).__name__}: {exc}")
                try:
                    startfail.put_back(tracker, request.issue, error, self.progress)
                except startfail.FloorStopped as stop:
                    self._stopped = stop
                return
            startfail.started(tracker)
            faults.point("launch")
            begin_attempt(tracker, row, learnings=learnings)
            self.progress(f"{request.issue}: started {row.agent} worker {row.name}")
        except Exception as exc:  # reported, never lost; adopt's settle puts back what it left
            self.progress(f"{request.issue}: its start failed unexpectedly ({type(exc).__name__}: {exc})")
        finally:
            if tracker is not None:
                tracker.close()
            with self._lock:  # only its own entry: the issue may have been claimed and started again
                if self._running.get(request.issue) is threading.current_thread():
                    del self._running[request.issue]
            self.wake.set()

    def stop(self, deadline: float) -> None:
        """Wait for the starts in flight until ``deadline`` (time.monotonic)."""
        with self._lock:
            threads = list(self._running.values())
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
