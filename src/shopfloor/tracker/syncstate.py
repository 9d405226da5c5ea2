"""What the database last synced with each JSONL file: content hash, size and mtime.

Every command asks ``needs_import`` first, so it must stay cheap: a matching size and mtime
answer without reading the file; otherwise the content hash decides. (Kept apart from
``sync`` so that this check imports nothing heavy.)
"""

from __future__ import annotations

import os
import sqlite3


def digest(data: bytes) -> str:
    from shopfloor.tracker.ids import blake2b  # lazy: hashing only when the file changed (start-up time)

    return blake2b(data, digest_size=32).hexdigest()


def read_with_stat(path: str, limit: int | None = None) -> tuple[bytes, os.stat_result]:
    """The file's content and the stat of exactly that content (not of a later version);
    with a ``limit``, a file over it is refused without reading more than the limit."""
    from shopfloor.inputs import read_at_most  # lazy: only when the file changed (start-up time)

    for _ in range(5):
        with open(path, "rb") as handle:
            before = os.fstat(handle.fileno())
            if limit is None:
                data = handle.read()
            else:
                data = read_at_most(handle, limit, path, "split it, or import it in parts")
        try:
            after = os.stat(path)
        except FileNotFoundError:
            after = before
        if (after.st_ino, after.st_mtime_ns, after.st_size) == (before.st_ino, before.st_mtime_ns, before.st_size):
            return data, before
    return data, before  # still changing: the stat stored is that of the data read


def line_id(line: str) -> str | None:
    """The id of a canonical JSONL line, without parsing it: the id is always the first key."""
    if not line.startswith('{"id":"'):
        return None
    end = line.find('"', 7)
    return line[7:end] if end > 7 else None


def remember(
    conn: sqlite3.Connection,
    path: str,
    data: bytes,
    info: os.stat_result | None,
    now: str,
    *,
    base: bytes | None = None,
) -> None:
    """Record that the database and ``path`` (whose content is ``data``) are in step.

    ``info`` is the stat taken with ``data``. Statting the path again here could describe a
    newer version, which the next command would then take for this one and never import.
    The content is kept too: it is the common base when the file and the database have both
    changed since, so an import can merge them field by field instead of picking one.
    """
    mtime, size = (info.st_mtime_ns, info.st_size) if info is not None else (-1, -1)
    conn.execute(
        "INSERT OR REPLACE INTO sync_state (path, hash, mtime_ns, size, at) VALUES (?, ?, ?, ?, ?)",
        (path, digest(data), mtime, size, now),
    )
    conn.execute(
        "INSERT OR REPLACE INTO sync_base (path, content) VALUES (?, ?)", (path, data if base is None else base)
    )


def with_old_lines(data: bytes, old_lines: dict[str, str], keep: list[str]) -> bytes:
    """``data`` with the lines of the issues in ``keep`` replaced by their old base lines.

    An issue whose copy in the file is older than its base was not imported (the file went
    back in time, e.g. a rebase checked out upstream); moving its base back to that copy
    would make the database's newer copy look like a local edit of it at the next import,
    and a merged version arriving later would lose the other side's fields.
    """
    if not keep:
        return data
    wanted = set(keep)
    out = []
    for line in data.decode("utf-8").splitlines():
        issue_id = line_id(line)
        out.append(old_lines[issue_id] if issue_id in wanted and issue_id in old_lines else line)
    return ("\n".join(out) + "\n").encode("utf-8")


def base_lines(conn: sqlite3.Connection, path: str) -> dict[str, str]:
    """The lines of ``path`` as last synced, by issue id (canonical lines start with the id)."""
    row = conn.execute("SELECT content FROM sync_base WHERE path = ?", (path,)).fetchone()
    if row is None or not row[0]:
        return {}
    lines = {}
    for line in bytes(row[0]).decode("utf-8", "replace").splitlines():
        issue_id = line_id(line)
        if issue_id is not None:
            lines[issue_id] = line
    return lines


def in_step(conn: sqlite3.Connection, path: str, data: bytes) -> bool:
    """Is ``data`` exactly what the database last synced with ``path``?"""
    row = conn.execute("SELECT hash FROM sync_state WHERE path = ?", (path,)).fetchone()
    return row is not None and row[0] == digest(data)


def other_base_lines(conn: sqlite3.Connection, path: str) -> dict[str, list[str]]:
    """The synced lines of every other JSONL path (other worktrees), by issue id."""
    found: dict[str, list[str]] = {}
    for (content,) in conn.execute("SELECT content FROM sync_base WHERE path != ?", (path,)):
        for line in bytes(content).decode("utf-8", "replace").splitlines():
            issue_id = line_id(line)
            if issue_id is not None:
                found.setdefault(issue_id, []).append(line)
    return found


def needs_import(conn: sqlite3.Connection, path: str) -> bool:
    """Has ``path`` changed since the database last imported or exported it?"""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return False
    row = conn.execute("SELECT hash, mtime_ns, size FROM sync_state WHERE path = ?", (path,)).fetchone()
    if row is not None and row[1] == info.st_mtime_ns and row[2] == info.st_size:
        return False
    if row is None and info.st_size == 0:
        return False
    try:
        data, info = read_with_stat(path)
    except FileNotFoundError:
        return False  # git is rewriting it right now; the next command looks again
    if row is not None and row[0] == digest(data):
        # Same content, new mtime (e.g. a checkout rewrote it): remember the new stat.
        conn.execute(
            "UPDATE sync_state SET mtime_ns = ?, size = ? WHERE path = ? AND hash = ?",
            (info.st_mtime_ns, info.st_size, path, row[0]),
        )
        return False
    return True
