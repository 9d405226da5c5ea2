"""The memory: ``learn search``, ``learn show`` and ``learn stats`` (package ``learn``)."""

from __future__ import annotations

import argparse

from shopfloor.cli.common import open_tracker, print_json
from shopfloor.cli.parsing import Subcommands, actions, limit

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

    from shopfloor.tracker.locate import Location


def _refreshed(args: argparse.Namespace) -> sqlite3.Connection:
    """The tracker's database with the memory's index brought up to date: the main worktree's
    ``.agents/`` notes (by stamp) and the floor's attempts (once each is final)."""
    from shopfloor.floor import knowledge
    from shopfloor.learn import files, index

    tracker = open_tracker(args)
    conn = tracker.conn
    main = _main_worktree(tracker.location)
    index.refresh_files(conn, files.stamps(main), lambda origin: files.read(main, origin), files.FILE)
    current, read = knowledge.sources(conn)
    index.refresh_files(conn, current, read, knowledge.ATTEMPT)
    return conn


def _main_worktree(location: Location) -> Path:
    """The repository's main worktree, whose notes are the committed ones (a linked worktree
    shares its git directory, ``<main>/.git``)."""
    from pathlib import Path

    common = Path(location.common_dir)
    return common.parent if common.name == ".git" else location.worktree


def cmd_search(args: argparse.Namespace) -> int:
    from shopfloor.learn import docs, index

    docs.match_query(args.words)  # bad input first, before anything is read
    hits = index.search(_refreshed(args), args.words, args.limit)
    if args.json:
        print_json(hits)
        return 0
    if not hits:
        print("nothing found")
    for hit in hits:
        print(f"{hit['id']}  [{hit['kind']}] {hit['title']}  ({hit['place']})")
        print(f"    {hit['snippet']}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from shopfloor.learn import docs, index

    docs.kind_of(args.id)
    found = index.show(_refreshed(args), args.id)
    if args.json:
        print_json(found)
        return 0
    print(f"{found['id']}  [{found['kind']}] {found['title']}  ({found['place']})\n")
    print(found["text"].rstrip("\n"))
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
