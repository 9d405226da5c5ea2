"""Commands about what to work on: ready, blocked, heartbeat, stats, prime."""

from __future__ import annotations

import argparse

from shopfloor.cli.common import open_tracker, print_json
from shopfloor.cli.parsing import LEASE_HELP, Subcommands, command, limit


def cmd_ready(args: argparse.Namespace) -> int:
    from shopfloor.tracker import store
    from shopfloor.tracker.clock import parse_duration
    from shopfloor.tracker.schema import public

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
        from shopfloor import render

        print(render.issue_lines(issues, "nothing is ready"))
    return 0


def cmd_blocked(args: argparse.Namespace) -> int:
    from shopfloor.tracker import store

    tracker = open_tracker(args)
    from shopfloor.floor.reasons import blocked_output

    shown, text = blocked_output(tracker.conn, store.blocked(tracker.conn))
    if args.json:
        print_json(shown)
        return 0
    print(text)
    return 0


def cmd_heartbeat(args: argparse.Namespace) -> int:
    from shopfloor.tracker.clock import parse_duration
    from shopfloor.tracker.schema import public

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
    from shopfloor.tracker import store
    from shopfloor.tracker.schema import PRIORITIES, STATUSES, TYPES

    tracker = open_tracker(args)
    conn = tracker.conn
    by: dict[str, dict[str, int]] = {}
    for column, keys in (("status", STATUSES), ("type", TYPES), ("priority", PRIORITIES)):
        counts = store.counts_by(conn, column)
        by[column] = {str(k): int(counts.get(k, 0)) for k in keys}
    from shopfloor.tracker.clock import epoch

    lead_hours = [(epoch(closed) - epoch(created)) / 3600 for created, closed in store.closed_spans(conn)]
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
    from shopfloor.render import issues

    print(f"{issues(len(nodes))}: {result['ready']} ready, {result['blocked']} blocked")
    print("  status   " + "  ".join(f"{k} {v}" for k, v in by["status"].items()))
    print("  type     " + "  ".join(f"{k} {v}" for k, v in by["type"].items()))
    print("  priority " + "  ".join(f"P{k} {v}" for k, v in by["priority"].items()))
    if median is not None:
        print(f"  median lead time (created -> closed): {median:.1f} h")
    return 0


def cmd_prime(args: argparse.Namespace) -> int:
    from shopfloor.instructions import WORKER, for_reader

    text = for_reader(args.worker)
    if args.json:
        print_json({"form": "worker" if text == WORKER else "person", "instructions": text})
    else:
        print(text, end="")
    return 0


def register(sub: Subcommands, only: str | None) -> None:
    p = command(sub, "ready", cmd_ready, "list issues ready to work on (no open blockers)", only)
    p.add_argument("-n", "--limit", type=limit, default=20, help="at most N issues (default 20)")
    p.add_argument(
        "--claim", action="store_true", help="claim the top ready issue atomically and print it (JSON: null if none)"
    )
    p.add_argument("--lease", default="30m", help=f"with --claim: the lease length {LEASE_HELP}")

    command(sub, "blocked", cmd_blocked, "list blocked issues and what blocks them", only)

    p = command(sub, "heartbeat", cmd_heartbeat, "renew the lease on a claimed issue", only)
    p.add_argument("id")
    p.add_argument("--lease", default="30m", help=f"new lease length from now {LEASE_HELP}")

    command(sub, "stats", cmd_stats, "counts by status, type and priority", only)

    p = command(sub, "prime", cmd_prime, "print the instructions an agent needs to use the tracker", only)
    p.add_argument(
        "--worker", action="store_true", help="the worker's form, as the floor's agents get it (default in a worker)"
    )
