"""Reading issues out of SQLite: whole issues, lists, ready work, search.

Writes live in ``tracker.writes``; both share the row <-> issue mapping defined here, which
itself comes from ``schema.FIELDS``.
"""

from __future__ import annotations

import json
import sqlite3

from shopfloor.errors import NotFoundError, ValidationError
from shopfloor.tracker.schema import COLUMN_FIELDS, FIELD_NAMES, as_issue, sort_comments

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import Any

    from shopfloor.tracker.schema import Issue

COLUMNS = tuple(f.name for f in COLUMN_FIELDS)
SELECT_COLUMNS = ", ".join(f"i.{c}" for c in COLUMNS)
_METADATA_AT = COLUMNS.index("metadata")

# Blocked = status blocked, an open `blocks` dependency, or a blocked ancestor (parent-child).
# The same rule as readiness.blocked_ids; tests/unit/test_readiness.py checks they agree.
_DIRECT_BLOCK = """
    p.status = 'blocked' OR p.status != 'closed' AND EXISTS (
      SELECT 1 FROM deps d2 JOIN issues b2 ON b2.id = d2.depends_on
      WHERE d2.issue = p.id AND d2.type = 'blocks' AND b2.status != 'closed')
"""
READY_SQL = f"""
SELECT {SELECT_COLUMNS} FROM issues i
WHERE i.status = 'open'
  AND (i.defer_until IS NULL OR i.defer_until <= :now)
  AND NOT EXISTS (
    SELECT 1 FROM deps d JOIN issues b ON b.id = d.depends_on
    WHERE d.issue = i.id AND d.type = 'blocks' AND b.status != 'closed')
  AND NOT EXISTS (
    WITH RECURSIVE ancestors(id) AS (
      SELECT depends_on FROM deps WHERE issue = i.id AND type = 'parent-child'
      UNION
      SELECT d.depends_on FROM deps d JOIN ancestors a ON d.issue = a.id WHERE d.type = 'parent-child')
    SELECT 1 FROM ancestors a JOIN issues p ON p.id = a.id WHERE {_DIRECT_BLOCK})
ORDER BY i.priority, i.created_at, i.id
"""


def row_to_issue(row: Sequence[Any]) -> Issue:
    issue = dict(zip(COLUMNS, row, strict=True))
    raw = row[_METADATA_AT]
    issue["metadata"] = json.loads(raw) if raw else {}
    return as_issue(issue)


def _chunks(ids: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _side_rows(conn: sqlite3.Connection, sql: str, ids: list[str], whole: bool) -> list[Any]:
    """Rows of a side table for ``ids`` (or the whole table); ``sql`` has a ``{where}`` slot."""
    if whole:
        return conn.execute(sql.format(where="")).fetchall()
    rows: list[Any] = []
    for chunk in _chunks(ids):
        rows += conn.execute(sql.format(where=f" WHERE issue IN ({','.join('?' * len(chunk))})"), chunk).fetchall()
    return rows


def attach(conn: sqlite3.Connection, issues: list[Issue], *, comments: bool = True) -> list[Issue]:
    """Fill in labels, dependencies (and comments) from their side tables, in schema order."""
    by_id = {i["id"]: i for i in issues}
    labels: dict[str, list[str]] = {}
    deps: dict[str, list[dict[str, str]]] = {}
    notes: dict[str, list[dict[str, str]]] = {}
    ids = list(by_id)
    whole = len(ids) > 2000  # cheaper to read the side tables whole than to send thousands of ids
    label_rows = _side_rows(conn, "SELECT issue, label FROM labels{where} ORDER BY issue, label", ids, whole)
    dep_rows = _side_rows(
        conn, "SELECT issue, depends_on, type FROM deps{where} ORDER BY issue, depends_on, type", ids, whole
    )
    comment_rows = (
        _side_rows(conn, "SELECT issue, id, author, text, created_at FROM comments{where}", ids, whole)
        if comments
        else []
    )
    for issue_id, label in label_rows:
        labels.setdefault(issue_id, []).append(label)
    for issue_id, target, kind in dep_rows:
        deps.setdefault(issue_id, []).append({"id": target, "type": kind})
    for issue_id, cid, author, text, created_at in comment_rows:
        notes.setdefault(issue_id, []).append({"id": cid, "author": author, "text": text, "created_at": created_at})
    out = []
    for issue in issues:
        issue_id = issue["id"]
        fields: Mapping[str, Any] = issue
        full: dict[str, Any] = {}
        for name in FIELD_NAMES:
            if name == "labels":
                full[name] = labels.get(issue_id, [])
            elif name == "dependencies":
                full[name] = deps.get(issue_id, [])
            elif name == "comments":
                if comments:
                    full[name] = sort_comments(notes.get(issue_id, []))
            else:
                full[name] = fields[name]
        out.append(as_issue(full))
    return out


def fetch(conn: sqlite3.Connection, ids: Sequence[str]) -> list[Issue]:
    rows: list[Any] = []
    for chunk in _chunks(list(ids)):
        marks = ",".join("?" * len(chunk))
        rows += conn.execute(f"SELECT {SELECT_COLUMNS} FROM issues i WHERE i.id IN ({marks})", chunk).fetchall()
    order = {issue_id: n for n, issue_id in enumerate(ids)}
    issues = sorted((row_to_issue(r) for r in rows), key=lambda i: order[i["id"]])
    return attach(conn, issues)


def get(conn: sqlite3.Connection, issue_id: str) -> Issue:
    found = fetch(conn, [issue_id])
    if not found:
        raise not_found(conn, issue_id)
    return found[0]


def all_issues(conn: sqlite3.Connection) -> list[Issue]:
    rows = conn.execute(f"SELECT {SELECT_COLUMNS} FROM issues i ORDER BY i.id").fetchall()
    return attach(conn, [row_to_issue(r) for r in rows])


COUNTED = ("status", "type", "priority")  # the columns ``counts_by`` groups issues by


def counts_by(conn: sqlite3.Connection, column: str) -> dict[Any, int]:
    """How many issues have each value of ``column``, one of ``COUNTED`` (values no issue has are left out)."""
    if column not in COUNTED:
        raise ValueError(f"issues are not counted by {column!r}: one of {', '.join(COUNTED)}")
    return {value: int(n) for value, n in conn.execute(f"SELECT {column}, COUNT(*) FROM issues GROUP BY {column}")}


def status_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """How many issues have each status (statuses no issue has are left out)."""
    return {str(status): n for status, n in counts_by(conn, "status").items()}


def closed_spans(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(created_at, closed_at) of every closed issue: its lead time's ends."""
    return [
        (str(a), str(b))
        for a, b in conn.execute("SELECT created_at, closed_at FROM issues WHERE closed_at IS NOT NULL")
    ]


def dangling_deps(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Dependencies (issue, depends_on) on an issue the database does not hold."""
    rows = conn.execute(
        "SELECT d.issue, d.depends_on FROM deps d LEFT JOIN issues i ON i.id = d.depends_on WHERE i.id IS NULL"
    )
    return [(str(a), str(b)) for a, b in rows]


def exists(conn: sqlite3.Connection, issue_id: str) -> bool:
    return conn.execute("SELECT 1 FROM issues WHERE id = ?", (issue_id,)).fetchone() is not None


def not_found(conn: sqlite3.Connection, issue_id: str) -> NotFoundError:
    import difflib  # lazy: only for an unknown id (start-up time)

    ids = [r[0] for r in conn.execute("SELECT id FROM issues")]
    close = difflib.get_close_matches(issue_id, ids, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `shopfloor list` shows the ids"
    return NotFoundError(f"no issue {issue_id!r}{hint}")


def resolve(conn: sqlite3.Connection, text: str, prefix: str) -> str:
    """Turn what a user typed (full id, id without prefix, unique start of an id) into an id."""
    text = text.strip()
    candidates = [text] if "-" in text else [f"{prefix}-{text}", text]
    for candidate in candidates:
        if exists(conn, candidate):
            return candidate
    if len(text) >= 3:
        pattern = text if "-" in text else f"{prefix}-{text}"
        matches = [
            str(r[0])
            for r in conn.execute(
                "SELECT id FROM issues WHERE id >= ? AND id < ? ORDER BY id LIMIT 5", (pattern, pattern + "\uffff")
            )
        ]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise ValidationError(f"{text!r} is ambiguous: it starts {', '.join(matches)}; give more of the id")
    raise not_found(conn, text)


def ready(conn: sqlite3.Connection, now: str, limit: int | None = None) -> list[Issue]:
    sql = READY_SQL + (" LIMIT :limit" if limit else "")
    rows = conn.execute(sql, {"now": now, "limit": limit}).fetchall()
    return attach(conn, [row_to_issue(r) for r in rows], comments=False)


def ready_ids(conn: sqlite3.Connection, now: str, limit: int | None = None) -> list[str]:
    sql = f"SELECT id FROM ({READY_SQL}{' LIMIT :limit' if limit else ''})"
    return [r[0] for r in conn.execute(sql, {"now": now, "limit": limit})]


def list_issues(
    conn: sqlite3.Connection,
    *,
    statuses: Sequence[str] = (),
    types: Sequence[str] = (),
    priorities: Sequence[int] = (),
    assignee: str | None = None,
    labels: Sequence[str] = (),
    limit: int | None = None,
) -> list[Issue]:
    where: list[str] = []
    params: list[Any] = []
    for column, values in (("status", statuses), ("type", types), ("priority", priorities)):
        if values:
            where.append(f"i.{column} IN ({','.join('?' * len(values))})")
            params += list(values)
    if assignee is not None:
        where.append("i.assignee = ?")
        params.append(assignee)
    for label in labels:
        where.append("EXISTS (SELECT 1 FROM labels l WHERE l.issue = i.id AND l.label = ?)")
        params.append(label)
    sql = f"SELECT {SELECT_COLUMNS} FROM issues i"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY i.priority, i.created_at, i.id"
    if limit:
        sql += f" LIMIT {int(limit)}"
    rows = conn.execute(sql, params).fetchall()
    return attach(conn, [row_to_issue(r) for r in rows], comments=False)


def blockers_of(conn: sqlite3.Connection, issue_id: str) -> list[tuple[str, str, str]]:
    """``(blocker id, its status, how)`` for every open thing standing in the way of ``issue_id``."""
    rows = conn.execute(
        "SELECT b.id, b.status FROM deps d JOIN issues b ON b.id = d.depends_on "
        "WHERE d.issue = ? AND d.type = 'blocks' AND b.status != 'closed' ORDER BY b.id",
        (issue_id,),
    ).fetchall()
    found = [(r[0], r[1], "blocks") for r in rows]
    ancestors = conn.execute(
        "WITH RECURSIVE a(id) AS (SELECT depends_on FROM deps WHERE issue = ? AND type = 'parent-child' "
        "UNION SELECT d.depends_on FROM deps d JOIN a ON d.issue = a.id WHERE d.type = 'parent-child') "
        f"SELECT p.id, p.status FROM a JOIN issues p ON p.id = a.id WHERE {_DIRECT_BLOCK} ORDER BY p.id",
        (issue_id,),
    ).fetchall()
    found += [(r[0], r[1], "parent") for r in ancestors]
    return found


def snapshot(conn: sqlite3.Connection) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """Every issue's readiness inputs and every dependency, for the pure rules in ``readiness``."""
    from shopfloor.tracker.readiness import Node  # lazy: `ready` answers in SQL without it (start-up time)

    nodes = {
        r[0]: Node(r[1], r[2], r[3], r[4])
        for r in conn.execute("SELECT id, status, priority, created_at, defer_until FROM issues")
    }
    edges = [(r[0], r[1], r[2]) for r in conn.execute("SELECT issue, depends_on, type FROM deps")]
    return nodes, edges


def blocked(conn: sqlite3.Connection) -> list[tuple[Issue, list[tuple[str, str, str]]]]:
    """Issues that are not closed and cannot proceed, each with what blocks it.

    One pass over the whole graph in Python (readiness.blockers_by_issue) rather than two
    queries per issue: at 100k issues that is the difference between 0.3 s and 4 s.
    """
    from shopfloor.tracker.readiness import blockers_by_issue  # lazy: as above

    nodes, edges = snapshot(conn)
    found = blockers_by_issue({i: n.status for i, n in nodes.items()}, edges)
    order = sorted(found, key=lambda i: (nodes[i].priority, nodes[i].created_at, i))
    issues = fetch(conn, order)
    return [(issue, found[issue["id"]]) for issue in issues]


def reaches(conn: sqlite3.Connection, start: str, goal: str, types: Sequence[str]) -> bool:
    """Can ``goal`` be reached from ``start`` by following dependencies of ``types``?"""
    marks = ",".join("?" * len(types))
    row = conn.execute(
        f"WITH RECURSIVE r(id) AS (SELECT ? UNION SELECT d.depends_on FROM deps d JOIN r ON d.issue = r.id "
        f"WHERE d.type IN ({marks})) SELECT 1 FROM r WHERE id = ? LIMIT 1",
        (start, *types, goal),
    ).fetchone()
    return row is not None


def search(conn: sqlite3.Connection, query: str, limit: int | None = 50) -> list[Issue]:
    """Full-text search. Every word of ``query`` must appear; words are matched as data, not syntax."""
    words = [w for w in query.split() if w]
    if not words:
        raise ValidationError("empty search: give one or more words")
    match = " ".join('"' + w.replace('"', '""') + '"' for w in words)
    sql = (
        f"SELECT {SELECT_COLUMNS} FROM issues_fts f JOIN issues i ON i.rowid = f.rowid "
        "WHERE issues_fts MATCH ? ORDER BY bm25(issues_fts), i.id"
    )
    if limit:
        sql += f" LIMIT {int(limit)}"
    rows = conn.execute(sql, (match,)).fetchall()
    return attach(conn, [row_to_issue(r) for r in rows], comments=False)


def events(conn: sqlite3.Connection, issue_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT seq, actor, kind, field, old, new, at FROM events WHERE issue = ? ORDER BY seq", (issue_id,)
    ).fetchall()
    keys = ("seq", "actor", "kind", "field", "old", "new", "at")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def dep_graph(conn: sqlite3.Connection, types: Sequence[str]) -> dict[str, set[str]]:
    marks = ",".join("?" * len(types))
    graph: dict[str, set[str]] = {}
    for issue, target in conn.execute(f"SELECT issue, depends_on FROM deps WHERE type IN ({marks})", tuple(types)):
        graph.setdefault(issue, set()).add(target)
    return graph


def dep_tree(conn: sqlite3.Connection, issue_id: str, up: bool, seen: set[str], via: str | None) -> dict[str, Any]:
    """The issue and what it depends on (``up``: what depends on it), as nested nodes; an issue met
    again on the same path is shown once more as ``repeated``, without children."""
    issue = get(conn, issue_id)
    node: dict[str, Any] = {"id": issue_id, "title": issue["title"], "status": issue["status"], "via": via}
    if issue_id in seen:
        node["children"] = []
        node["repeated"] = True
        return node
    seen = seen | {issue_id}
    if up:
        rows = conn.execute("SELECT issue, type FROM deps WHERE depends_on = ? ORDER BY issue", (issue_id,)).fetchall()
        edges = [(r[0], r[1]) for r in rows]
    else:
        edges = [(d["id"], d["type"]) for d in issue["dependencies"]]
    node["children"] = [dep_tree(conn, other, up, seen, kind) for other, kind in edges if exists(conn, other)]
    return node


def closed_with_long_text(conn: sqlite3.Connection, before: str, min_chars: int) -> list[tuple[Any, ...]]:
    """(id, title, closed_at, description, design, acceptance, notes) of the issues closed before
    ``before`` whose four long texts hold more than ``min_chars`` characters in all, by id."""
    return conn.execute(
        "SELECT id, title, closed_at, description, design, acceptance, notes FROM issues "
        "WHERE status = 'closed' AND closed_at IS NOT NULL AND closed_at < ? "
        "AND length(description) + length(design) + length(acceptance) + length(notes) > ? ORDER BY id",
        (before, min_chars),
    ).fetchall()


def peek(conn: sqlite3.Connection, issue_id: str, *columns: str) -> tuple[Any, ...] | None:
    """A few columns of one issue, by its key (a whole ``get`` also reads its side tables); None
    if there is no such issue."""
    unknown = set(columns) - {f.name for f in COLUMN_FIELDS}
    if unknown or not columns:
        raise ValueError(f"not issue columns: {sorted(unknown) or 'none given'}")
    row = conn.execute(f"SELECT {', '.join(columns)} FROM issues WHERE id = ?", (issue_id,)).fetchone()
    return tuple(row) if row is not None else None


def claimed_or_open_among(
    conn: sqlite3.Connection, ids: Sequence[str]
) -> list[tuple[str, str, str | None, str | None]]:
    """(id, status, assignee, lease_until) of every in-progress issue and of the open ones among
    ``ids``: by the status index and by key, never a scan of the open backlog (issue 13)."""
    where = "status = 'in_progress'"
    if ids:
        where += f" OR (status = 'open' AND id IN ({', '.join('?' for _ in ids)}))"
    rows = conn.execute(f"SELECT id, status, assignee, lease_until FROM issues WHERE {where}", list(ids))
    return [(str(i), str(status), assignee, until) for i, status, assignee, until in rows]


def labels_of(conn: sqlite3.Connection, issue_id: str) -> set[str]:
    return {str(r[0]) for r in conn.execute("SELECT label FROM labels WHERE issue = ?", (issue_id,))}


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM issues").fetchone()[0])


def expired_leases(conn: sqlite3.Connection, now: str) -> list[str]:
    """Every command asks this. ``+status`` keeps SQLite on the lease index: through the status
    index it read every in-progress issue (12 ms at 100k issues, 8% of them in progress)."""
    rows = conn.execute(
        "SELECT id FROM issues WHERE lease_until IS NOT NULL AND lease_until < ? AND +status = 'in_progress'", (now,)
    )
    return [r[0] for r in rows]
