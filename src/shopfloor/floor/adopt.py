"""What a coordinator finds when it starts (or wakes): the floor as the last one left it.

A coordinator can die anywhere, and stay down longer than a lease. Two states follow that no
rule of the running loop covers, so each turn settles them (``settle``) right after expired
leases go back to ready:

- a worker whose issue is no longer claimed (its lease ran out while nobody renewed it, and
  some command returned it to open): its work is not abandoned, the floor claims the issue
  again, and the loop carries on with the worker as it is (an agent that finished is gated);
- an issue the floor claimed but started no worker for (killed between the two): it goes back
  to open, so it is started again instead of waiting out its lease.

``plan`` decides, from plain rows; ``settle`` acts. ``adopted`` describes the workers a fresh
coordinator takes over, for its first lines of output: what happens to each next (``next_step``,
from its ``Situation``: its attempt, its queue entry, its issue).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from shopfloor.errors import ConflictError
from shopfloor.floor import attempts, review
from shopfloor.floor.retry import series_start
from shopfloor.floor.selfblock import blocked_by, last_blocker
from shopfloor.floor.stopping import STOPPED
from shopfloor.floor.waiting import is_approved
from shopfloor.queue import entries
from shopfloor.queue.entries import OPEN_STATES
from shopfloor.tracker import store, writes
from shopfloor.tracker.service import Tracker
from shopfloor.workers import records
from shopfloor.workers.records import Worker


@dataclass(frozen=True)
class IssueRow:
    id: str
    status: str
    assignee: str | None
    lease_until: str | None


@dataclass(frozen=True)
class Plan:
    reclaim: tuple[str, ...]  # issues with a worker that nobody holds: the floor claims them again
    release: tuple[str, ...]  # issues the floor holds with no worker: back to open


def plan(worker_issues: Iterable[str], issues: Iterable[IssueRow], floor_actor: str) -> Plan:
    """Pure: which issues to claim again and which to put back. An open issue nobody holds that
    has a worker is the floor's again (its lease ran out: expired leases are returned to open
    first); an issue someone holds is left alone."""
    with_worker = set(worker_issues)
    reclaim, release = [], []
    for row in issues:
        if row.id in with_worker:
            if row.status == "open" and row.assignee is None:
                reclaim.append(row.id)
        elif row.status == "in_progress" and row.assignee == floor_actor:
            release.append(row.id)
    return Plan(tuple(sorted(reclaim)), tuple(sorted(release)))


def _rows(conn: sqlite3.Connection, with_worker: list[str]) -> list[IssueRow]:
    """The open and in-progress issues ``plan`` judges: those with a worker, and every claimed one."""
    return [IssueRow(*row) for row in store.claimed_or_open_among(conn, with_worker)]


def settle(tracker: Tracker, lease_s: float, progress: Callable[[str], None], starting: Iterable[str] = ()) -> Plan:
    """Return expired leases to ready, then act on ``plan`` for this floor's tracker. ``starting``:
    issues whose worker is being started now (it has no row yet, and its claim is not lost)."""

    tracker.reclaim_expired()
    worker_issues = records.issues(tracker.conn) + list(starting)
    todo = plan(worker_issues, _rows(tracker.conn, records.issues(tracker.conn)), tracker.actor)
    for issue_id in todo.reclaim:
        try:
            with tracker.write() as conn:
                writes.claim(conn, issue_id, tracker.actor, tracker.now(), tracker.lease_until(lease_s))
        except ConflictError as exc:  # a blocker was added meanwhile, say: the loop leaves it
            progress(f"{issue_id}: its worker's issue cannot be claimed again ({exc})")
            continue
        progress(f"{issue_id}: its lease ran out while no coordinator ran; claimed again, its worker carries on")
    for issue_id in todo.release:
        with tracker.write() as conn:
            writes.update(conn, issue_id, {"status": "open"}, tracker.actor, tracker.now())
        progress(f"{issue_id}: claimed by the floor but no worker started (it was stopped); back to open")
    return todo


@dataclass(frozen=True)
class Situation:
    """What decides a worker's next step besides its own state (read by ``situations``)."""

    outcome: str | None = None  # its current attempt's outcome
    ended: bool = False  # its current attempt is over
    queue: str | None = None  # the state of its branch's latest queue entry
    approved: bool = False  # a person approved its change
    status: str = "in_progress"  # its issue's status (open: its lease ran out; ``settle`` claims it again)
    blocker: str | None = None  # who last set its issue to blocked
    review: bool = False  # a person's review waits to be sent to its session (``floor.review``)


def next_step(worker: Worker, seen: Situation) -> str:
    """What happens to an adopted worker next (pure); ``run``'s turn does exactly that."""

    if blocked_by(seen.status, seen.blocker, worker.name):
        return "its agent blocked its issue; its worker is removed next (its branch kept)"
    if seen.status == "blocked":
        return f"its issue is blocked; left as it is until `shopfloor retry {worker.issue}`"
    if seen.status == "closed":
        return "its issue is closed; its worker is removed next"
    if seen.review and worker.state in ("done", "failed", "lost", "killed") and seen.queue not in OPEN_STATES:
        return "a person's review waits; its session resumes with it next"
    if seen.ended and seen.queue == "needs-approval":
        if seen.approved:
            return "its change was approved; lands next"
        return f"its change waits for `shopfloor approve {worker.issue}`; it runs no agent meanwhile"
    if seen.ended and seen.queue in OPEN_STATES:
        return "its change is in the merge queue; lands next"
    if seen.outcome == STOPPED:
        return "stopped by `shopfloor stop`; its session resumes next"
    nexts = {
        "running": "its agent runs; watched from here",
        "starting": "its agent is starting",
        "done": "its agent finished; " + ("handled next" if seen.ended else "gated next"),
    }
    return nexts.get(worker.state, f"its agent {worker.state}; handled next")


def situations(tracker: Tracker, listed: list[Worker]) -> dict[str, Situation]:
    """Each worker's ``Situation``, by worker name, from the tracker's rows."""

    queued = entries.list_entries(tracker.conn, None)
    out = {}
    for worker in listed:
        row = store.peek(tracker.conn, worker.issue, "status")
        attempt = attempts.of_worker(tracker.conn, worker.name, worker.generation)
        since = series_start(tracker.conn, worker.issue)
        mine = [e for e in queued if e.branch == worker.branch and e.created_at >= since]
        out[worker.name] = Situation(
            outcome=attempt.outcome if attempt else None,
            ended=bool(attempt and attempt.ended_at),
            queue=mine[-1].state if mine else None,
            approved=bool(mine) and is_approved(tracker.conn, worker.issue),
            status=str(row[0]) if row else "gone",
            blocker=last_blocker(tracker, worker.issue),
            review=review.pending(tracker.conn, worker.issue) is not None,
        )
    return out


def adopted(listed: list[Worker], seen: dict[str, Situation] | None = None) -> list[str]:
    """One line per worker a starting coordinator takes over, saying what happens to it next."""
    lines = []
    for worker in listed:
        what = next_step(worker, (seen or {}).get(worker.name, Situation()))
        lines.append(
            f"{worker.issue}: adopted worker {worker.name} ({worker.agent}, generation {worker.generation}): {what}"
        )
    if lines:
        lines.insert(0, f"adopting {len(lines)} worker(s) left by an earlier run")
    return lines
