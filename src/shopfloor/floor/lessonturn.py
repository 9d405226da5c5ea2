"""The agent's lessons turn at the floor's edge: ask a finished issue's session once, wait for it
(bounded), record its bullets or why there are none (table ``lessons``, ``floor.migrations``).

``floor.lessons`` decides; this module gathers the facts and acts. Its three entry points:
- ``ask``: where the floor would remove the worker of an issue it finished (``floor.cleanup``
  for a landed one, the coordinator's block, ``floor.selfblock``), it asks first: the same
  session resumes with ``floor.prompts.LESSONS_REQUEST`` (the issue is not claimed again) and
  the worker stays until that turn is settled;
- ``settle``: each turn, for every worker with an open lessons turn, wait, take its answer (the
  agent's final text, cut to five bullets) or give up; a settled blocked issue's worker goes
  here (a landed one's in ``floor.cleanup``);
- ``of_issue``: what the retro shows (``floor.retros``).

The turn's tokens and cost are what the worker's totals grew by during it: the retro's own cost.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, replace

from shopfloor.errors import ShopfloorError
from shopfloor.floor import attempts, reasons, selfblock
from shopfloor.floor.lessons import Action, Asked, Facts, Step, bullets, finished, step
from shopfloor.floor.migrations import migrations
from shopfloor.floor.outcomes import Outcome
from shopfloor.floor.prompts import LESSONS_REQUEST
from shopfloor.progress import Progress
from shopfloor.queue import branches
from shopfloor.tracker import db, store
from shopfloor.tracker.clock import epoch
from shopfloor.tracker.rows import Rows
from shopfloor.tracker.service import Tracker
from shopfloor.workers import lifecycle as workers
from shopfloor.workers import logview
from shopfloor.workers.records import Worker


@dataclass(frozen=True)
class Recorded:
    """An issue's lessons turn, as the retro shows it."""

    bullets: tuple[str, ...]
    why: str | None  # why there are none; None while asked, or when there are bullets
    settled: bool
    tokens: int
    cost_usd: float


@dataclass
class Lesson:
    """A row of ``lessons``: the lessons turn of one series of an issue."""

    issue: str
    series: int
    worker: str
    generation: int  # the worker generation that runs the turn
    asked_at: str
    base_tokens: int = 0  # the worker's totals when it was asked
    base_cost_usd: float = 0.0
    settled_at: str | None = None
    bullets: str | None = None  # a JSON list
    why: str | None = None
    tokens: int = 0  # what the turn spent
    cost_usd: float = 0.0


ROWS = Rows(Lesson, "lessons", owner=migrations)


def _row(conn: sqlite3.Connection, issue: str, series: int) -> Lesson | None:
    return ROWS.first(conn, "issue = ? AND series = ?", (issue, series))


def _recorded(row: Lesson) -> Recorded:
    said = tuple(str(b) for b in json.loads(row.bullets)) if row.bullets else ()
    return Recorded(said, row.why, row.settled_at is not None, row.tokens, row.cost_usd)


def of_issue(conn: sqlite3.Connection, issue: str) -> Recorded | None:
    """The lessons turn of the issue's current series, or None if it was never asked."""
    row = _row(conn, issue, attempts.current_series(conn, issue))
    return _recorded(row) if row is not None else None


_CURRENT = "series = (SELECT COALESCE(MAX(series), 1) FROM retries WHERE retries.issue = lessons.issue)"


def of_all(conn: sqlite3.Connection) -> dict[str, Recorded]:
    """Every issue's lessons turn of its current series, in one query (the retros compare them)."""
    return {row.issue: _recorded(row) for row in ROWS.select(conn, _CURRENT)}


def pending(conn: sqlite3.Connection, listed: Iterable[Worker]) -> bool:
    """Does one of ``listed`` run a lessons turn not settled yet?"""
    names = {w.name for w in listed}
    return any(row.worker in names for row in ROWS.select(conn, "settled_at IS NULL"))


def settled_count(conn: sqlite3.Connection) -> int:
    """How many lessons turns are settled: a new one is a change worth a tracker commit."""
    return int(conn.execute("SELECT COUNT(*) FROM lessons WHERE settled_at IS NOT NULL").fetchone()[0])


def facts(tracker: Tracker, worker: Worker, mode: str, now: float, *, resumable: bool = True) -> Facts:
    conn = tracker.conn
    series = attempts.current_series(conn, worker.issue)
    tried = attempts.of_series(conn, worker.issue)
    row = _row(conn, worker.issue, series)
    asked = None
    if row is not None and row.worker == worker.name:
        asked = Asked(row.generation, epoch(row.asked_at), row.settled_at is not None)
    elif row is not None:  # another worker's (removed meanwhile): settled as far as this one goes
        asked = Asked(worker.generation, now, True)
    status = str(store.get(conn, worker.issue).get("status"))
    return Facts(
        mode=mode,
        outcome=finished(status, [a.outcome for a in tried]),
        attempts=len(tried),
        handoffs=sum(1 for a in tried if a.outcome == Outcome.HANDOFF_NOTE),
        state=worker.state,
        generation=worker.generation,
        now=now,
        asked=asked,
        resumable=resumable,
        error=(worker.error or "").split("\n", 1)[0],
    )


def ask(tracker: Tracker, worker: Worker, mode: str, now: float, progress: Progress) -> bool:
    """Ask the worker's session for its lessons if ``mode`` wants them and they were not asked
    for yet; True while the worker must stay for that turn."""
    found = facts(tracker, worker, mode, now)
    action = step(found)
    if action.step == Step.ASK and not workers.can_resume(worker):
        action = step(replace(found, resumable=False))
    if action.step == Step.NONE:
        return False
    series = attempts.current_series(tracker.conn, worker.issue)
    if action.step == Step.GIVE_UP:
        _insert(tracker, worker, series, worker.generation)
        _settle(tracker.conn, worker.issue, series, tracker.now(), (), f"no lessons: {action.why}", 0, 0.0)
        progress(f"{worker.issue}: no lessons: {action.why}")
        return False
    text = LESSONS_REQUEST.format(issue=worker.issue, outcome=found.outcome, attempts=found.attempts)
    try:
        row = workers.restart(tracker, worker, prompt=text, fresh=False, claim=False, how="lessons")
    except ShopfloorError as exc:
        _insert(tracker, worker, series, worker.generation)
        why = f"no lessons: its session could not be resumed ({str(exc).splitlines()[0]})"
        _settle(tracker.conn, worker.issue, series, tracker.now(), (), why, 0, 0.0)
        progress(f"{worker.issue}: {why}")
        return False
    _insert(tracker, worker, series, row.generation)
    progress(f"{worker.issue}: {action.why}; asking its session what the next agent should know")
    return True


def _insert(tracker: Tracker, worker: Worker, series: int, generation: int) -> None:
    with db.transaction(tracker.conn):
        ROWS.delete(tracker.conn, "issue = ? AND series = ?", (worker.issue, series))
        ROWS.insert(
            tracker.conn,
            {
                "issue": worker.issue, "series": series, "worker": worker.name, "generation": generation,
                "asked_at": tracker.now(), "base_tokens": worker.tokens, "base_cost_usd": worker.cost_usd,
            },
        )  # fmt: skip


def _settle(
    conn: sqlite3.Connection, issue: str, series: int, at: str, said: Iterable[str], why: str | None,
    tokens: int, cost: float,
) -> None:  # fmt: skip
    said_json = json.dumps(list(said), ensure_ascii=False)
    where = "issue = ? AND series = ? AND settled_at IS NULL"
    ROWS.update(conn, where, (issue, series), settled_at=at, bullets=said_json, why=why, tokens=tokens, cost_usd=cost)


def settle(tracker: Tracker, listed: list[Worker], now: float, progress: Progress) -> tuple[set[str], set[str]]:
    """Carry every open lessons turn on: (the workers that stay for theirs, every worker that has
    one). A settled blocked issue's worker is removed here."""
    held: set[str] = set()
    asked: set[str] = set()
    for worker in listed:
        series = attempts.current_series(tracker.conn, worker.issue)
        row = _row(tracker.conn, worker.issue, series)
        if row is None or row.worker != worker.name:
            continue
        asked.add(worker.name)
        found = facts(tracker, worker, "never", now)  # the mode matters only before asking
        action = step(found)
        if action.step == Step.WAIT:
            held.add(worker.name)
            continue
        if action.step in (Step.TAKE, Step.GIVE_UP):
            _finish(tracker, worker, series, row, action, progress)
        if store.get(tracker.conn, worker.issue).get("status") == "blocked":
            _remove_blocked(tracker, worker, progress)
    return held, asked


def _remove_blocked(tracker: Tracker, worker: Worker, progress: Progress) -> None:
    """A blocked issue's worker goes once its lessons turn is over, as it would have without one."""
    said = "blocked"
    if selfblock.blocked_by("blocked", selfblock.last_blocker(tracker, worker.issue), worker.name):
        why = reasons.by_agent(tracker.conn, [worker.issue]).get(worker.issue, reasons.NO_REASON)
        said = f"blocked by its agent ({why})"
    try:
        workers.remove(tracker, worker, force=True, drop_landed=branches.after_remove)
    except ShopfloorError as exc:
        progress(f"{worker.issue}: {said}; could not remove its worker ({exc})")
        return
    progress(f"{worker.issue}: {said}; its worker is removed, its branch {worker.branch} kept")


def _finish(tracker: Tracker, worker: Worker, series: int, row: Lesson, action: Action, progress: Progress) -> None:
    tokens = max(0, worker.tokens - row.base_tokens)
    cost = max(0.0, worker.cost_usd - row.base_cost_usd)
    said: tuple[str, ...] = ()
    why: str | None = None
    if action.step == Step.TAKE:
        said = bullets(logview.last_text(worker))
        why = None if said else "no lessons: its answer had no bullets"
    else:
        why = f"no lessons: {action.why}"
    _settle(tracker.conn, worker.issue, series, tracker.now(), said, why, tokens, cost)
    told = f"{len(said)} lesson(s)" if said else why
    progress(f"{worker.issue}: {told} ({tokens} tokens, ${cost:.4f})")
