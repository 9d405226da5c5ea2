"""Gather the facts ``floor.decide`` reads about one worker, from the tracker's rows.

Each read is by key (the worker's generation, the issue's series, the branch's entries), so a
turn costs the same with ten finished issues as with ten thousand.
"""

from __future__ import annotations

from pathlib import Path

from shopfloor import actors
from shopfloor.floor import attempts, outcomes, review
from shopfloor.floor.decide import Current, Facts, Past, QueueFacts
from shopfloor.floor.retry import series_start
from shopfloor.queue import entries
from shopfloor.tracker import history
from shopfloor.tracker.clock import epoch
from shopfloor.tracker.service import Tracker
from shopfloor.workers.records import Worker
from shopfloor.workers.spec import SPEC_NAME


def of_worker(tracker: Tracker, worker: Worker, now: float, gating: bool, slot_free: bool = True) -> Facts:
    conn = tracker.conn
    attempt = attempts.of_worker(conn, worker.name, worker.generation)
    current = None
    if attempt is not None:
        current = Current(
            attempt.id, outcomes.parse(attempt.outcome), bool(attempt.ended_at), attempt.gate_run, attempt.verdict
        )
    series = tuple(
        Past(a.id, outcomes.parse(a.outcome), epoch(a.ended_at) if a.ended_at else None, a.facts())
        for a in attempts.of_series(conn, worker.issue)
    )
    return Facts(
        issue=worker.issue,
        state=worker.state,
        now=now,
        last_event_at=epoch(worker.last_event_at or worker.started_at),
        context_used=worker.context_used,
        current=current,
        series=series,
        queue=_queue(tracker, worker),
        said_done=attempt is not None and worker.state == "running" and _said_done(tracker, worker, attempt.started_at),
        gating=gating,
        launched=worker.state not in ("failed", "lost", "killed") or (Path(worker.log_dir) / SPEC_NAME).exists(),
        error=next(iter((worker.error or "").splitlines()), "")[:200],
        slot_free=slot_free,
        review=_review(tracker, worker),
    )


def _review(tracker: Tracker, worker: Worker) -> int | None:
    waiting = review.pending(tracker.conn, worker.issue)
    return waiting.id if waiting is not None else None


def _queue(tracker: Tracker, worker: Worker) -> QueueFacts | None:
    """The branch's entries of this series (an entry of an earlier series, before a retry, is not this pass's)."""
    mine = entries.of_branch(tracker.conn, worker.branch, series_start(tracker.conn, worker.issue))
    if not mine:
        return None
    rejected = tuple(e.head for e in mine if e.state in ("conflict", "failed"))
    return QueueFacts(mine[-1].state, mine[-1].head, rejected, mine[-1].detail or "")


def _said_done(tracker: Tracker, worker: Worker, since: str) -> bool:
    return history.happened(tracker.conn, worker.issue, "agent_done", actors.of_worker(worker.name), since)
