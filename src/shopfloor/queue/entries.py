"""Queue entries in the tracker database (``queue.migrations``). Every state change is a row update."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from shopfloor.errors import NotFoundError
from shopfloor.queue.migrations import migrations
from shopfloor.tracker import db
from shopfloor.tracker.rows import Rows


class State(StrEnum):
    """A queue entry's state; stored as its value."""

    QUEUED = "queued"  # waits for a pass
    TESTING = "testing"  # in the batch a pass is gating
    NEEDS_APPROVAL = "needs-approval"  # waits for a person's `shopfloor approve`
    MERGED = "merged"  # landed
    FAILED = "failed"  # the queue's gate failed it
    CONFLICT = "conflict"  # it does not apply on the target

    @classmethod
    def open(cls) -> tuple[str, ...]:
        """The states of an entry the queue will still act on (``queue add`` refuses a second)."""
        return (cls.QUEUED, cls.TESTING, cls.NEEDS_APPROVAL)


OPEN_STATES = (State.QUEUED, State.TESTING)  # a pass will take these up
LIVE_STATES = State.open()


@dataclass
class Entry:
    id: int
    branch: str
    issue: str | None
    target: str
    state: str
    head: str  # the branch tip when it was queued
    created_at: str
    updated_at: str
    tested: str | None = None  # the rebased commit that was gated
    merged: str | None = None  # its commit on the target
    gate_run: int | None = None
    detail: str | None = None
    gate_reused: bool = False  # gate_run is an earlier run of the same tree, base and rules (queue.reuse)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


ROWS = Rows(Entry, "queue_entries", owner=migrations, read={"gate_reused": bool})


def add(conn: sqlite3.Connection, branch: str, issue: str | None, target: str, head: str, now: str) -> Entry:
    values = {"branch": branch, "issue": issue, "target": target, "state": State.QUEUED.value, "head": head}
    return get(conn, ROWS.insert(conn, {**values, "created_at": now, "updated_at": now}))


def get(conn: sqlite3.Connection, entry_id: int) -> Entry:
    entry = ROWS.first(conn, "id = ?", (entry_id,))
    if entry is None:
        raise NotFoundError(f"no queue entry {entry_id}: see `shopfloor queue list`")
    return entry


def list_entries(conn: sqlite3.Connection, states: tuple[str, ...] | None = None) -> list[Entry]:
    if states:
        return ROWS.select(conn, f"state IN ({', '.join('?' for _ in states)})", states, order="id")
    return ROWS.select(conn, order="id")


def of_branch(conn: sqlite3.Connection, branch: str, since: str = "") -> list[Entry]:
    """The branch's entries created at or after ``since`` (an ISO time; '' for all), oldest first."""
    return ROWS.select(conn, "branch = ? AND created_at >= ?", (branch, since), order="id")


def open_for_branch(conn: sqlite3.Connection, branch: str) -> Entry | None:
    marks = ", ".join("?" for _ in LIVE_STATES)
    return ROWS.first(conn, f"branch = ? AND state IN ({marks}) ORDER BY id", (branch, *LIVE_STATES))


def update(conn: sqlite3.Connection, entry_id: int, now: str, **changes: Any) -> None:
    ROWS.update(conn, "id = ?", (entry_id,), **changes, updated_at=now)


def set_tested(conn: sqlite3.Connection, tested: dict[int, str], now: str) -> None:
    """Point entries at the commits that will land, all in one transaction."""
    with db.transaction(conn):
        for entry_id, sha in tested.items():
            update(conn, entry_id, now, tested=sha)


def mark_merged(conn: sqlite3.Connection, entry_id: int, sha: str, now: str) -> None:
    """The entry landed as ``sha`` (in the caller's transaction: the queue closes its issue too)."""
    update(conn, entry_id, now, state=State.MERGED.value, merged=sha, detail=None)


def latest_of_branch(conn: sqlite3.Connection, branch: str) -> Entry | None:
    """The branch's newest entry, whatever its state."""
    return ROWS.first(conn, "branch = ? ORDER BY id DESC", (branch,))


def landed_heads(conn: sqlite3.Connection, branch: str) -> list[str]:
    """Heads of ``branch`` that already landed (a branch queued again after it landed)."""
    return [e.head for e in ROWS.select(conn, "branch = ? AND state = 'merged'", (branch,), order="id")]


def delete(conn: sqlite3.Connection, entry_id: int) -> None:
    ROWS.delete(conn, "id = ?", (entry_id,))


def live(queue: list[Entry]) -> list[Entry]:
    """Entries still in the queue's hands; merged ones are history."""
    return [e for e in queue if e.state in LIVE_STATES]


def stuck(queue: list[Entry]) -> list[Entry]:
    """Failed or conflicting entries that are their branch's latest: an earlier round that the
    branch was queued again after (a conflict the floor resolved, then merged) is history."""
    latest: dict[str, Entry] = {}
    for e in queue:
        if e.branch not in latest or e.id > latest[e.branch].id:
            latest[e.branch] = e
    return [e for e in latest.values() if e.state in ("failed", "conflict")]
