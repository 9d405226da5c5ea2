"""Questions other packages ask of an issue's history (the ``events`` and ``comments`` tables):
who closed it, who blocked it and what they said, how far the log goes. The tables are the
tracker's, so the SQL on them stays here; every question is answered by the ``events(issue, seq)``
index or the primary keys, never by a scan of the log.
"""

from __future__ import annotations

import sqlite3

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


def last_seq(conn: sqlite3.Connection, *, excluding: Sequence[str] = ()) -> int:
    """The newest event's number (0 for none); ``excluding`` skips events of those kinds."""
    if not excluding:
        return int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])
    marks = ", ".join("?" for _ in excluding)
    row = conn.execute(f"SELECT seq FROM events WHERE kind NOT IN ({marks}) ORDER BY seq DESC LIMIT 1", excluding)
    found = row.fetchone()
    return int(found[0]) if found else 0


def last_actor(conn: sqlite3.Connection, issue: str, kind: str) -> str | None:
    """Who made the issue's latest event of ``kind`` (``closed``, say)."""
    row = conn.execute(
        "SELECT actor FROM events WHERE issue = ? AND kind = ? ORDER BY seq DESC LIMIT 1", (issue, kind)
    ).fetchone()
    return str(row[0]) if row else None


def last_setter(conn: sqlite3.Connection, issue: str, field: str, value: str) -> str | None:
    """Who last set the issue's ``field`` to ``value`` (who blocked it: ``status``, ``blocked``)."""
    row = conn.execute(
        "SELECT actor FROM events WHERE issue = ? AND field = ? AND new = ? ORDER BY seq DESC LIMIT 1",
        (issue, field, value),
    ).fetchone()
    return str(row[0]) if row else None


def happened(conn: sqlite3.Connection, issue: str, kind: str, actor: str, since: str) -> bool:
    """Whether ``actor`` made an event of ``kind`` on the issue at or after ``since`` (ISO time)."""
    row = conn.execute(
        "SELECT 1 FROM events WHERE issue = ? AND kind = ? AND actor = ? AND at >= ? LIMIT 1",
        (issue, kind, actor, since),
    ).fetchone()
    return row is not None


def last_comment(
    conn: sqlite3.Connection, issue: str, *, actor: str | None = None, before: int | None = None
) -> str | None:
    """The text of the issue's latest comment (by ``actor``; made before event ``before``)."""
    where, params = "e.issue = ? AND e.kind = 'commented'", [issue]
    if actor is not None:
        where += " AND e.actor = ?"
        params.append(actor)
    where_seq: tuple[int, ...] = ()
    if before is not None:
        where += " AND e.seq < ?"
        where_seq = (before,)
    row = conn.execute(
        "SELECT c.text FROM events e JOIN comments c ON c.issue = e.issue AND c.id = e.new "
        f"WHERE {where} ORDER BY e.seq DESC LIMIT 1",
        (*params, *where_seq),
    ).fetchone()
    return str(row[0]) if row else None
