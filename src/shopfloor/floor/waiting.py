"""Changes that wait in the merge queue for a person's approval (vibe 1-2, or a gate verdict of
needs-approval), as the floor sees them (issue 12).

Their workers run no agent, so they take no worker slot (``working``); once a person runs
``shopfloor approve``, the floor runs a queue pass to land them (``approved``), as it does for
queued entries. ``branches`` and ``approved`` read the tracker; ``working`` decides.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from shopfloor.queue import entries
from shopfloor.queue.entries import Entry
from shopfloor.workers.records import Worker

WAITS = "needs-approval"  # the queue state of a change that waits for a person


def working(busy: Iterable[Worker], waiting: set[str]) -> list[Worker]:
    """The busy workers that take a slot: every one but those whose change waits for approval (pure)."""
    return [w for w in busy if w.branch not in waiting]


def branches(conn: sqlite3.Connection) -> set[str]:
    """The branches whose change waits for a person's approval."""
    return {e.branch for e in entries.listing(conn, (WAITS,))}


def is_approved(conn: sqlite3.Connection, issue_id: str) -> bool:
    """The issue carries a person's approval (an agent's label does not count)."""
    from shopfloor.gate.service import APPROVED_LABEL
    from shopfloor.gate.trust import trusted_facts

    return APPROVED_LABEL in trusted_facts(conn, issue_id)[1]


def approved(conn: sqlite3.Connection) -> list[Entry]:
    """Waiting entries a person has approved since: a queue pass queues them again and lands them."""
    return [e for e in entries.listing(conn, (WAITS,)) if e.issue and is_approved(conn, e.issue)]
