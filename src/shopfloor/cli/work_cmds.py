"""Commands about what to work on: ready, blocked, heartbeat, stats, prime."""

from __future__ import annotations

import argparse

from shopfloor.cli.common import open_tracker, print_json
from shopfloor.tracker import store
from shopfloor.tracker.clock import parse_duration
from shopfloor.tracker.schema import PRIORITIES, STATUSES, TYPES, public


def cmd_ready(args: argparse.Namespace) -> int:
    lease_s = parse_duration(args.lease, "lease") if args.claim else 0.0
    tracker = open_tracker(args)
    if args.claim:
        from shopfloor.tracker import writes

        with tracker.write() as conn:
            now = tracker.now()
            writes.reclaim_expired(conn, now)
            claimed = writes.claim_next(conn, tracker.actor, now, tracker.lease_until(lease_s))
        if args.json:
            print_json(None if claimed is None else public(claimed))
        elif claimed is None:
            print("nothing is ready")
        else:
            print(f"claimed {claimed['id']} for {tracker.actor}: {claimed['title']}")
        return 0
    issues = store.ready(tracker.conn, tracker.now(), args.limit)
    if args.json:
        print_json([public(i) for i in issues])
    else:
        from shopfloor.cli import render

        print(render.issue_lines(issues, "nothing is ready"))
    return 0


def cmd_blocked(args: argparse.Namespace) -> int:
    tracker = open_tracker(args)
    from shopfloor.floor.reasons import blocked_output

    shown, text = blocked_output(tracker.conn, store.blocked(tracker.conn))
    if args.json:
        print_json(shown)
        return 0
    print(text)
    return 0


def cmd_heartbeat(args: argparse.Namespace) -> int:
    lease_s = parse_duration(args.lease, "lease")
    tracker = open_tracker(args)
    from shopfloor.tracker import writes

    with tracker.write() as conn:
        issue_id = tracker.resolve(args.id)
        issue = writes.heartbeat(conn, issue_id, tracker.actor, tracker.now(), tracker.lease_until(lease_s))
    if args.json:
        print_json(public(issue))
    else:
        print(f"{issue_id}: lease renewed until {issue['lease_until']}")
    return 0


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def cmd_stats(args: argparse.Namespace) -> int:
    tracker = open_tracker(args)
    conn = tracker.conn
    by: dict[str, dict[str, int]] = {}
    for column, keys in (("status", STATUSES), ("type", TYPES), ("priority", PRIORITIES)):
        counts = dict(conn.execute(f"SELECT {column}, count(*) FROM issues GROUP BY {column}").fetchall())
        by[column] = {str(k): int(counts.get(k, 0)) for k in keys}
    from datetime import datetime

    lead_hours = [
        (datetime.fromisoformat(closed[:-1]) - datetime.fromisoformat(created[:-1])).total_seconds() / 3600
        for created, closed in conn.execute("SELECT created_at, closed_at FROM issues WHERE closed_at IS NOT NULL")
    ]
    median = _median(lead_hours)
    from shopfloor.tracker import readiness

    nodes, edges = store.snapshot(conn)
    result = {
        "total": len(nodes),
        "ready": len(readiness.ready_ids(nodes, edges, tracker.now())),
        "blocked": len(readiness.blockers_by_issue({i: n.status for i, n in nodes.items()}, edges)),
        "by_status": by["status"],
        "by_type": by["type"],
        "by_priority": by["priority"],
        "median_lead_time_hours": None if median is None else round(median, 2),
    }
    if args.json:
        print_json(result)
        return 0
    print(f"{result['total']} issues: {result['ready']} ready, {result['blocked']} blocked")
    print("  status   " + "  ".join(f"{k} {v}" for k, v in by["status"].items()))
    print("  type     " + "  ".join(f"{k} {v}" for k, v in by["type"].items()))
    print("  priority " + "  ".join(f"P{k} {v}" for k, v in by["priority"].items()))
    if median is not None:
        print(f"  median lead time (created -> closed): {median:.1f} h")
    return 0


PRIME = """\
# Working with the shopfloor tracker

This repository tracks its work with `shopfloor`. The tracker is the only place work state
lives: what is ready, who holds what, what was tried, what is done. Use it, not memory.
Add `--json` to any command for machine-readable output.

## When you start
- `shopfloor ready --json`: issues with no open blockers, most urgent first.
- `shopfloor ready --claim --json`: claim the top one atomically (prints `null` if none).
- `shopfloor show ID`: read the whole issue (description, acceptance, comments, history)
  before changing anything. Earlier attempts and their failures are in the comments.

## While you work
- Claimed issues carry a 30-minute lease. Renew it with `shopfloor heartbeat ID` on long
  work; an expired lease returns the issue to ready for someone else.
- Record what you learn: `shopfloor comment ID "what I tried, what happened"`.
- Found more work? `shopfloor create "title" -d "..." --deps discovered-from:ID`.
  Something must happen first? `shopfloor dep add ID OTHER` (ID depends on OTHER).
- Stuck on something outside your issue? `shopfloor update ID --status blocked` (this ends
  your claim) and comment why.

## When you finish
- Commit your work on your branch.
- Working under the floor (`$SHOPFLOOR_ISSUE` is set): run `shopfloor done --summary "what
  was done"` and end your turn. The floor gates your branch; the merge queue lands it and
  closes the issue. Agents cannot close or reopen issues (exit code 4).
- Working without the floor: say it is ready for review with `shopfloor comment ID "..."`.
  Only a person (`shopfloor close ID --reason ...`) or the merge queue closes an issue.
- Do not edit or commit `.shopfloor/issues.jsonl`: the tracker reaches git by itself (the
  floor commits it on the target branch; a person runs `shopfloor export --commit`).

## Inside a worker
- `shopfloor` reaches the tracker through your worker's channel and acts as `worker/<name>`,
  whatever `--actor` says. You may read issues, comment on your own issue, create issues
  (linked discovered-from yours), set your own issue to blocked, and say done. The rest
  (approve, labels, vibe, claiming, closing, other issues, queue, gate) is refused (exit 4).

## Rules
- Claim before you work; never work on an issue someone else holds (exit code 4 says so).
- One issue at a time. An issue is done when its acceptance criteria are met and it lands.
- Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 conflict (claimed, cycle).
"""


def cmd_prime(args: argparse.Namespace) -> int:
    if args.json:
        print_json({"instructions": PRIME})
    else:
        print(PRIME, end="")
    return 0
