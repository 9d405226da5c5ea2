"""``shopfloor queue``: add, list, run and remove merge-queue entries."""

from __future__ import annotations

import argparse
import sys
import time

from shopfloor.cli.common import open_tracker, print_json
from shopfloor.cli.parsing import Subcommands, actions, limit, no_sandbox
from shopfloor.errors import ConflictError


def cmd_queue_add(args: argparse.Namespace) -> int:
    from shopfloor.queue.landing import add

    tracker = open_tracker(args)
    entry = add(tracker, args.what)
    if args.json:
        print_json(entry.as_json())
    else:
        issue = f" (issue {entry.issue})" if entry.issue else ""
        print(f"queued {entry.branch}{issue} as entry {entry.id}, to land on {entry.target}")
    return 0


def cmd_queue_list(args: argparse.Namespace) -> int:
    from shopfloor.queue import entries

    tracker = open_tracker(args)
    unlanded = tuple(state for state in entries.State if state != entries.State.MERGED)
    rows = entries.list_entries(tracker.conn, None if args.all else unlanded)
    if args.json:
        print_json([e.as_json() for e in rows])
        return 0
    if not rows:
        print("the queue is empty: `shopfloor queue add BRANCH|ISSUE`")
    for e in rows:
        sha = (e.merged or e.tested or e.head)[:10]
        detail = f"  {e.detail}" if e.detail else ""
        print(f"{e.id:>4}  {e.state:<14} {e.branch:<24} {e.issue or '-':<10} {sha}{detail}")
    return 0


def cmd_queue_remove(args: argparse.Namespace) -> int:
    from shopfloor.paths import floor_root
    from shopfloor.queue import entries
    from shopfloor.queue.landing import QueueLock

    tracker = open_tracker(args)
    entries.get(tracker.conn, args.entry)  # not found: exit 3 before waiting for anything
    with QueueLock(floor_root(tracker), wait_s=120):  # never while a pass is stacking or landing it
        entry = entries.get(tracker.conn, args.entry)
        if entry.state == "testing":
            raise ConflictError(f"entry {entry.id} is being tested: wait for the queue pass to finish")
        entries.delete(tracker.conn, entry.id)
    if args.json:
        print_json({"id": entry.id, "removed": True})
    else:
        print(f"removed entry {entry.id} ({entry.branch})")
    return 0


def cmd_queue_run(args: argparse.Namespace) -> int:
    from shopfloor.floor.attempts import QUEUE_HOOKS
    from shopfloor.queue import entries
    from shopfloor.queue.landing import run_once

    tracker = open_tracker(args)

    def progress(line: str) -> None:
        if not args.json:
            print(f"  ... {line}", file=sys.stderr, flush=True)

    landed: list[int] = []
    rejected: list[int] = []
    conflicts: list[int] = []
    gate_runs = retries = reused = 0
    while True:
        report = run_once(tracker, args.batch, progress, hooks=QUEUE_HOOKS)
        landed += report.landed
        rejected += report.rejected
        conflicts += report.conflicts
        gate_runs += report.gate_runs
        retries += report.retries
        reused += report.reused
        waiting = entries.list_entries(tracker.conn, ("queued",))
        if args.once or (args.until_empty and (not waiting or not report.progressed)):
            break  # --until-empty also stops when a pass could not move anything (a red target)
        if not waiting or not report.progressed:
            time.sleep(args.poll)
    if args.json:
        print_json(
            {
                "landed": landed,
                "rejected": rejected,
                "conflicts": conflicts,
                "gate_runs": gate_runs,
                "reused": reused,
                "retries": retries,
            }
        )
    else:
        # reused: entries that landed on their attempt's passing gate run (queue.reuse), not a new one
        again = f", {reused} landed on an earlier passing gate run" if reused else ""
        print(
            f"landed {len(landed)}, rejected {len(rejected)}, conflicts {len(conflicts)}, in {gate_runs} gate run(s)"
            + again
        )
    return 0


def register(sub: Subcommands, only: str | None) -> None:
    queue = actions(sub, "queue", "the merge queue: finished work lands on the target only through it", only)
    p = queue.add("add", cmd_queue_add, "queue a branch, or an issue's worker branch")
    p.add_argument("what", metavar="BRANCH|ISSUE")
    p = queue.add("list", cmd_queue_list, "list queue entries (open ones; --all for every one)")
    p.add_argument("--all", action="store_true", help="include merged entries")
    p = queue.add("run", cmd_queue_run, "land queued entries: rebase, gate the exact tree, fast-forward")
    no_sandbox(p, "the gate's checks")
    p.add_argument("--once", action="store_true", help="one pass, then stop")
    p.add_argument("--until-empty", action="store_true", help="stop when nothing is queued")
    p.add_argument("--batch", type=limit, default=4, help="entries tested together (default 4; 1: one at a time)")
    p.add_argument("--poll", type=float, default=5.0, help="seconds between looks at an empty queue (default 5)")
    p = queue.add("remove", cmd_queue_remove, "remove an entry that is not being tested")
    p.add_argument("entry", type=limit, metavar="ID")
