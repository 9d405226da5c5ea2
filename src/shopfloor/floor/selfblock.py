"""An agent that blocks its own issue (``shopfloor update ID -s blocked`` through the worker
channel, usually after a comment saying why): the floor treats it as its own block (issue 12).

The person is told (a ``blocked`` event with the agent's reason), the attempt ends as
``blocked by its agent``, and the worker goes: its uncommitted work is saved, its branch kept,
its logs archived (``workers.remove``), so ``shopfloor retry`` starts a new series from it.
``blocked_by`` decides from plain facts; ``settle`` acts each turn.
"""

from __future__ import annotations

from collections.abc import Callable

from shopfloor.actors import of_worker
from shopfloor.errors import ShopfloorError
from shopfloor.floor import attempts, notify, reasons
from shopfloor.queue import branches
from shopfloor.tracker import history, store
from shopfloor.tracker.service import Tracker
from shopfloor.workers import lifecycle as workers
from shopfloor.workers.records import Worker

OUTCOME = "blocked by its agent"


def blocked_by(status: str, blocker: str | None, worker_name: str) -> bool:
    """The worker's own agent blocked the issue (pure): it is blocked, and the latest block came
    through that worker's channel (which acts as ``worker/<name>``)."""
    return status == "blocked" and blocker == of_worker(worker_name)


def last_blocker(tracker: Tracker, issue_id: str) -> str | None:
    return history.last_setter(tracker.conn, issue_id, "status", "blocked")


def settle(
    tracker: Tracker,
    listed: list[Worker],
    progress: Callable[[str], None],
    ask: Callable[[Worker], bool] | None = None,
) -> list[str]:
    """Remove the workers whose agent blocked its issue; the issues handled. One that ``ask``
    keeps for its lessons turn (``floor.lessonturn``) is removed once that turn is over."""

    done = []
    for worker in listed:
        issue = store.get(tracker.conn, worker.issue)
        if not blocked_by(str(issue.get("status")), last_blocker(tracker, worker.issue), worker.name):
            continue
        why = reasons.by_agent(tracker.conn, [worker.issue]).get(worker.issue, reasons.NO_REASON)
        attempt = attempts.of_worker(tracker.conn, worker.name, worker.generation)
        if attempt is not None and not attempt.ended_at:
            attempts.end(tracker.conn, attempt.id, tracker.now(), OUTCOME, worker)
        notify.emit(
            "blocked", issue=worker.issue, title=str(issue.get("title", "")), reason=f"its agent blocked it: {why}"
        )
        if ask is not None and ask(worker):
            progress(f"{worker.issue}: blocked by its agent ({why})")
            done.append(worker.issue)
            continue
        try:
            workers.remove(tracker, worker, force=True, drop_landed=branches.after_remove)
        except ShopfloorError as exc:
            progress(f"{worker.issue}: blocked by its agent ({why}); could not remove its worker ({exc})")
            continue
        progress(
            f"{worker.issue}: blocked by its agent ({why}); its worker is removed, its branch {worker.branch} kept"
        )
        done.append(worker.issue)
    return done
