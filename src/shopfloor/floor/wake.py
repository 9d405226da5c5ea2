"""Wake the coordinator when something changed, not at the next tick of a timer.

Everything the floor reacts to is a row some other process commits: a shim recording that its
agent ended, an agent's `shopfloor done` through the channel, a person's `approve` or `retry`,
the queue. SQLite's ``PRAGMA data_version`` changes on a connection whenever *another*
connection has committed to the database, and reading it touches only the shared WAL index,
so checking it every few milliseconds costs next to nothing. ``until_changed`` returns as soon
as it moves, or after ``timeout_s`` (the slow timer, which leases and stalls still need).
"""

from __future__ import annotations

import sqlite3
import threading
import time

STEP_S = 0.02  # how often data_version is read while waiting
MIN_TURN_S = 0.05  # a floor under a stream of agent events still turns at most 20 times a second


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


def until_changed(
    conn: sqlite3.Connection,
    since: int,
    timeout_s: float,
    step_s: float = STEP_S,
    event: threading.Event | None = None,
) -> bool:
    """Wait until another connection commits (``data_version`` differs from ``since``), or
    ``event`` is set (a gate job ended in this process; it is cleared), at most ``timeout_s``;
    True when something changed."""
    deadline = time.monotonic() + timeout_s
    while True:
        if event is not None and event.is_set():
            event.clear()
            return True
        if version(conn) != since:
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if event is not None:
            event.wait(min(step_s, left))
        else:
            time.sleep(min(step_s, left))
