"""Changing issues in SQLite. Every function here runs inside the caller's write transaction
and records each change as an event (actor, kind, field, old, new, at).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence

from shopfloor.errors import ConflictError, NotFoundError, ShopfloorError, ValidationError
from shopfloor.tracker import db, ids, store
from shopfloor.tracker.clock import bump, iso, parse_when, renewal_due
from shopfloor.tracker.schema import (
    BLOCKING_DEP_TYPES,
    COLUMN_FIELDS,
    DEP_TYPES,
    EDITABLE,
    as_issue,
    blank_issue,
    check_text,
    validate_field,
    validate_label,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from shopfloor.tracker.schema import Issue


_COLUMN_NAMES = tuple(f.name for f in COLUMN_FIELDS)
_INSERT_SQL = f"INSERT INTO issues ({', '.join(_COLUMN_NAMES)}) VALUES ({', '.join('?' * len(_COLUMN_NAMES))})"
_UPDATE_SQL = f"UPDATE issues SET {', '.join(f'{c} = ?' for c in _COLUMN_NAMES[1:])} WHERE id = ?"


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def event(
    conn: sqlite3.Connection,
    issue_id: str,
    actor: str,
    kind: str,
    at: str,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
) -> None:
    conn.execute(
        "INSERT INTO events (issue, actor, kind, field, old, new, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (issue_id, actor, kind, field, _as_text(old), _as_text(new), at),
    )


def _column_values(issue: Mapping[str, Any]) -> list[Any]:
    values = [issue[name] for name in _COLUMN_NAMES]
    values[_COLUMN_NAMES.index("metadata")] = json.dumps(issue["metadata"] or {}, ensure_ascii=False, sort_keys=True)
    return values


def _write_side_tables(conn: sqlite3.Connection, issue: Issue) -> None:
    issue_id = issue["id"]
    conn.executemany("INSERT INTO labels (issue, label) VALUES (?, ?)", [(issue_id, lab) for lab in issue["labels"]])
    conn.executemany(
        "INSERT INTO deps (issue, depends_on, type) VALUES (?, ?, ?)",
        [(issue_id, d["id"], d["type"]) for d in issue["dependencies"]],
    )
    conn.executemany(
        "INSERT INTO comments (id, issue, author, text, created_at) VALUES (?, ?, ?, ?, ?)",
        [(c["id"], issue_id, c["author"], c["text"], c["created_at"]) for c in issue.get("comments", ())],
    )


def insert_issue(conn: sqlite3.Connection, issue: Issue) -> None:
    conn.execute(_INSERT_SQL, _column_values(issue))
    _write_side_tables(conn, issue)


def replace_issue(conn: sqlite3.Connection, issue: Issue) -> None:
    """Overwrite an existing issue wholesale (used by import)."""
    values = _column_values(issue)
    conn.execute(_UPDATE_SQL, [*values[1:], issue["id"]])
    for table in ("labels", "deps", "comments"):
        conn.execute(f"DELETE FROM {table} WHERE issue = ?", (issue["id"],))
    _write_side_tables(conn, issue)


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    """Record the database's setting ``key`` (the issue-id ``prefix``), replacing any earlier value."""
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def _touch(conn: sqlite3.Connection, issue_id: str, now: str) -> None:
    conn.execute("UPDATE issues SET updated_at = ? WHERE id = ?", (now, issue_id))


def new_id(conn: sqlite3.Connection, prefix: str, content: str) -> str:
    length = ids.id_length(store.count(conn))
    for _ in range(100):
        candidate = ids.make_id(prefix, content, os.urandom(16), length)
        if not store.exists(conn, candidate):
            return candidate
        length = min(length + 1, ids.MAX_LENGTH)
    raise ShopfloorError("could not find a free issue id after 100 tries: run `shopfloor doctor`")


def unique_creation_time(conn: sqlite3.Connection, now: str, actor: str) -> str:
    """``now``, or the first microsecond after it that ``actor`` has not created an issue at.

    (created_at, created_by) is an issue's identity across clones and renames; issues made
    in one go (``create -f``) would otherwise share it.
    """
    while conn.execute("SELECT 1 FROM issues WHERE created_at = ? AND created_by = ?", (now, actor)).fetchone():
        later = bump(now)
        if later == now:  # at the end of time; a shared identity only weakens rename tracking
            break
        now = later
    return now


def next_child_id(conn: sqlite3.Connection, parent: str) -> str:
    highest = 0
    for (child,) in conn.execute(
        "SELECT id FROM issues WHERE id >= ? AND id < ?", (parent + ".", parent + "/")
    ).fetchall():
        tail = child[len(parent) + 1 :]
        if tail.isdigit():
            highest = max(highest, int(tail))
    return ids.child_id(parent, highest + 1)


def check_dependency(conn: sqlite3.Connection, issue_id: str, target: str, dep_type: str) -> None:
    """Refuse unknown types, missing targets, self-dependencies and cycles, naming the fix."""
    if dep_type not in DEP_TYPES:
        raise ValidationError(f"invalid dependency type {dep_type!r}: use one of {', '.join(DEP_TYPES)}")
    if issue_id == target:
        raise ValidationError(f"{issue_id} cannot depend on itself")
    if not store.exists(conn, target):
        raise store.not_found(conn, target)
    if dep_type in BLOCKING_DEP_TYPES and store.reaches(conn, target, issue_id, BLOCKING_DEP_TYPES):
        # Rare: only now load the whole graph, to name the cycle in the error.
        from shopfloor.tracker import readiness

        graph = store.dep_graph(conn, BLOCKING_DEP_TYPES)
        cycle = readiness.cycle_if_added(graph, issue_id, target)
        if cycle is not None:
            raise ConflictError(
                f"adding {issue_id} -> {target} would make a dependency cycle: {' -> '.join(cycle)}; "
                "remove one of those dependencies first"
            )


def create(
    conn: sqlite3.Connection,
    *,
    prefix: str,
    actor: str,
    now: str,
    fields: dict[str, Any],
    labels: Iterable[str] = (),
    deps: Sequence[tuple[str, str]] = (),
    parent: str | None = None,
) -> str:
    """Insert a new issue and return its id. ``deps`` are ``(type, target id)`` pairs."""
    title = validate_field("title", fields.get("title"))
    now = unique_creation_time(conn, now, actor)
    if parent is not None:
        if not store.exists(conn, parent):
            raise store.not_found(conn, parent)
        issue_id = next_child_id(conn, parent)
    else:
        issue_id = new_id(conn, prefix, f"{title}\0{actor}\0{now}")
    given = {}
    for name, value in fields.items():
        if name not in EDITABLE:
            raise ValidationError(f"{name} cannot be set on create")
        given[name] = validate_field(name, value)
    issue = as_issue({**blank_issue(issue_id, title, now, actor), **given})
    if issue["status"] == "in_progress":
        raise ValidationError(
            "an issue cannot be created in_progress (no one would hold it): create it open, "
            "then claim it with `shopfloor update ID --claim`"
        )
    issue["labels"] = validate_field("labels", list(labels))
    all_deps = [*deps, *((("parent-child", parent),) if parent else ())]
    for dep_type, target in all_deps:
        check_dependency(conn, issue_id, target, dep_type)
    issue["dependencies"] = validate_field("dependencies", [{"id": t, "type": k} for k, t in all_deps])
    if issue["status"] == "closed":
        issue["closed_at"] = now
        issue["close_reason"] = "closed when created"
    insert_issue(conn, issue)
    event(conn, issue_id, actor, "created", now, new=title)
    return issue_id


def update(conn: sqlite3.Connection, issue_id: str, changes: dict[str, Any], actor: str, now: str) -> list[str]:
    """Apply field changes; return the names of the fields that actually changed."""
    current: Mapping[str, Any] = store.get(conn, issue_id)  # read by field name
    changed = []
    for name, raw in changes.items():
        if name not in EDITABLE:
            raise ValidationError(f"{name} cannot be changed with update")
        value = validate_field(name, raw)
        if name == "status" and value == "closed":
            raise ValidationError(f"use `shopfloor close {issue_id}` to close an issue")
        if value == current[name]:
            continue
        if name == "status" and value == "in_progress":
            # Without a holder and a lease nothing would ever return it to ready.
            raise ValidationError(
                f"--status in_progress would leave {issue_id} held by no one: "
                f"claim it with `shopfloor update {issue_id} --claim`"
            )
        holder = current["assignee"]
        if (
            name == "assignee"
            and current["status"] == "in_progress"
            and holder
            and current["lease_until"]
            and holder != actor
        ):
            raise ConflictError(
                f"{issue_id} is claimed by {holder} until {current['lease_until']}: only {holder} can hand it "
                "over; wait for the lease to run out"
            )
        stored = json.dumps(value, sort_keys=True) if name == "metadata" else value
        conn.execute(f"UPDATE issues SET {name} = ? WHERE id = ?", (stored, issue_id))
        event(conn, issue_id, actor, "updated", now, name, current[name], value)
        changed.append(name)
    if "status" in changed and current["status"] == "closed":
        conn.execute("UPDATE issues SET closed_at = NULL, close_reason = NULL WHERE id = ?", (issue_id,))
    if "status" in changed and current["status"] == "in_progress":
        # Leaving in_progress ends the claim: a stale holder or lease would block a new one.
        conn.execute("UPDATE issues SET lease_until = NULL, assignee = NULL WHERE id = ?", (issue_id,))
        if current["assignee"] and "assignee" not in changed:
            event(conn, issue_id, actor, "released", now, "assignee", current["assignee"], None)
    if changed:
        _touch(conn, issue_id, now)
    return changed


def close(conn: sqlite3.Connection, issue_id: str, reason: str, actor: str, now: str) -> bool:
    current = store.get(conn, issue_id)
    if current["status"] == "closed":
        return False
    reason = check_text(reason, "reason")
    conn.execute(
        "UPDATE issues SET status = 'closed', closed_at = ?, close_reason = ?, lease_until = NULL, updated_at = ? "
        "WHERE id = ?",
        (now, reason, now, issue_id),
    )
    event(conn, issue_id, actor, "closed", now, "status", current["status"], "closed")
    return True


def reopen(conn: sqlite3.Connection, issue_id: str, actor: str, now: str) -> bool:
    current = store.get(conn, issue_id)
    if current["status"] != "closed":
        return False
    conn.execute(
        "UPDATE issues SET status = 'open', closed_at = NULL, close_reason = NULL, assignee = NULL, "
        "updated_at = ? WHERE id = ?",
        (now, issue_id),
    )
    event(conn, issue_id, actor, "reopened", now, "status", "closed", "open")
    return True


def _holding(conn: sqlite3.Connection, issue_id: str) -> tuple[str, str | None]:
    """The issue's status and who holds it; an unknown id is the store's not-found error."""
    row = store.peek(conn, issue_id, "status", "assignee")
    if row is None:
        raise store.not_found(conn, issue_id)
    return row[0], row[1]


def claim(conn: sqlite3.Connection, issue_id: str, actor: str, now: str, until: str) -> Issue:
    """Claim ``issue_id`` for ``actor``: idempotent for the holder, a conflict for anyone else."""
    status, holder = _holding(conn, issue_id)
    if status == "in_progress" and holder == actor:
        # A renewal is no event: the lease is current state, and the history keeps claims, expiries
        # and releases (older databases keep their ``lease_renewed`` events, shown as they were).
        conn.execute("UPDATE issues SET lease_until = ? WHERE id = ?", (until, issue_id))
        return store.get(conn, issue_id)
    if status == "in_progress" and holder:
        raise ConflictError(
            f"{issue_id} is already claimed by {holder}: pick other work with `shopfloor ready --claim`"
        )
    # In progress with no holder (set by hand, or by an older shopfloor) is free to claim.
    if status == "closed":
        raise ConflictError(f"{issue_id} is closed: reopen it first with `shopfloor reopen {issue_id}`")
    if status not in ("open", "in_progress"):
        raise ConflictError(
            f"{issue_id} is {status}, not open: set it open first with `shopfloor update {issue_id} --status open`"
        )
    blockers = store.blockers_of(conn, issue_id)
    if blockers:
        names = ", ".join(f"{b} ({s})" for b, s, _ in blockers)
        raise ConflictError(f"{issue_id} is blocked by {names}: finish those first")
    conn.execute(
        "UPDATE issues SET status = 'in_progress', assignee = ?, lease_until = ?, updated_at = ? WHERE id = ?",
        (actor, until, now, issue_id),
    )
    event(conn, issue_id, actor, "claimed", now, "assignee", holder, actor)
    return store.get(conn, issue_id)


def claim_next(conn: sqlite3.Connection, actor: str, now: str, until: str) -> Issue | None:
    top = store.ready_ids(conn, now, limit=1)
    return claim(conn, top[0], actor, now, until) if top else None


def renew(conn: sqlite3.Connection, issue_id: str, actor: str, now_s: float, lease_s: float, *, take: bool) -> bool:
    """Keep ``actor``'s lease on ``issue_id`` while its work goes on: the one renewal that the
    floor's loop, a worker's start and restart, and a worker's shim all use. True if it wrote.

    It writes only once less than half of the lease is left (``clock.renewal_due``): renewing
    at every poll would flood the database and git with renewals. A lease that is not due costs
    one read and no write lock; a due one is written in a transaction of its own, or in the
    caller's if there is one.

    What happens when ``actor`` does not hold the issue differs on purpose:
    - ``take=True`` (the floor, for the claims it holds; a worker's start and restart): the issue
      is claimed, as ``claim`` does. The claim is theirs to hold: an issue whose lease ran out
      and went back to ready is taken again, one held by someone else is a ``ConflictError``.
    - ``take=False`` (a worker's shim while its agent runs): only a lease ``actor`` still holds
      is extended; otherwise ``heartbeat``'s ``ConflictError`` says why. The shim never claims:
      an issue that went back to ready, or to another holder, is not taken behind their back.
    A person's ``shopfloor heartbeat`` calls ``heartbeat`` directly: asked for, it always renews."""
    row = store.peek(conn, issue_id, "status", "assignee", "lease_until")
    if row is not None and row[0] == "in_progress" and row[1] == actor and not renewal_due(row[2], now_s, lease_s):
        return False
    with db.transaction(conn):
        (claim if take else heartbeat)(conn, issue_id, actor, iso(now_s), iso(now_s + lease_s))
    return True


def release(conn: sqlite3.Connection, issue_id: str, holder: str, actor: str, now: str) -> bool:
    """Return the issue to open if ``holder`` still holds its claim (a start that failed, a worker
    that went); anyone else's claim, or a closed issue, is left alone. True if it changed."""
    row = store.peek(conn, issue_id, "status", "assignee")
    if row is None or row[0] != "in_progress" or row[1] != holder:
        return False
    update(conn, issue_id, {"status": "open"}, actor, now)
    return True


def heartbeat(conn: sqlite3.Connection, issue_id: str, actor: str, now: str, until: str) -> Issue:
    status, holder = _holding(conn, issue_id)
    if status == "in_progress" and holder != actor:
        raise ConflictError(
            f"{actor} does not hold {issue_id}: {holder or 'someone'} does; pick other work with "
            "`shopfloor ready --claim`"
        )
    if status == "open":
        raise ConflictError(
            f"{actor} no longer holds {issue_id}: the claim ended (lease expired or released) and it is open "
            f"again; claim it with `shopfloor update {issue_id} --claim`"
        )
    if status != "in_progress":
        raise ConflictError(f"{issue_id} is {status}, not claimed: there is no lease to renew")
    conn.execute("UPDATE issues SET lease_until = ? WHERE id = ?", (until, issue_id))
    return store.get(conn, issue_id)


def reclaim_expired(conn: sqlite3.Connection, now: str) -> list[str]:
    """Return issues whose lease ran out to open, so a dead worker's issue is never stuck."""
    expired = store.expired_leases(conn, now)
    for issue_id in expired:
        holder, _until = conn.execute("SELECT assignee, lease_until FROM issues WHERE id = ?", (issue_id,)).fetchone()
        conn.execute(
            "UPDATE issues SET status = 'open', assignee = NULL, lease_until = NULL, updated_at = ? WHERE id = ?",
            (now, issue_id),
        )
        event(conn, issue_id, "shopfloor", "lease_expired", now, "assignee", holder, None)
    return expired


def add_dep(conn: sqlite3.Connection, issue_id: str, target: str, dep_type: str, actor: str, now: str) -> bool:
    check_dependency(conn, issue_id, target, dep_type)
    cur = conn.execute(
        "INSERT OR IGNORE INTO deps (issue, depends_on, type) VALUES (?, ?, ?)", (issue_id, target, dep_type)
    )
    if cur.rowcount:
        event(conn, issue_id, actor, "dep_added", now, dep_type, None, target)
        _touch(conn, issue_id, now)
    return bool(cur.rowcount)


def remove_dep(conn: sqlite3.Connection, issue_id: str, target: str, dep_type: str | None, actor: str, now: str) -> int:
    if dep_type:
        cur = conn.execute(
            "DELETE FROM deps WHERE issue = ? AND depends_on = ? AND type = ?", (issue_id, target, dep_type)
        )
    else:
        cur = conn.execute("DELETE FROM deps WHERE issue = ? AND depends_on = ?", (issue_id, target))
    if not cur.rowcount:
        raise NotFoundError(f"{issue_id} has no dependency on {target}; `shopfloor show {issue_id}` lists them")
    event(conn, issue_id, actor, "dep_removed", now, dep_type, target, None)
    _touch(conn, issue_id, now)
    return int(cur.rowcount)


def add_comment(conn: sqlite3.Connection, issue_id: str, text: str, actor: str, now: str) -> dict[str, str]:
    text = check_text(text, "comment").strip()
    if not text:
        raise ValidationError("empty comment: give the text to add")
    if not store.exists(conn, issue_id):
        raise store.not_found(conn, issue_id)
    # Content-derived id: the same comment made on two branches unions into one on merge.
    comment_id = ids.make_id("c", f"{issue_id}\0{actor}\0{now}\0{text}", b"", 8)
    conn.execute(
        "INSERT OR IGNORE INTO comments (id, issue, author, text, created_at) VALUES (?, ?, ?, ?, ?)",
        (comment_id, issue_id, actor, text, now),
    )
    event(conn, issue_id, actor, "commented", now, new=comment_id)
    _touch(conn, issue_id, now)
    return {"id": comment_id, "author": actor, "text": text, "created_at": now}


def add_labels(conn: sqlite3.Connection, issue_id: str, labels: Iterable[str], actor: str, now: str) -> list[str]:
    added = []
    for label in labels:
        label = validate_label(label)
        cur = conn.execute("INSERT OR IGNORE INTO labels (issue, label) VALUES (?, ?)", (issue_id, label))
        if cur.rowcount:
            added.append(label)
            event(conn, issue_id, actor, "label_added", now, "labels", None, label)
    if added:
        _touch(conn, issue_id, now)
    return added


def remove_labels(conn: sqlite3.Connection, issue_id: str, labels: Iterable[str], actor: str, now: str) -> list[str]:
    removed = []
    for label in labels:
        cur = conn.execute("DELETE FROM labels WHERE issue = ? AND label = ?", (issue_id, label))
        if cur.rowcount:
            removed.append(label)
            event(conn, issue_id, actor, "label_removed", now, "labels", label, None)
    if removed:
        _touch(conn, issue_id, now)
    return removed


def defer_value(text: str | None) -> str | None:
    return None if not text else parse_when(text)


COMPACT_FIELDS = ("description", "design", "acceptance", "notes")


def compact(conn: sqlite3.Connection, issue_id: str, summary: str, actor: str, now: str) -> bool:
    """Replace a closed issue's long text by ``summary`` (the description; design, acceptance
    and notes emptied). One ``compacted`` event holds how many characters went and the summary
    on one line, never the old text itself (the point: it stays in git history). False if
    there was nothing to change."""
    row = store.peek(conn, issue_id, "status", *COMPACT_FIELDS)
    if row is None:
        raise store.not_found(conn, issue_id)
    status, *texts = row
    if status != "closed":
        raise ConflictError(f"{issue_id} is {status}: only closed issues are compacted")
    summary = check_text(summary, "summary")
    old = sum(len(t or "") for t in texts)
    if texts[0] == summary and not any(texts[1:]):
        return False
    conn.execute(
        "UPDATE issues SET description = ?, design = '', acceptance = '', notes = '' WHERE id = ?",
        (summary, issue_id),
    )
    event(conn, issue_id, actor, "compacted", now, "description", f"{old} characters", " ".join(summary.split()))
    _touch(conn, issue_id, now)
    return True
