"""Workers that fail to start: the issue goes back to ``open``, never ``blocked``.

A start fails for reasons of the machine, not of the issue (the agent's CLI missing, a
``[workspace] setup`` that fails, a full disk): blocking the issue would lose a backlog to one
typo. The floor puts the issue back with a comment saying why, and tries again on a later turn;
after ``MAX_IN_A_ROW`` failed starts with no successful one between them it stops, naming the
last reason, because nothing it does will start a worker until a person fixes the cause.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from shopfloor.errors import EXIT_ERROR, ShopfloorError
from shopfloor.queue import branches
from shopfloor.tracker import store, writes
from shopfloor.tracker.service import Tracker
from shopfloor.workers import lifecycle as workers
from shopfloor.workers.records import Worker
from shopfloor.workers.spec import SPEC_NAME

MAX_IN_A_ROW = 3

# Failed starts in a row, per tracker database, in this process (the floor's run); starts run in
# several threads (``floor.startpool``), so it changes under a lock.
_streak: dict[str, int] = {}
_streak_lock = threading.Lock()


class FloorStopped(ShopfloorError):
    """The floor cannot start workers: a person must fix the cause first."""

    exit_code = EXIT_ERROR


def comment_for(error: str) -> str:
    return (
        f"The floor could not start a worker for this issue, so it is open again (not blocked): {error}. "
        "The floor tries it again; if the cause is the machine's, fix it and run `shopfloor run` again."
    )


def stop_reason(count: int, issue_id: str, error: str) -> str:
    return (
        f"the floor stopped: {count} workers in a row failed to start; the last one ({issue_id}): {error}. "
        "Fix that, then run `shopfloor run` again (the issues are open, not blocked)"
    )


def put_back(tracker: Tracker, issue_id: str, error: ShopfloorError, progress: Callable[[str], None]) -> None:
    """Return ``issue_id`` (claimed by the floor) to open with a comment; raise ``FloorStopped`` at
    the ``MAX_IN_A_ROW``-th failed start in a row."""

    text = str(error).rstrip(".")
    with tracker.write() as conn:
        writes.add_comment(conn, issue_id, comment_for(text), tracker.actor, tracker.now())
        writes.release(conn, issue_id, tracker.actor, tracker.actor, tracker.now())
    key = tracker.location.db_file
    with _streak_lock:
        _streak[key] = count = _streak.get(key, 0) + 1
    progress(f"{issue_id}: could not start a worker ({text}); back to open")
    if count >= MAX_IN_A_ROW:
        raise FloorStopped(stop_reason(count, issue_id, text))


def started(tracker: Tracker) -> None:
    """A worker started: the streak of failures is over."""
    with _streak_lock:
        _streak.pop(tracker.location.db_file, None)


def pending_streak(tracker: Tracker) -> bool:
    """A start failed and none succeeded since."""
    return _streak.get(tracker.location.db_file, 0) > 0


def pending(tracker: Tracker) -> bool:
    """A start failed, none succeeded since, and an issue is ready: the floor has work it has not
    started yet (``--until-idle`` goes on, and the next turn tries again)."""

    if _streak.get(tracker.location.db_file, 0) == 0:
        return False
    return bool(store.ready_ids(tracker.conn, tracker.now(), limit=1))


def never_launched(tracker: Tracker, worker: Worker, progress: Callable[[str], None]) -> bool:
    """A worker whose start died before it wrote its launch spec (the coordinator was killed
    during its setup): there is no agent to restart. Remove it, the claim with it, so the next
    turn starts the issue again; True when that is what happened."""

    if (Path(worker.log_dir) / SPEC_NAME).exists():
        return False
    try:
        workers.remove(tracker, worker, force=True, drop_landed=branches.after_remove)
    except ShopfloorError as exc:
        # A start killed inside `git clone` leaves a half-made clone that removal refuses: no agent
        # ever ran there, so it is set aside (kept, never deleted) and the removal tried once more,
        # or every later turn would fail the same way and the floor would never go idle.
        aside = _set_aside(Path(worker.worktree))
        try:
            if aside is None:
                raise
            workers.remove(tracker, worker, force=True, drop_landed=branches.after_remove)
        except ShopfloorError:
            progress(f"{worker.issue}: its worker never started and could not be removed ({exc})")
            return True
        progress(f"{worker.issue}: its unfinished workspace ({exc}) is kept at {aside}")
    progress(f"{worker.issue}: its worker never started (interrupted during its start); starting it again")
    return True


def _set_aside(workspace: Path) -> Path | None:
    """Rename a never-launched worker's workspace out of the way; where it went, or None."""

    if not workspace.exists():
        return None
    aside = workspace.with_name(f"{workspace.name}.unfinished-{int(time.time())}")
    try:
        workspace.rename(aside)
    except OSError:
        return None
    return aside
