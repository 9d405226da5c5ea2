"""The memory: ``learn search``, ``learn show`` and ``learn stats`` (package ``learn``)."""

from __future__ import annotations

import argparse

from shopfloor.cli.common import open_tracker, print_json
from shopfloor.cli.parsing import Subcommands, actions, limit

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3


def _refreshed(args: argparse.Namespace) -> sqlite3.Connection:
    """The tracker's database with the memory's index brought up to date (``floor.learnings``)."""
    from shopfloor.floor import learnings

    tracker = open_tracker(args)
    learnings.refresh(tracker)
    return tracker.conn


def cmd_search(args: argparse.Namespace) -> int:
    from shopfloor.learn import docs, index

    docs.match_query(args.words)  # bad input first, before anything is read
    hits = index.search(_refreshed(args), args.words, args.limit)
    if args.json:
        print_json(hits)
        return 0
    from shopfloor.floor import learnings

    print(learnings.search_text(hits))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from shopfloor.learn import docs, index

    docs.kind_of(args.id)
    found = index.show(_refreshed(args), args.id)
    if args.json:
        print_json(found)
        return 0
    from shopfloor.floor import learnings

    print(learnings.show_text(found))
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from shopfloor.learn import index

    counts = index.stats(_refreshed(args))
    if args.json:
        print_json(counts)
        return 0
    by_kind = "  ".join(f"{kind} {n}" for kind, n in counts["by_kind"].items())
    print(f"{counts['documents']} learning(s), {counts['characters']} characters: {by_kind}")
    return 0


def register(sub: Subcommands, only: str | None) -> None:
    learn = actions(sub, "learn", "search what earlier work left: .agents/ notes, handoff notes, gate failures", only)
    p = learn.add("search", cmd_search, "the best matches for any of WORDS, best first (SQLite FTS5, bm25)")
    p.add_argument("words", nargs="+", metavar="WORDS", help="plain words (never query syntax)")
    p.add_argument("-n", "--limit", type=limit, default=10, help="at most N hits (default 10)")
    p = learn.add("show", cmd_show, "the full text of one learning, by its id (retro:ID, research:PATH, ...)")
    p.add_argument("id", metavar="ID")
    learn.add("stats", cmd_stats, "how many learnings the memory holds, by kind")
