"""The operations the worker channel performs, on the tracker, as the worker's actor.

Each takes the arguments the CLI parsed (validated again here: the client may be anyone who
holds the token) and returns ``(result, text)``: what ``--json`` prints and the human output,
the same as the CLI's own handlers print without a channel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shopfloor import render
from shopfloor.errors import UsageError
from shopfloor.floor import attempts, learnings
from shopfloor.floor.reasons import blocked_output, list_output
from shopfloor.learn import docs, index
from shopfloor.tracker import readiness, store, writes
from shopfloor.tracker.schema import BLOCKING_DEP_TYPES, EDITABLE, check_text, public, validate_field
from shopfloor.tracker.service import Tracker

Outcome = tuple[Any, str]

_FIELD_ARGS = tuple(name for name in EDITABLE if name not in ("title", "status", "metadata"))


def _str(args: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = args.get(key)
    if value is None:
        if required:
            raise UsageError(f"{key} is required")
        return None
    if not isinstance(value, str):
        raise UsageError(f"{key} must be a string")
    return check_text(value, key)


def _strs(args: dict[str, Any], key: str) -> list[str]:
    value = args.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{key} must be a list of strings")
    return [check_text(v, key) for v in value]


def _int(args: dict[str, Any], key: str, default: int | None) -> int | None:
    value = args.get(key, default)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1_000_000_000:
        raise UsageError(f"{key} must be a whole number from 1")
    return value


def _fields(args: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in _FIELD_ARGS:
        value = _str(args, name)
        if value is None:
            continue
        fields[name] = writes.defer_value(value) if name == "defer_until" else value
    return fields


def show(tracker: Tracker, args: dict[str, Any]) -> Outcome:
    issue = store.get(tracker.conn, tracker.resolve(_str(args, "id", required=True) or ""))
    events = store.events(tracker.conn, issue["id"])
    tried = [a.as_json() for a in attempts.of_issue(tracker.conn, issue["id"])]
    result = {**public(issue, comments=True), "events": events, "attempts": tried}
    return result, "\n".join([render.issue_detail(issue, events), *render.attempt_lines(tried)])


def list_(tracker: Tracker, args: dict[str, Any]) -> Outcome:
    statuses = _strs(args, "status") or ([] if args.get("all") else ["open", "in_progress", "blocked", "deferred"])
    for status in statuses:
        validate_field("status", status)
    issues = store.list_issues(
        tracker.conn,
        statuses=statuses,
        types=[validate_field("type", t) for t in _strs(args, "type")],
        priorities=[validate_field("priority", p) for p in _strs(args, "priority")],
        assignee=_str(args, "assignee"),
        labels=_strs(args, "label"),
        limit=_int(args, "limit", None),
    )

    return list_output(tracker.conn, issues, "no issues match")


def ready(tracker: Tracker, args: dict[str, Any]) -> Outcome:
    issues = store.ready(tracker.conn, tracker.now(), _int(args, "limit", 20))
    return [public(i) for i in issues], render.issue_lines(issues, "nothing is ready")


def blocked(tracker: Tracker, args: dict[str, Any]) -> Outcome:
    return blocked_output(tracker.conn, store.blocked(tracker.conn))


def search(tracker: Tracker, args: dict[str, Any]) -> Outcome:
    query = check_text(" ".join(_strs(args, "query")), "query")
    issues = store.search(tracker.conn, query, _int(args, "limit", 50))
    return [public(i) for i in issues], render.issue_lines(issues, f"nothing matches {query!r}")


def dep_tree(tracker: Tracker, args: dict[str, Any]) -> Outcome:
    found = store.dep_tree(
        tracker.conn, tracker.resolve(_str(args, "id", required=True) or ""), bool(args.get("up")), set(), None
    )
    return found, "\n".join(render.tree_lines(found))


def dep_cycles(tracker: Tracker, args: dict[str, Any]) -> Outcome:
    cycles = readiness.find_cycles(store.dep_graph(tracker.conn, BLOCKING_DEP_TYPES))
    return cycles, "\n".join(" -> ".join(c) for c in cycles) if cycles else "no dependency cycles"


def comment(tracker: Tracker, args: dict[str, Any]) -> Outcome:
    text = _str(args, "text", required=True) or ""
    with tracker.write() as conn:
        issue_id = tracker.resolve(_str(args, "id", required=True) or "")
        made = writes.add_comment(conn, issue_id, text, tracker.actor, tracker.now())
    return {"issue": issue_id, **made}, f"commented on {issue_id} ({made['id']})"


def done(tracker: Tracker, args: dict[str, Any]) -> Outcome:
    summary = _str(args, "summary")
    issue_id = tracker.resolve(_str(args, "id", required=True) or "")
    with tracker.write() as conn:
        writes.event(conn, issue_id, tracker.actor, "agent_done", tracker.now(), None, None, summary)
        if summary:
            writes.add_comment(conn, issue_id, f"done: {summary}", tracker.actor, tracker.now())
    result = {"id": issue_id, "done": True, "by": tracker.actor}
    return result, f"{issue_id}: marked done by {tracker.actor}; the floor gates its branch next"


def create(tracker: Tracker, args: dict[str, Any]) -> Outcome:
    """A new issue, always linked discovered-from the worker's own issue (``args['deps']`` holds it)."""
    fields = {"title": _str(args, "title", required=True), **_fields(args)}
    deps = [(str(kind), str(target)) for kind, target in args.get("deps") or ()]
    with tracker.write() as conn:
        issue_id = writes.create(
            conn,
            prefix=tracker.prefix,
            actor=tracker.actor,
            now=tracker.now(),
            fields=fields,
            labels=_strs(args, "label"),
            deps=deps,
        )
        issue = store.get(conn, issue_id)
    return public(issue), f"created {issue_id}: {issue['title']}"


def update(tracker: Tracker, args: dict[str, Any]) -> Outcome:
    """Only ``--status blocked`` on the worker's own issue gets here (see policy)."""
    status = _str(args, "status")
    if status is None:
        raise UsageError("nothing to update: give a field option (e.g. --status blocked)")
    with tracker.write() as conn:
        issue_id = tracker.resolve(_str(args, "id", required=True) or "")
        changed = writes.update(conn, issue_id, {"status": status}, tracker.actor, tracker.now())
        issue = store.get(conn, issue_id)
    return public(issue), f"updated {issue_id}: {', '.join(changed) if changed else 'nothing changed'}"


def learn_search(tracker: Tracker, args: dict[str, Any]) -> Outcome:
    """The memory's best matches (read-only: only its index, a cache of the notes, is refreshed)."""
    words = _strs(args, "words")
    docs.match_query(words)  # bad input first
    limit = _int(args, "limit", 10) or 10
    hits = index.search(_refreshed(tracker), words, min(max(limit, 1), 100))
    return hits, learnings.search_text(hits)


def learn_show(tracker: Tracker, args: dict[str, Any]) -> Outcome:
    source = _str(args, "id", required=True) or ""
    docs.kind_of(source)
    found = index.show(_refreshed(tracker), source)
    return found, learnings.show_text(found)


def _refreshed(tracker: Tracker) -> Any:
    learnings.refresh(tracker)
    return tracker.conn


def heartbeat(tracker: Tracker, args: dict[str, Any]) -> Outcome:
    """The worker's shim renews its issue's lease while the agent runs: nothing to do."""
    issue = store.get(tracker.conn, tracker.resolve(_str(args, "id", required=True) or ""))
    until = issue.get("lease_until") or "-"
    return public(issue), f"{issue['id']}: the floor renews this lease while you work (now until {until})"


OPS: dict[str, Callable[[Tracker, dict[str, Any]], Outcome]] = {
    "show": show,
    "list": list_,
    "ready": ready,
    "blocked": blocked,
    "search": search,
    "dep tree": dep_tree,
    "dep cycles": dep_cycles,
    "comment": comment,
    "done": done,
    "create": create,
    "update": update,
    "heartbeat": heartbeat,
    "learn search": learn_search,
    "learn show": learn_show,
}
