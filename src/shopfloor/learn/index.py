"""The memory's FTS5 index (tables in ``learn.migrations``): kept in step with its sources
before each search, then searched with bm25 ranking.

Each document comes from an origin (a file, an attempt). ``refresh`` compares the origins'
stamps with what the index recorded and re-reads only the changed ones: a file by its
modification time and size, an attempt once (when it is final)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from shopfloor.errors import NotFoundError
from shopfloor.learn import docs
from shopfloor.learn.docs import Document
from shopfloor.learn.migrations import migrations as _owner  # noqa: F401  (registers the tables)
from shopfloor.tracker import db

SNIPPET_WORDS = 24


@dataclass
class Refreshed:
    added: int = 0
    removed: int = 0


def origins(conn: sqlite3.Connection, prefix: str) -> dict[str, str]:
    """The recorded origins starting with ``prefix``: origin -> stamp."""
    rows = conn.execute(
        "SELECT origin, stamp FROM learn_origins WHERE origin >= ? AND origin < ?", (prefix, prefix + "\uffff")
    )
    return {str(o): str(s) for o, s in rows}


def changes(recorded: dict[str, str], current: dict[str, str]) -> tuple[list[str], list[str]]:
    """(origins to re-read, origins that are gone)."""
    changed = [o for o, stamp in current.items() if recorded.get(o) != stamp]
    gone = [o for o in recorded if o not in current]
    return changed, gone


def apply(
    conn: sqlite3.Connection,
    updates: Iterable[tuple[str, str, list[Document]]],
    gone: Iterable[str] = (),
) -> Refreshed:
    """Replace each origin's documents (``(origin, stamp, documents)``) and drop the origins that
    are gone, in one transaction."""
    done = Refreshed()
    with db.transaction(conn):
        for origin in gone:
            done.removed += _drop(conn, origin)
            conn.execute("DELETE FROM learn_origins WHERE origin = ?", (origin,))
        for origin, stamp, documents in updates:
            done.removed += _drop(conn, origin)
            for doc in documents:
                done.removed += _drop_source(conn, doc.source)  # the same id from elsewhere: the newest wins
                cursor = conn.execute(
                    "INSERT INTO learn_docs (source, kind, title, place, origin, body) VALUES (?, ?, ?, ?, ?, ?)",
                    (doc.source, doc.kind, doc.title, doc.place, origin, doc.body),
                )
                conn.execute(
                    "INSERT INTO learn_fts (rowid, title, body) VALUES (?, ?, ?)",
                    (cursor.lastrowid, doc.title, doc.body),
                )
                done.added += 1
            conn.execute("INSERT OR REPLACE INTO learn_origins (origin, stamp) VALUES (?, ?)", (origin, stamp))
    return done


def _drop(conn: sqlite3.Connection, origin: str) -> int:
    rows = conn.execute("SELECT id, title, body FROM learn_docs WHERE origin = ?", (origin,)).fetchall()
    return _delete(conn, rows)


def _drop_source(conn: sqlite3.Connection, source: str) -> int:
    rows = conn.execute("SELECT id, title, body FROM learn_docs WHERE source = ?", (source,)).fetchall()
    return _delete(conn, rows)


def _delete(conn: sqlite3.Connection, rows: list[Any]) -> int:
    for rowid, title, body in rows:
        conn.execute(
            "INSERT INTO learn_fts (learn_fts, rowid, title, body) VALUES ('delete', ?, ?, ?)", (rowid, title, body)
        )
        conn.execute("DELETE FROM learn_docs WHERE id = ?", (rowid,))
    return len(rows)


def search(conn: sqlite3.Connection, words: list[str], limit: int) -> list[dict[str, Any]]:
    """The best matches for any of ``words``, best first (bm25; the title weighs more)."""
    query = docs.match_query(words)
    rows = conn.execute(
        "SELECT d.source, d.kind, d.title, d.place, "
        f"snippet(learn_fts, 1, '[', ']', '…', {SNIPPET_WORDS}), bm25(learn_fts, 4.0, 1.0) AS rank "
        "FROM learn_fts JOIN learn_docs d ON d.id = learn_fts.rowid "
        "WHERE learn_fts MATCH ? ORDER BY rank, d.source LIMIT ?",
        (query, limit),
    )
    keys = ("id", "kind", "title", "place", "snippet", "score")
    hits = [dict(zip(keys, row, strict=True)) for row in rows]
    for hit in hits:
        hit["snippet"] = " ".join(str(hit["snippet"]).split())
        hit["score"] = round(-float(hit["score"]), 3)
    return hits


def show(conn: sqlite3.Connection, source: str) -> dict[str, Any]:
    docs.kind_of(source)
    row = conn.execute("SELECT source, kind, title, place, body FROM learn_docs WHERE source = ?", (source,)).fetchone()
    if row is None:
        raise NotFoundError(f"no learning {source}: find ids with `shopfloor learn search WORDS`")
    return dict(zip(("id", "kind", "title", "place", "text"), row, strict=True))


def stats(conn: sqlite3.Connection) -> dict[str, Any]:
    counts = {kind: 0 for kind in docs.KINDS}
    for kind, n in conn.execute("SELECT kind, COUNT(*) FROM learn_docs GROUP BY kind"):
        counts[str(kind)] = int(n)
    chars = conn.execute("SELECT COALESCE(SUM(LENGTH(body)), 0) FROM learn_docs").fetchone()[0]
    return {"documents": sum(counts.values()), "by_kind": counts, "characters": int(chars)}


Reader = Callable[[str], list[Document]]


def refresh_files(conn: sqlite3.Connection, current: dict[str, str], read: Reader, prefix: str) -> Refreshed:
    """Bring the documents of the origins under ``prefix`` in step with ``current`` (their stamps)."""
    changed, gone = changes(origins(conn, prefix), current)
    if not changed and not gone:
        return Refreshed()
    updates = [(o, current[o], read(o)) for o in changed]  # read before the write lock is taken
    return apply(conn, updates, gone)


def texts(conn: sqlite3.Connection, sources: Iterable[str]) -> dict[str, str]:
    """The full text of each of ``sources`` the index holds."""
    wanted = list(sources)
    found: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        for source, body in conn.execute(f"SELECT source, body FROM learn_docs WHERE source IN ({marks})", chunk):
            found[str(source)] = str(body)
    return found
