"""``compact``: old closed issues' long text replaced by a summary pointing to git history (``floor.compaction``)."""

from __future__ import annotations

import argparse

from shopfloor.cli.common import open_tracker, print_json
from shopfloor.cli.parsing import Subcommands, command

SHOWN = 20  # issues listed one per line; the rest are counted


def _target(repo: str, wanted: str | None) -> str:
    from shopfloor import git
    from shopfloor.errors import NotFoundError

    if wanted:
        git.resolve_branch(repo, wanted, "--target")
        return wanted
    try:
        git.resolve_branch(repo, "main", "target")
        return "main"
    except NotFoundError:
        return git.default_branch(repo)


def cmd_compact(args: argparse.Namespace) -> int:
    import time

    from shopfloor.actors import is_agent
    from shopfloor.errors import ConflictError
    from shopfloor.floor import compaction
    from shopfloor.render import issues
    from shopfloor.tracker import db
    from shopfloor.tracker.clock import iso, parse_duration

    age_s = parse_duration(args.older_than, "--older-than")  # bad input first, nothing read
    tracker = open_tracker(args)
    if is_agent(tracker.actor):
        raise ConflictError(f"{tracker.actor} is an agent and may not compact issues: only a person does that")
    repo = tracker.location.worktree
    target = _target(str(repo), args.target)
    cutoff = iso(time.time() - age_s)
    now = tracker.now()
    planned = compaction.plan(tracker.conn, repo, repo, target, cutoff, tracker.actor, now)
    done = [c.issue for c in planned.changes]
    if not args.dry_run and planned.changes:
        with tracker.write() as conn:
            done = compaction.apply(conn, planned.changes, tracker.actor, now)
    if args.vacuum and not args.dry_run:
        db.vacuum(tracker.conn)
    changes = [c for c in planned.changes if c.issue in set(done)]
    if args.json:
        print_json(
            {
                "dry_run": args.dry_run,
                "cutoff": cutoff,
                "target": target,
                "compacted": [
                    dict(id=c.issue, characters=c.characters, commit=c.commit, retro=c.retro, summary=c.summary)
                    for c in changes
                ],
                "not_in_history": planned.not_in_history,
            }
        )
        return 0
    verb = "would compact" if args.dry_run else "compacted"
    for c in changes[:SHOWN]:
        source = "retro" if c.retro else "stub"
        print(f"{verb} {c.issue} ({c.characters:,} characters, {source}; full text in {c.commit[:12]})")
    if len(changes) > SHOWN:
        print(f"... and {len(changes) - SHOWN} more")
    total = sum(c.characters for c in changes)
    print(f"{verb} {issues(len(changes))} closed before {cutoff[:10]} ({total:,} characters of long text)")
    if planned.not_in_history:
        print(
            f"skipped {issues(len(planned.not_in_history))}: their text is in no commit on {target} yet "
            "(commit the tracker first: `shopfloor export --commit`)"
        )
    if changes and not args.dry_run:
        print("the JSONL keeps the old text until the next export (`shopfloor export`, or `export --commit`)")
    return 0


def register(sub: Subcommands, only: str | None) -> None:
    p = command(
        sub,
        "compact",
        cmd_compact,
        "replace old closed issues' long text by a summary that says where git history keeps it (a person's)",
        only,
    )
    p.add_argument("--older-than", default="30d", metavar="AGE", help="closed longer ago than AGE (default 30d)")
    p.add_argument("--target", metavar="BRANCH", help="the branch whose history holds the text (default main)")
    p.add_argument("--dry-run", action="store_true", help="show what would change; change nothing")
    p.add_argument(
        "--vacuum",
        action="store_true",
        help="then optimize the search index and VACUUM: the file shrinks (not without it)",
    )
