"""Questions other packages ask of an issue's history (the ``events`` and ``comments`` tables):
who closed it, who blocked it and what they said, how far the log goes, what changed since. The tables are the
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


def closed_since(conn: sqlite3.Connection, seq: int, reason_prefix: str) -> list[tuple[str, str, str]]:
    """(id, title, close reason) of the issues closed after event ``seq`` and still closed, whose
    close reason starts with ``reason_prefix``; in the order they closed."""
    rows = conn.execute(
        "SELECT DISTINCT i.id, i.title, i.close_reason FROM events e JOIN issues i ON i.id = e.issue "
        "WHERE e.seq > ? AND e.kind = 'closed' AND i.status = 'closed' AND i.close_reason LIKE ? || '%' "
        "ORDER BY i.closed_at, i.id",
        (seq, reason_prefix),
    )
    return [(str(i), str(title), str(reason)) for i, title, reason in rows]


def set_to_since(conn: sqlite3.Connection, seq: int, status: str) -> list[tuple[str, str, int]]:
    """(id, title, the event) of the issues set to ``status`` after event ``seq`` and still in it,
    with the latest such event; by id."""
    rows = conn.execute(
        "SELECT i.id, i.title, MAX(e.seq) FROM events e JOIN issues i ON i.id = e.issue "
        "WHERE e.seq > ? AND e.field = 'status' AND e.new = ? AND i.status = ? GROUP BY i.id ORDER BY i.id",
        (seq, status, status),
    )
    return [(str(i), str(title), int(at)) for i, title, at in rows]


def comments_starting(
    conn: sqlite3.Connection, issues: Sequence[str], prefixes: Sequence[str]
) -> list[tuple[str, str]]:
    """(issue, text) of the comments on ``issues`` that start with one of ``prefixes``, oldest first."""
    if not issues or not prefixes:
        return []
    marks = ", ".join("?" for _ in issues)
    like = " OR ".join("text LIKE ? || '%'" for _ in prefixes)
    rows = conn.execute(
        f"SELECT issue, text FROM comments WHERE issue IN ({marks}) AND ({like}) ORDER BY created_at, id",
        (*issues, *prefixes),
    )
    return [(str(issue), str(text)) for issue, text in rows]
