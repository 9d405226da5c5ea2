"""Commands on single issues: create, show, list, update, close, reopen, comment, label, search."""

from __future__ import annotations

import argparse
import sys

from shopfloor.cli.common import open_tracker, print_json
from shopfloor.cli.parsing import LEASE_HELP, Subcommands, actions, command, limit
from shopfloor.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from shopfloor.tracker.service import Tracker


def _fields_from(args: argparse.Namespace) -> dict[str, Any]:
    from shopfloor.tracker import writes
    from shopfloor.tracker.schema import EDITABLE, text_arg

    fields: dict[str, Any] = {}
    # Editable fields that `create` and `update` take as plain options (the others need care).
    for name in (name for name in EDITABLE if name not in ("title", "status", "metadata")):
        value = getattr(args, name, None)
        if value is None:
            continue
        if name == "description":
            value = text_arg(value, "description")
        elif name == "defer_until":
            value = writes.defer_value(value)
        fields[name] = value
    return fields


def cmd_create(args: argparse.Namespace) -> int:
    from shopfloor.tracker import store, writes
    from shopfloor.tracker.schema import public, text_arg

    if args.dry_run and not args.file:
        raise UsageError("--dry-run goes with -f FILE: shopfloor create -f plan.md --dry-run")
    if args.file:
        if args.title:
            raise UsageError("give either a TITLE or -f FILE, not both")
        return _create_from_file(args)
    if args.title is None:
        raise UsageError("create needs a TITLE (or -f FILE for a plan): shopfloor create 'Fix the login bug'")
    tracker = open_tracker(args)
    fields = {"title": text_arg(args.title, "title"), **_fields_from(args)}
    deps = []
    if args.deps:
        from shopfloor.tracker.planfile import parse_deps

        deps = parse_deps(args.deps)
    with tracker.write() as conn:
        parent = tracker.resolve(args.parent) if args.parent else None
        resolved = [(kind, tracker.resolve(target)) for kind, target in deps]
        issue_id = writes.create(
            conn,
            prefix=tracker.prefix,
            actor=tracker.actor,
            now=tracker.now(),
            fields=fields,
            labels=args.label,
            deps=resolved,
            parent=parent,
        )
        issue = store.get(conn, issue_id)  # read under the same lock as the write
    if args.json:
        print_json(public(issue))
    else:
        print(f"created {issue_id}: {issue['title']}")
    return 0


def _create_from_file(args: argparse.Namespace) -> int:
    from pathlib import Path

    from shopfloor.inputs import PLAN_LIMIT, read_at_most, read_file
    from shopfloor.tracker import plancreate, planfile, store
    from shopfloor.tracker.schema import public

    fix = "split the plan into smaller files"
    if args.file == "-":
        data, name = read_at_most(sys.stdin.buffer, PLAN_LIMIT, "the plan on stdin", fix), "<stdin>"
    else:
        path = Path(args.file)
        try:
            data, name = read_file(str(path), PLAN_LIMIT, fix), str(path)
        except OSError as exc:
            raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    drafts = planfile.parse_plan(data, name)
    tracker = open_tracker(args)
    # A plan kept in .agents/plans/ is linked from each issue it creates (metadata.plan).
    link = None if args.file == "-" else plancreate.plan_link(args.file, tracker.location.worktree)
    if args.dry_run:
        plancreate.refuse_repeat(tracker.conn, link)
        proposed = plancreate.trial(tracker, drafts, link)
        if args.json:
            print_json(plancreate.proposed_json(proposed))
        else:
            from shopfloor import render

            print(f"would create {render.issues(len(proposed))} from {name} (dry run: nothing created):")
            print("\n".join(plancreate.proposed_lines(proposed)))
        return 0
    # All or nothing: every issue, then every dependency, in one transaction.
    with tracker.write():
        plancreate.refuse_repeat(tracker.conn, link)
        created = plancreate.create_all(tracker, drafts, link)
    issues = store.fetch(tracker.conn, created)
    if args.json:
        print_json([public(i) for i in issues])
    else:
        from shopfloor import render

        linked = "" if not link else (", each linked to it" if link == name else f", each linked to {link}")
        print(f"created {render.issues(len(issues))} from {name}{linked}:")
        print(render.issue_lines(issues, ""))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from shopfloor.tracker import store
    from shopfloor.tracker.schema import public

    tracker = open_tracker(args)
    issue = store.get(tracker.conn, tracker.resolve(args.id))
    events = store.events(tracker.conn, issue["id"])
    from shopfloor.floor import attempts

    tried = [a.as_json() for a in attempts.of_issue(tracker.conn, issue["id"])]
    from shopfloor.workers import logview

    runs = logview.runs_of(tracker, issue["id"])
    for item, run in zip(tried, logview.match([(a["worker"], a["generation"]) for a in tried], runs), strict=True):
        item["log"] = str(run.path) if run else None
    if args.json:
        print_json({**public(issue, comments=True), "events": events, "attempts": tried})
    else:
        from shopfloor import render

        print("\n".join([render.issue_detail(issue, events), *render.attempt_lines(tried)]))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from shopfloor.tracker import store
    from shopfloor.tracker.schema import validate_field

    tracker = open_tracker(args)
    statuses = args.status or ([] if args.all else ["open", "in_progress", "blocked", "deferred"])
    for status in statuses:
        validate_field("status", status)
    issues = store.list_issues(
        tracker.conn,
        statuses=statuses,
        types=[validate_field("type", t) for t in args.type],
        priorities=[validate_field("priority", p) for p in args.priority],
        assignee=args.assignee,
        labels=args.label,
        limit=args.limit,
    )
    from shopfloor.floor.reasons import list_output

    shown, text = list_output(tracker.conn, issues, "no issues match")
    if args.json:
        print_json(shown)
    else:
        print(text)
    return 0


AGENT_CLOSE = (
    "{actor} is an agent and may not {what}: commit on your branch and run `shopfloor done`; the merge queue "
    "closes the issue when the work lands (only a person or the merge queue closes or reopens issues)"
)


def _refuse_agent(tracker: Tracker, what: str) -> None:
    """Agents (``worker/<name>``) never close or reopen issues: a close would skip the gate and the queue."""
    from shopfloor.actors import is_agent
    from shopfloor.errors import ConflictError

    if is_agent(tracker.actor):
        raise ConflictError(AGENT_CLOSE.format(actor=tracker.actor, what=what))


def cmd_update(args: argparse.Namespace) -> int:
    from shopfloor.tracker import store, writes
    from shopfloor.tracker.clock import parse_duration
    from shopfloor.tracker.schema import public, text_arg

    lease_s = parse_duration(args.lease, "lease")
    tracker = open_tracker(args)
    more = getattr(args, "more_ids", None) or []
    if more and args.claim:
        raise UsageError("--claim takes one issue: claim them one at a time")
    ids = list(dict.fromkeys(tracker.resolve(i) for i in [args.id, *more]))  # all known, or nothing changes
    if args.status == "closed":
        _refuse_agent(tracker, "close an issue")
    elif args.status is not None and any(store.get(tracker.conn, i)["status"] == "closed" for i in ids):
        _refuse_agent(tracker, "reopen an issue")
    elif args.status not in (None, "blocked"):
        # Setting it open would release the floor's claim: its committed work would never be gated.
        _refuse_agent(tracker, f"set an issue's status to {args.status} (only to blocked, when stuck)")
    changes = _fields_from(args)
    if args.title is not None:
        changes["title"] = text_arg(args.title, "title")
    if args.status is not None and not (args.claim and args.status == "in_progress"):
        changes["status"] = args.status  # (with --claim, claiming sets in_progress with a holder)
    if args.metadata is not None:
        changes["metadata"] = args.metadata
    if not changes and not args.claim:
        raise UsageError("nothing to update: give a field option (e.g. --status, -p) or --claim")
    if len(ids) > 1:
        return _update_many(tracker, ids, changes, args.json)
    with tracker.write() as conn:
        issue_id = tracker.resolve(args.id)
        changed = writes.update(conn, issue_id, changes, tracker.actor, tracker.now()) if changes else []
        if args.claim:
            writes.claim(conn, issue_id, tracker.actor, tracker.now(), tracker.lease_until(lease_s))
        issue = store.get(conn, issue_id)
    if args.json:
        print_json(public(issue))
    elif args.claim:
        print(f"claimed {issue_id} for {tracker.actor} until {issue['lease_until']}")
    else:
        print(f"updated {issue_id}: {', '.join(changed) if changed else 'nothing changed'}")
    return 0


def _update_many(tracker: Tracker, ids: list[str], changes: dict[str, Any], as_json: bool) -> int:
    """The same changes to several issues in one transaction: a refusal for one changes none."""
    from shopfloor.tracker import store, writes
    from shopfloor.tracker.schema import public

    with tracker.write() as conn:
        changed = {i: writes.update(conn, i, changes, tracker.actor, tracker.now()) for i in ids}
    if as_json:
        print_json([public(i) for i in store.fetch(tracker.conn, ids)])
    else:
        for issue_id, fields in changed.items():
            print(f"updated {issue_id}: {', '.join(fields) if fields else 'nothing changed'}")
    return 0


def _change_each(
    args: argparse.Namespace, change: Callable[[Tracker, str], bool], done: str, skipped: str, refused: str
) -> int:
    """Apply ``change`` to every id in one transaction; report which ones it changed. An agent
    is ``refused`` (closing and reopening are a person's or the merge queue's)."""
    from shopfloor.tracker import store
    from shopfloor.tracker.schema import public

    tracker = open_tracker(args)
    _refuse_agent(tracker, refused)
    with tracker.write():
        ids = [tracker.resolve(i) for i in args.ids]
        changed = [i for i in ids if change(tracker, i)]
    issues = store.fetch(tracker.conn, ids)
    if args.json:
        print_json([public(i) for i in issues])
    else:
        for issue_id in ids:
            print(f"{done} {issue_id}" if issue_id in changed else f"{issue_id} {skipped}")
    return 0


def cmd_close(args: argparse.Namespace) -> int:
    from shopfloor.tracker import writes
    from shopfloor.tracker.schema import text_arg

    reason = text_arg(args.reason, "reason") or "done"
    return _change_each(
        args,
        lambda t, i: writes.close(t.conn, i, reason, t.actor, t.now()),
        "closed",
        "was already closed",
        "close an issue",
    )


def cmd_reopen(args: argparse.Namespace) -> int:
    from shopfloor.tracker import writes

    return _change_each(
        args,
        lambda t, i: writes.reopen(t.conn, i, t.actor, t.now()),
        "reopened",
        "was not closed (a blocked issue gets another try with `shopfloor retry ID`)",
        "reopen an issue",
    )


def cmd_comment(args: argparse.Namespace) -> int:
    from shopfloor.tracker import writes
    from shopfloor.tracker.schema import text_arg

    tracker = open_tracker(args)
    text = text_arg(args.text, "comment") or ""
    with tracker.write() as conn:
        issue_id = tracker.resolve(args.id)
        comment = writes.add_comment(conn, issue_id, text, tracker.actor, tracker.now())
    if args.json:
        print_json({"issue": issue_id, **comment})
    else:
        print(f"commented on {issue_id} ({comment['id']})")
    return 0


def _labels(args: argparse.Namespace, add: bool) -> int:
    from shopfloor.tracker import store, writes
    from shopfloor.tracker.schema import public

    tracker = open_tracker(args)
    with tracker.write() as conn:
        issue_id = tracker.resolve(args.id)
        change = writes.add_labels if add else writes.remove_labels
        done = change(conn, issue_id, args.labels, tracker.actor, tracker.now())
    issue = store.get(tracker.conn, issue_id)
    if args.json:
        print_json(public(issue))
    else:
        verb = "added" if add else "removed"
        print(f"{issue_id}: {verb} {', '.join(done) if done else 'nothing'}; labels now: {', '.join(issue['labels'])}")
    return 0


def cmd_label_add(args: argparse.Namespace) -> int:
    return _labels(args, add=True)


def cmd_label_remove(args: argparse.Namespace) -> int:
    return _labels(args, add=False)


def cmd_search(args: argparse.Namespace) -> int:
    from shopfloor.tracker import store
    from shopfloor.tracker.schema import public, text_arg

    tracker = open_tracker(args)
    query = text_arg(" ".join(args.query), "query") or ""
    issues = store.search(tracker.conn, query, args.limit)
    if args.json:
        print_json([public(i) for i in issues])
    else:
        from shopfloor import render

        print(render.issue_lines(issues, f"nothing matches {query!r}"))
    return 0


def _issue_fields(p: Any, *, create: bool) -> None:
    p.add_argument("-d", "--description", help="description text, or - to read it from stdin")
    p.add_argument("--design", help="design notes")
    p.add_argument("--acceptance", help="acceptance criteria")
    p.add_argument("--notes", help="working notes")
    p.add_argument("-t", "--type", help="bug, feature, task, epic or chore" + (" (default task)" if create else ""))
    p.add_argument("-p", "--priority", help="0 (most urgent) to 4" + (" (default 2)" if create else ""))
    p.add_argument("--vibe", help="trust level 1-5: lower gets a stricter gate" + (" (default 3)" if create else ""))
    p.add_argument("--assignee", help="who works on it")
    p.add_argument("--defer-until", help="hide from ready until then: 2026-12-01, +3d, ...")
    p.add_argument("--external-ref", help="a link to the same work elsewhere (e.g. gh-123)")


def register(sub: Subcommands, only: str | None) -> None:
    p = command(sub, "create", cmd_create, "create an issue (or many with -f)", only)
    p.add_argument("title", nargs="?", help="one line, 1-500 characters")
    _issue_fields(p, create=True)
    p.add_argument("-l", "--label", action="append", default=[], help="a label (repeatable)")
    p.add_argument("--parent", help="make this a child of ID (its id becomes ID.N)")
    p.add_argument("--deps", help="dependencies: TYPE:ID,... (types: blocks, parent-child, related, discovered-from)")
    p.add_argument(
        "-f",
        "--file",
        help="create every issue in a plan file, all or nothing (- for stdin): markdown with a '## Title' "
        "heading per issue, 'key: value' lines under it (priority, type, labels, deps, vibe, parent, ...), "
        "then the description and '### Acceptance' / '### Design' sections; or JSONL with one issue object "
        "per line. '#N' names the N-th issue of the file; a plan in .agents/plans/ is linked from each issue",
    )
    p.add_argument("--dry-run", action="store_true", help="with -f: check the plan and show its issues; create nothing")

    p = command(sub, "show", cmd_show, "show an issue with its comments and history", only)
    p.add_argument("id")

    p = command(sub, "list", cmd_list, "list issues (open ones by default)", only)
    p.add_argument("-s", "--status", action="append", default=[], help="filter by status (repeatable)")
    p.add_argument("-t", "--type", action="append", default=[], help="filter by type (repeatable)")
    p.add_argument("-p", "--priority", action="append", default=[], help="filter by priority (repeatable)")
    p.add_argument("--assignee", help="filter by assignee")
    p.add_argument("-l", "--label", action="append", default=[], help="must have this label (repeatable)")
    p.add_argument("--all", action="store_true", help="include closed issues")
    p.add_argument("-n", "--limit", type=limit, help="at most N issues")

    p = command(sub, "update", cmd_update, "change issues' fields, or claim one", only)
    p.add_argument("id")
    p.add_argument("more_ids", nargs="*", metavar="ID", help="more issues to change the same way (all or none)")
    p.add_argument("--title", help="new title")
    p.add_argument("-s", "--status", help="open, blocked or deferred (to work on it use --claim; to close it, `close`)")
    _issue_fields(p, create=False)
    p.add_argument("--metadata", help="a JSON object to store with the issue")
    p.add_argument("--claim", action="store_true", help="claim it for the actor (exit 4 if someone else holds it)")
    p.add_argument("--lease", default="30m", help=f"with --claim: how long it holds without a heartbeat {LEASE_HELP}")

    p = command(sub, "close", cmd_close, "close issues", only)
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument("-r", "--reason", default="done", help="why (default: done)")

    p = command(sub, "reopen", cmd_reopen, "reopen closed issues", only)
    p.add_argument("ids", nargs="+", metavar="ID")

    p = command(sub, "comment", cmd_comment, "add a comment to an issue", only)
    p.add_argument("id")
    p.add_argument("text", help="the comment, or - to read it from stdin")

    label = actions(sub, "label", "add or remove labels", only)
    for action, handler in (("add", cmd_label_add), ("remove", cmd_label_remove)):
        p = label.add(action, handler, f"{action} labels")
        p.add_argument("id")
        p.add_argument("labels", nargs="+", metavar="LABEL")

    p = command(
        sub,
        "search",
        cmd_search,
        "full-text search over title, description, design, acceptance and notes; every word must match",
        only,
    )
    p.add_argument("query", nargs="+")
    p.add_argument("-n", "--limit", type=limit, default=50, help="at most N results (default 50)")
