"""Queue entries in the tracker database (``queue.migrations``). Every state change is a row update."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any

from shopfloor.errors import NotFoundError
from shopfloor.tracker import db


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


COLUMNS = tuple(f.name for f in fields(Entry))
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM queue_entries"


def _row(row: Any) -> Entry:
    entry = Entry(**dict(zip(COLUMNS, row, strict=True)))
    entry.gate_reused = bool(entry.gate_reused)
    return entry


def add(conn: sqlite3.Connection, branch: str, issue: str | None, target: str, head: str, now: str) -> Entry:
    with db.transaction(conn):
        cursor = conn.execute(
            "INSERT INTO queue_entries (branch, issue, target, state, head, created_at, updated_at) "
            "VALUES (?, ?, ?, 'queued', ?, ?, ?)",
            (branch, issue, target, head, now, now),
        )
    return get(conn, int(cursor.lastrowid or 0))


def get(conn: sqlite3.Connection, entry_id: int) -> Entry:
    row = conn.execute(f"{_SELECT} WHERE id = ?", (entry_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no queue entry {entry_id}: see `shopfloor queue list`")
    return _row(row)


def list_entries(conn: sqlite3.Connection, states: tuple[str, ...] | None = None) -> list[Entry]:
    if states:
        marks = ", ".join("?" for _ in states)
        return [_row(r) for r in conn.execute(f"{_SELECT} WHERE state IN ({marks}) ORDER BY id", states)]
    return [_row(r) for r in conn.execute(f"{_SELECT} ORDER BY id")]


def of_branch(conn: sqlite3.Connection, branch: str, since: str = "") -> list[Entry]:
    """The branch's entries created at or after ``since`` (an ISO time; '' for all), oldest first."""
    rows = conn.execute(f"{_SELECT} WHERE branch = ? AND created_at >= ? ORDER BY id", (branch, since))
    return [_row(r) for r in rows]


def open_for_branch(conn: sqlite3.Connection, branch: str) -> Entry | None:
    marks = ", ".join("?" for _ in LIVE_STATES)
    row = conn.execute(
        f"{_SELECT} WHERE branch = ? AND state IN ({marks}) ORDER BY id", (branch, *LIVE_STATES)
    ).fetchone()
    return _row(row) if row else None


def update(conn: sqlite3.Connection, entry_id: int, now: str, **changes: Any) -> None:
    unknown = set(changes) - set(COLUMNS)
    if unknown:
        raise ValueError(f"unknown queue columns: {sorted(unknown)}")
    sets = ", ".join(f"{key} = ?" for key in changes)
    with db.transaction(conn):
        conn.execute(
            f"UPDATE queue_entries SET {sets}, updated_at = ? WHERE id = ?", [*changes.values(), now, entry_id]
        )


def set_tested(conn: sqlite3.Connection, tested: dict[int, str], now: str) -> None:
    """Point entries at the commits that will land, all in one transaction."""
    with db.transaction(conn):
        for entry_id, sha in tested.items():
            conn.execute("UPDATE queue_entries SET tested = ?, updated_at = ? WHERE id = ?", (sha, now, entry_id))


def landed_heads(conn: sqlite3.Connection, branch: str) -> list[str]:
    """Heads of ``branch`` that already landed (a branch queued again after it landed)."""
    rows = conn.execute("SELECT head FROM queue_entries WHERE branch = ? AND state = 'merged' ORDER BY id", (branch,))
    return [str(r[0]) for r in rows]


def delete(conn: sqlite3.Connection, entry_id: int) -> None:
    with db.transaction(conn):
        conn.execute("DELETE FROM queue_entries WHERE id = ?", (entry_id,))


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
