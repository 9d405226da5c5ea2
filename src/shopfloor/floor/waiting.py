"""Changes that wait in the merge queue for a person's approval (vibe 1-2, or a gate verdict of
needs-approval), as the floor sees them (issue 12).

Their workers run no agent, so they take no worker slot (``working``; nor does a change waiting
to land, ``in_queue``); once a person runs
``shopfloor approve``, the floor runs a queue pass to land them (``approved``), as it does for
queued entries. ``in_queue`` and ``approved`` read the tracker; ``working`` decides.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from shopfloor.gate.gating import APPROVED_LABEL
from shopfloor.gate.trust import trusted_facts
from shopfloor.queue import entries
from shopfloor.queue.entries import Entry
from shopfloor.workers.records import Worker

WAITS = "needs-approval"  # the queue state of a change that waits for a person


def working(busy: Iterable[Worker], waiting: set[str]) -> list[Worker]:
    """The busy workers that take a slot: every one but those whose change is in ``waiting`` (pure)."""
    return [w for w in busy if w.branch not in waiting]


def keeps_busy(
    *, working: int, in_flight: int, started: int, queued: int, held: bool, pools_busy: bool, start_failures: bool
) -> bool:
    """Whether the floor has anything left to do this turn (``--until-idle`` ends at the first turn
    without). A start in flight counts on its own: one that ends after the turn read ``in_flight``
    but before it asked ``pools_busy`` has a worker left out of ``working`` and an idle pool, and the
    floor once stopped "idle" with that agent at work (pure)."""
    return bool(working or in_flight or started or queued or held or pools_busy or start_failures)


def in_queue(conn: sqlite3.Connection) -> set[str]:
    """The branches whose change is in the merge queue (waiting to land, being landed, or waiting
    for approval). Their agents have ended, so they take no slot: the next issue starts while the
    queue lands them (issue 13). One the queue sends back resumes its session at once, so for a
    while the floor may run more agents than --workers (at most one more per change sent back)."""
    return {e.branch for e in entries.list_entries(conn, entries.LIVE_STATES)}


def is_approved(conn: sqlite3.Connection, issue_id: str) -> bool:
    """The issue carries a person's approval (an agent's label does not count)."""

    return APPROVED_LABEL in trusted_facts(conn, issue_id)[1]


def approved(conn: sqlite3.Connection) -> list[Entry]:
    """Waiting entries a person has approved since: a queue pass queues them again and lands them."""
    return [e for e in entries.list_entries(conn, (WAITS,)) if e.issue and is_approved(conn, e.issue)]
