"""The queue as a lane beside the floor's loop: queue passes run in a thread of their own.

A queue pass gates a batch (minutes, with a real test suite); run inline, it held up the
floor's loop all that while (issue 13). ``QueueLane`` runs ``queue.landing.run_once`` in one
thread with its *own* tracker (its own SQLite connection: a connection is never shared across
threads), under the same queue lock as ever, so a person's ``shopfloor queue run`` meanwhile is
refused or waited out exactly as before.

- ``poke()`` says there may be work (the loop calls it each turn while entries are queued,
  testing or approved). It returns at once; pokes while a pass runs are served by another
  pass after it, so changes queued during a batch's gate join the next batch.
- The lane keeps passing while a pass lands or rejects something and entries are still queued;
  a pass that moves nothing (a red target, a target that cannot be moved, the lock held by a
  person's run) waits for the next poke.
- ``busy`` is true while a pass runs. ``stop()`` lets the current pass finish, then joins.
- Every error is reported through ``progress`` (a pass that raises is named with the error,
  and the lane carries on with the next poke); ``failures`` counts them.

Nothing here is the floor's: which entries to land and how is ``queue.landing``'s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from shopfloor.errors import ConflictError
from shopfloor.progress import Progress, quiet
from shopfloor.queue import entries
from shopfloor.queue.hooks import Hooks
from shopfloor.queue.landing import run_once
from shopfloor.tracker.service import Tracker


def opener(tracker: Tracker) -> Callable[[], Tracker]:
    """Opens another tracker on ``tracker``'s repository and database, as the same actor."""
    return tracker.sibling


class QueueLane:
    """Runs queue passes in a thread beside the loop (see the module's docstring)."""

    def __init__(
        self,
        open_tracker: Callable[[], Tracker],
        hooks: Hooks,
        batch: int = 4,
        progress: Progress = quiet,
    ) -> None:
        self.open_tracker, self.hooks, self.batch, self.progress = open_tracker, hooks, batch, progress
        self.passes = 0  # passes finished, whatever their end
        self.failures = 0  # passes that raised (each reported through progress)
        self._wake = threading.Event()
        self._stopping = False
        self._busy = False
        self._refused: str | None = None  # the lock refusal last reported
        self._thread: threading.Thread | None = None

    @classmethod
    def beside(cls, tracker: Tracker, hooks: Hooks, batch: int = 4, progress: Progress = quiet) -> QueueLane:
        """A lane on ``tracker``'s repository, with a tracker of its own; ``hooks`` are the floor's
        (``queue.hooks``)."""
        return cls(opener(tracker), hooks, batch, progress)

    @property
    def busy(self) -> bool:
        """A pass is running now."""
        return self._busy

    @property
    def idle(self) -> bool:
        """No pass is running and none is due: what is queued now waits for a poke."""
        return not self._busy and not self._wake.is_set()

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> QueueLane:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="shopfloor-queue-lane", daemon=True)
            self._thread.start()
        return self

    def poke(self) -> None:
        """There may be work: a pass runs soon (now if the lane is idle, else after the current one)."""
        self._wake.set()

    def stop(self, timeout: float | None = None) -> None:
        """Finish the pass that is running (start no other), then end the thread."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            tracker = self.open_tracker()
        except Exception as exc:  # reported, never lost: the lane cannot run without it
            self.failures += 1
            self.progress(f"queue lane: cannot open the tracker ({exc}): nothing lands until the floor restarts")
            return
        try:
            while True:
                self._wake.wait()
                if self._stopping:
                    return
                self._busy = True  # before the poke is taken: ``idle`` is never true in between
                self._wake.clear()
                try:
                    if self._one(tracker):
                        self._wake.set()  # it moved something and more is queued: the next batch
                finally:
                    self._busy = False
        finally:
            tracker.close()

    def _one(self, tracker: Tracker) -> bool:
        """One pass; True when another should follow at once."""
        try:
            report = run_once(tracker, self.batch, self.progress, hooks=self.hooks)
            more = report.progressed and bool(entries.list_entries(tracker.conn, ("queued",)))
        except ConflictError as exc:  # a person's `queue run` holds the lock: it lands them itself
            if str(exc) != self._refused:  # said once, not at every poke while it runs
                self.progress(str(exc))
            self._refused = str(exc)
            return False
        except Exception as exc:  # a pass that raised is reported, and the lane carries on
            self.failures += 1
            self.progress(f"queue lane: a pass failed ({type(exc).__name__}: {exc}); the next poke tries again")
            return False
        finally:
            self.passes += 1
        self._refused = None
        return more
