"""Dependency commands: dep add, remove, tree, cycles."""

from __future__ import annotations

import argparse

from shopfloor.cli.common import open_tracker, print_json
from shopfloor.cli.parsing import Subcommands, actions


def cmd_dep_add(args: argparse.Namespace) -> int:
    from shopfloor.tracker import store, writes
    from shopfloor.tracker.schema import public

    tracker = open_tracker(args)
    with tracker.write() as conn:
        issue_id, target = tracker.resolve(args.issue), tracker.resolve(args.depends_on)
        added = writes.add_dep(conn, issue_id, target, args.type, tracker.actor, tracker.now())
    if args.json:
        print_json(public(store.get(tracker.conn, issue_id)))
    else:
        print(f"{issue_id} depends on {target} ({args.type})" + ("" if added else " (already)"))
    return 0


def cmd_dep_remove(args: argparse.Namespace) -> int:
    from shopfloor.tracker import store, writes
    from shopfloor.tracker.schema import public

    tracker = open_tracker(args)
    with tracker.write() as conn:
        issue_id, target = tracker.resolve(args.issue), tracker.resolve(args.depends_on)
        writes.remove_dep(conn, issue_id, target, args.type, tracker.actor, tracker.now())
    if args.json:
        print_json(public(store.get(tracker.conn, issue_id)))
    else:
        print(f"{issue_id} no longer depends on {target}")
    return 0


def cmd_dep_tree(args: argparse.Namespace) -> int:
    from shopfloor.tracker import store

    tracker = open_tracker(args)
    found = store.dep_tree(tracker.conn, tracker.resolve(args.id), args.up, set(), None)
    if args.json:
        print_json(found)
    else:
        from shopfloor import render

        print("\n".join(render.tree_lines(found)))
    return 0


def cmd_dep_cycles(args: argparse.Namespace) -> int:
    from shopfloor.tracker import readiness, store
    from shopfloor.tracker.schema import BLOCKING_DEP_TYPES

    tracker = open_tracker(args)
    cycles = readiness.find_cycles(store.dep_graph(tracker.conn, BLOCKING_DEP_TYPES))
    if args.json:
        print_json(cycles)
    elif not cycles:
        print("no dependency cycles")
    else:
        for cycle in cycles:
            print(" -> ".join(cycle))
    return 4 if cycles else 0


def register(sub: Subcommands, only: str | None) -> None:
    dep = actions(sub, "dep", "manage dependencies", only)
    p = dep.add("add", cmd_dep_add, "ISSUE depends on DEPENDS_ON")
    p.add_argument("issue")
    p.add_argument("depends_on")
    p.add_argument("--type", default="blocks", help="blocks (default), parent-child, related, discovered-from")
    p = dep.add("remove", cmd_dep_remove, "remove a dependency")
    p.add_argument("issue")
    p.add_argument("depends_on")
    p.add_argument("--type", help="only this dependency type")
    p = dep.add("tree", cmd_dep_tree, "show what an issue depends on, as a tree")
    p.add_argument("id")
    p.add_argument("--up", action="store_true", help="show what depends on it instead")
    dep.add("cycles", cmd_dep_cycles, "list dependency cycles")
