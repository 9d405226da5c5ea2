"""``shopfloor logs ID``: what an issue's agents did and said, live or archived."""

from __future__ import annotations

import argparse
import sys
import time

from shopfloor.cli.common import open_tracker, print_json
from shopfloor.cli.parsing import Subcommands, command, limit
from shopfloor.errors import NotFoundError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from shopfloor.tracker.service import Tracker


def cmd_logs(args: argparse.Namespace) -> int:
    from shopfloor.floor import settings
    from shopfloor.workers import logview

    tracker = open_tracker(args)
    issue_id = tracker.resolve(args.id)  # an unknown id: one line, exit 3
    logview.prune(tracker, settings.load(tracker.location.config_path).keep_logs_days)
    runs = logview.runs_of(tracker, issue_id)
    if not runs:
        raise NotFoundError(f"no agent logs for {issue_id}: no worker has run on it (or its logs were pruned)")
    numbered = list(enumerate(runs, start=1))
    if args.attempt is not None:
        if args.attempt > len(runs):
            raise NotFoundError(f"{issue_id} has {len(runs)} logged attempt(s): pick --attempt 1..{len(runs)}")
        numbered = [numbered[args.attempt - 1]]
    if args.json:
        print_json([logview.as_json(n, run) for n, run in numbered])
        return 0
    for n, run in numbered:
        print(logview.header(n, run))
        print("\n".join(logview.lines_of(run)) or "(nothing logged)", flush=True)
    if args.follow:
        return _follow(tracker, issue_id)
    return 0


def _follow(tracker: Tracker, issue_id: str) -> int:
    """Follow the live worker's pane.log from its end until the worker ends."""
    from pathlib import Path

    from shopfloor.workers import records
    from shopfloor.workers.liveness import reconcile
    from shopfloor.workers.progress import printable
    from shopfloor.workers.records import FINAL_STATES
    from shopfloor.workspace.naming import safe_name

    worker = records.find(tracker.conn, safe_name(issue_id))
    if worker is None:
        print(f"({issue_id} has no live worker: nothing to follow)", file=sys.stderr)
        return 0
    log = Path(worker.log_dir) / "pane.log"
    try:
        position = log.stat().st_size
    except OSError:
        position = 0
    ended = False
    while True:
        try:
            with log.open("rb") as source:
                source.seek(position)
                chunk = source.read()
        except FileNotFoundError:
            chunk = b""
        position += len(chunk)
        if chunk:
            sys.stdout.write(printable(chunk.decode("utf-8", "replace")))
            sys.stdout.flush()
            continue
        if ended:
            return 0  # the last lines, written as it ended, are out
        current = records.find(tracker.conn, worker.name)
        # Removed (its logs are in the archive now), or ended: one more read, then stop.
        ended = current is None or reconcile(tracker, current).state in FINAL_STATES
        if not ended:
            time.sleep(0.2)


def register(sub: Subcommands, only: str | None) -> None:
    p = command(sub, "logs", cmd_logs, "what an issue's agents did and said: each attempt's logs", only)
    p.add_argument("id", metavar="ID", help="the issue")
    p.add_argument("--attempt", type=limit, metavar="N", help="only attempt N (1 is the first)")
    p.add_argument("--follow", action="store_true", help="then follow the live worker's progress until it ends")
