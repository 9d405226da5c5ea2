"""Commands on the tracker as a whole: init, export, import, doctor, merge-driver."""

from __future__ import annotations

import argparse
import sys

from shopfloor.cli.common import open_tracker, print_json
from shopfloor.cli.parsing import Subcommands, command
from shopfloor.errors import ConflictError, ShopfloorError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from shopfloor.tracker.service import Tracker


def cmd_init(args: argparse.Namespace) -> int:
    from shopfloor.tracker import install
    from shopfloor.tracker.service import Tracker

    report = install.init(args.prefix, hooks=args.hooks, force=args.force)
    tracker = Tracker.open(args.actor)
    imported = tracker.notices[:]
    tracker.notices.clear()
    if args.json:
        print_json(
            {
                "prefix": report.prefix,
                "database": report.db_path,
                "actions": report.actions + imported,
                "pre_commit_hook": report.hook,
            }
        )
        return 0
    print(f"shopfloor tracker ready (prefix {report.prefix}, database {report.db_path})")
    for line in report.actions + imported:
        print(f"  {line}")
    if not report.actions:
        print("  already set up; nothing changed")
    if not report.hook:
        print("  (no pre-commit hook exports the tracker before your commits: `shopfloor init --hooks` adds one)")
    if "[[gate.check]]" not in tracker.location.config_path.read_text(encoding="utf-8", errors="replace"):
        print("next: `shopfloor gate init` picks the checks the gate runs (the floor needs one); commit .shopfloor/")
    return 0


def _commit_export(args: argparse.Namespace) -> int:
    """``export --commit``: the floor's tracker commit, by hand, with the retros the floor would
    add (``floor.publish``)."""
    from shopfloor.errors import UsageError
    from shopfloor.floor.publish import TrackerPublisher
    from shopfloor.queue.trackercommit import issues

    if args.output:
        raise UsageError("--commit commits the tracker's own file on the target: drop -o/--output")
    tracker = open_tracker(args)
    outcome = TrackerPublisher().commit_now(tracker, max(0.0, args.wait), lambda line: print(line, file=sys.stderr))
    if outcome.state == "busy":
        raise ConflictError(outcome.detail)
    if outcome.state == "skipped":
        raise ShopfloorError(outcome.detail)
    if args.json:
        shown = {"state": outcome.state, "target": outcome.target, "commit": outcome.commit, "issues": outcome.issues}
        print_json(shown)
    elif outcome.commit:
        print(f"{outcome.detail} as {outcome.commit[:10]} ({issues(outcome.issues)})")
    else:
        print(f"{outcome.detail}: nothing to commit")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from shopfloor.tracker import sync
    from shopfloor.tracker.service import Tracker

    if args.commit:
        return _commit_export(args)
    tracker = Tracker.open(args.actor)
    path = Path(args.output) if args.output else tracker.location.jsonl_path
    same_file = path.resolve() == tracker.location.jsonl_path.resolve()
    if tracker.import_error and same_file and not args.force:
        raise ShopfloorError(
            f"not exporting: {path.name} holds changes the database could not import, which the export would "
            "overwrite; fix the file (see `shopfloor import`) or pass --force to replace it"
        )
    tracker.flush_notices()
    tracker.reclaim_expired()
    count = sync.export_file(tracker.conn, path, tracker.now(), guard=same_file and not args.force)
    if args.json:
        print_json({"path": str(path), "issues": count})
    else:
        from shopfloor.render import issues

        print(f"exported {issues(count)} to {path}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from shopfloor.inputs import IMPORT_LIMIT
    from shopfloor.tracker import sync
    from shopfloor.tracker.service import Tracker

    tracker = Tracker.open(args.actor, auto_import=False)
    path = Path(args.input) if args.input else tracker.location.jsonl_path

    limit = IMPORT_LIMIT if args.input else None  # the tracker's own file is as big as it is
    plan = sync.import_file(tracker.conn, path, tracker.actor, tracker.now(), dry_run=args.dry_run, limit=limit)
    if args.json:
        print_json({"path": str(path), "dry_run": args.dry_run, **plan.as_json()})
        return 0
    verb = "would import" if args.dry_run else "imported"
    print(f"{verb} {path}: {sync.summary(plan)}")
    for line in sync.rename_lines(plan, path):
        print(f"  {line}")
    return 0


def _check(checks: list[dict[str, Any]], name: str, status: str, detail: str, fixed: bool = False) -> None:
    checks.append({"name": name, "status": status, "detail": detail, "fixed": fixed})


def _rebuild(db_path: Path, jsonl_path: Path, actor: str) -> str:
    """Move a corrupt database aside (never deleted) and rebuild it from the committed JSONL."""
    import time
    from pathlib import Path

    from shopfloor.tracker import db, sync, writes
    from shopfloor.tracker.clock import iso
    from shopfloor.tracker.config import read_config

    if not db_path.is_file():
        raise ShopfloorError(f"{db_path} is not a regular file: not touching it; move it away by hand")
    stamp = time.strftime("%Y%m%d%H%M%S")
    moved = db_path.with_name(f"{db_path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        part = Path(str(db_path) + suffix)
        if part.exists():
            part.rename(Path(str(moved) + suffix))
    conn = db.connect(db_path, create=True)
    try:
        prefix = read_config(jsonl_path.parent / "config.toml").prefix
        with db.transaction(conn):
            writes.set_meta(conn, "prefix", prefix)
        count = 0
        if jsonl_path.exists():
            count = len(sync.import_file(conn, jsonl_path, actor, iso(time.time())).new)
    finally:
        conn.close()
    from shopfloor.render import issues

    return f"rebuilt from {jsonl_path.name} ({issues(count)}); the damaged file is kept as {moved.name}"


def _check_database(checks: list[dict[str, Any]], fix: bool, actor: str) -> bool:
    import sqlite3

    from shopfloor.tracker import db
    from shopfloor.tracker.locate import locate

    location = locate()
    corrupt = None
    try:
        conn = db.connect(location.db_path, create=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchall()
            if result != [("ok",)]:
                corrupt = "; ".join(str(r[0]) for r in result[:3])
        except sqlite3.DatabaseError as exc:
            corrupt = str(exc)
        finally:
            conn.close()
    except db.CorruptDatabaseError as exc:
        corrupt = exc.reason
    except ShopfloorError as exc:
        # Not damage: a newer schema, permissions, a directory. Rebuilding would lose data.
        _check(checks, "database", "fail", f"{exc} (doctor --fix does not rebuild a database that is not corrupt)")
        return False
    if corrupt is None:
        _check(checks, "database", "ok", f"{location.db_path}: integrity ok, schema version {db.LATEST}")
        return True
    if fix:
        detail = _rebuild(location.db_path, location.jsonl_path, actor)
        _check(checks, "database", "ok", detail, fixed=True)
        return True
    _check(
        checks, "database", "fail", f"corrupt ({corrupt}): run `shopfloor doctor --fix` to rebuild it from the JSONL"
    )
    return False


def _committed_copies(tracker: Tracker) -> tuple[list[str], list[bytes]]:
    """The revisions whose tracker file counts as committed (HEAD, and the target when it is
    another branch), with each one's content."""
    from shopfloor import git
    from shopfloor.tracker.trackeronly import TRACKER_PATH

    repo = tracker.location.worktree
    revs = ["HEAD"]
    try:
        from shopfloor.gate.gating import resolve_base

        revs.append(resolve_base(repo, None)[0])
    except ShopfloorError:
        pass  # no target yet (no commit): HEAD alone
    names, contents = [], []
    for rev in dict.fromkeys(revs):
        ref = rev if rev == "HEAD" else f"refs/heads/{rev}"  # the target branch, never a tag of its name
        content = git.show_bytes(repo, ref, TRACKER_PATH)
        if content is not None:
            names.append(rev)
            contents.append(content)
    return names, contents


def _check_committed(checks: list[dict[str, Any]], tracker: Tracker) -> None:
    """Warn when the database holds changes that no committed JSONL has."""
    from shopfloor.tracker import jsonl, store
    from shopfloor.tracker.trackeronly import uncommitted

    names, contents = _committed_copies(tracker)
    lines = {i["id"]: jsonl.encode_issue(i) for i in store.all_issues(tracker.conn)}
    missing = uncommitted(lines, contents)
    where = " or ".join(names) or "no commit"
    if not missing:
        _check(checks, "committed", "ok", f"every issue in the database is in the JSONL committed in {where}")
        return
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    _check(
        checks,
        "committed",
        "warn",
        f"{len(missing)} issue(s) have changes in no committed JSONL ({where}): {shown}; fix: "
        "`shopfloor export --commit` (or `shopfloor export` and commit .shopfloor/issues.jsonl)",
    )


def cmd_doctor(args: argparse.Namespace) -> int:
    from shopfloor.tracker import install, jsonl, readiness, store, syncstate
    from shopfloor.tracker.locate import locate
    from shopfloor.tracker.schema import BLOCKING_DEP_TYPES
    from shopfloor.tracker.service import Tracker

    checks: list[dict[str, Any]] = []
    actor = args.actor or "doctor"
    location = locate()
    if not location.config_path.exists() and not location.db_path.exists():
        raise ShopfloorError(f"shopfloor is not set up in {location.worktree}: run `shopfloor init`")
    if _check_database(checks, args.fix, actor):
        tracker = Tracker.open(actor, auto_import=False)
        try:
            jsonl.read(location.jsonl_path)
            state = "warn" if syncstate.needs_import(tracker.conn, location.jsonl_file) else "ok"
            detail = "parses" + ("" if state == "ok" else "; changed since the last import (next command imports it)")
            _check(checks, "jsonl", state, f"{location.jsonl_path}: {detail}")
        except ShopfloorError as exc:
            _check(checks, "jsonl", "fail", str(exc))
        dangling = store.dangling_deps(tracker.conn)
        if dangling:
            listed = ", ".join(f"{a} -> {b}" for a, b in dangling[:5])
            _check(checks, "dependencies", "warn", f"{len(dangling)} point at missing issues: {listed}")
        cycles = readiness.find_cycles(store.dep_graph(tracker.conn, BLOCKING_DEP_TYPES))
        if cycles:
            shown = "; ".join(" -> ".join(c) for c in cycles[:3])
            _check(checks, "cycles", "fail", f"{shown}: remove one edge with `shopfloor dep remove`")
        else:
            _check(checks, "cycles", "ok", "no dependency cycles")
        _check_committed(checks, tracker)
        tracker.close()
    if install.merge_driver_registered(location):
        _check(checks, "merge-driver", "ok", "registered for .shopfloor/issues.jsonl")
    elif args.fix:
        report = install.InitReport(prefix="", db_path="")
        install.register_merge_driver(location, report)
        _check(checks, "merge-driver", "ok", "; ".join(report.actions), fixed=True)
    else:
        _check(checks, "merge-driver", "warn", "not registered (a fresh clone?): run `shopfloor doctor --fix`")
    ok = all(c["status"] != "fail" for c in checks)
    if args.json:
        print_json({"ok": ok, "checks": checks})
    else:
        for c in checks:
            mark = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}[c["status"]]
            print(f"{mark} {c['name']}: {c['detail']}" + (" (fixed)" if c["fixed"] else ""))
    return 0 if ok else 1


def _check_merge_driver_files(args: argparse.Namespace) -> None:
    """git calls ``merge-driver %O %A %B`` with three files; a missing %O means no common
    ancestor, but a missing %A or %B means a wrong driver command line, and merging "nothing"
    into it would write a file git then commits as the merge."""
    from pathlib import Path

    for label, name in (("ours (%A)", args.ours), ("theirs (%B)", args.theirs)):
        if not Path(name).is_file():
            raise ShopfloorError(
                f"merge driver: the {label} file {name} does not exist: git passes existing files; "
                "check `git config merge.shopfloor.driver` (re-run `shopfloor init`)"
            )


def cmd_merge_driver(args: argparse.Namespace) -> int:
    """Called by git as ``merge-driver %O %A %B``: write the merge into %A, exit 0 on success."""
    from pathlib import Path

    from shopfloor.tracker import jsonl
    from shopfloor.tracker.merge import merge_files

    _check_merge_driver_files(args)
    sides = []
    for label, name in (("base", args.base), ("ours", args.ours), ("theirs", args.theirs)):
        path = Path(name)
        try:
            sides.append(jsonl.decode(path.read_bytes(), f"{label} ({name})") if path.exists() else [])
        except ShopfloorError as exc:
            raise ShopfloorError(f"merge driver cannot read {exc}; git leaves the file conflicted") from None
    result = merge_files(*sides)
    jsonl.atomic_write(Path(args.ours), jsonl.encode(result.issues))
    for r in result.renames:
        print(f"shopfloor: id collision: renamed {r.old} -> {r.new} ({r.title})", file=sys.stderr)
    return 0


def register(sub: Subcommands, only: str | None) -> None:
    p = command(sub, "init", cmd_init, "set this repository up for shopfloor", only)
    p.add_argument("--prefix", help="issue id prefix (default: from the repository name)")
    p.add_argument("--hooks", action="store_true", help="install a git pre-commit hook that exports the tracker first")
    p.add_argument("--force", action="store_true", help="with --hooks: replace another pre-commit hook (kept aside)")

    p = command(sub, "export", cmd_export, "write the tracker to .shopfloor/issues.jsonl", only)
    p.add_argument("-o", "--output", help="write here instead")
    p.add_argument("--force", action="store_true", help="overwrite a JSONL file that could not be imported")
    p.add_argument(
        "--commit",
        action="store_true",
        help="commit the export on the target branch instead (as the floor does): no working tree is written",
    )
    p.add_argument(
        "--wait", type=float, default=60.0, help="with --commit: seconds to wait for a queue pass (default 60)"
    )
    p = command(sub, "import", cmd_import, "merge a JSONL file into the database", only)
    p.add_argument("-i", "--input", help="read this file (default .shopfloor/issues.jsonl)")
    p.add_argument("--dry-run", action="store_true", help="report what would change, change nothing")
    p = command(sub, "doctor", cmd_doctor, "check the database, the JSONL and the git setup", only)
    p.add_argument("--fix", action="store_true", help="repair what can be repaired (rebuilds a corrupt database)")
    p = command(sub, "merge-driver", cmd_merge_driver, "git merge driver for issues.jsonl (%%O %%A %%B)", only)
    p.add_argument("base")
    p.add_argument("ours")
    p.add_argument("theirs")
