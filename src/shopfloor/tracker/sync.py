"""Moving issues between the database and the committed JSONL.

Export writes the whole tracker as canonical JSONL, atomically. Import merges a JSONL file
into the database in one transaction: new issues are added, an issue that differs takes the
side with the newer ``updated_at``, identical ones are skipped, and an id that names a
different issue is renamed and reported. The database remembers the hash of what it last
imported or exported for each file (``syncstate``), so commands re-import automatically
after a ``git pull`` or checkout changed the file, and never otherwise.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from shopfloor.tracker import db, jsonl, store, syncstate, writes
from shopfloor.tracker.collisions import Rename, rename_incoming, same_identity
from shopfloor.tracker.db import transaction

TYPE_CHECKING = False
if TYPE_CHECKING:
    from shopfloor.tracker.schema import Issue


@dataclass
class ImportPlan:
    """What an import will do; computed without touching the database."""

    new: list[Issue] = field(default_factory=list)
    updated: list[Issue] = field(default_factory=list)
    unchanged: int = 0
    kept_local: int = 0  # the database copy is newer
    renames: list[Rename] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "created": sorted(i["id"] for i in self.new),
            "updated": sorted(i["id"] for i in self.updated),
            "unchanged": self.unchanged,
            "kept_local": self.kept_local,
            "renamed": [{"old": r.old, "new": r.new, "title": r.title} for r in self.renames],
        }


def _same(x: Issue, y: Issue) -> bool:
    return jsonl.encode_issue(x) == jsonl.encode_issue(y)


def plan_import(existing: dict[str, Issue], incoming: list[Issue]) -> ImportPlan:
    """Decide, issue by issue, what importing ``incoming`` over ``existing`` does (pure)."""
    renamed, renames = rename_incoming(existing, {i["id"]: i for i in incoming})
    plan = ImportPlan(renames=renames)
    for issue_id in sorted(renamed):
        theirs = renamed[issue_id]
        mine = existing.get(issue_id)
        if mine is None:
            plan.new.append(theirs)
        elif _same(mine, theirs):
            plan.unchanged += 1
        elif same_identity(mine, theirs) and theirs["updated_at"] > mine["updated_at"]:
            plan.updated.append(theirs)
        else:
            plan.kept_local += 1
    return plan


BULK_IMPORT = 1000  # from this many changed issues on, rebuild the search index once at the end


def apply_import(conn: sqlite3.Connection, plan: ImportPlan, actor: str, now: str) -> None:
    if len(plan.new) + len(plan.updated) >= BULK_IMPORT:
        with db.fts_suspended(conn):
            _apply(conn, plan, actor, now)
    else:
        _apply(conn, plan, actor, now)


def _apply(conn: sqlite3.Connection, plan: ImportPlan, actor: str, now: str) -> None:
    for issue in plan.new:
        writes.insert_issue(conn, issue)
        writes.event(conn, issue["id"], actor, "imported", now, new=issue["title"])
    for issue in plan.updated:
        writes.replace_issue(conn, issue)
        writes.event(conn, issue["id"], actor, "imported", now, "updated_at", None, issue["updated_at"])
    for rename in plan.renames:
        writes.event(conn, rename.new, actor, "renamed", now, "id", rename.old, rename.new)


def import_file(conn: sqlite3.Connection, path: Path, actor: str, now: str, *, dry_run: bool = False) -> ImportPlan:
    """Import ``path`` all-or-nothing: a bad line raises before anything is written."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise jsonl.JsonlError(f"{path}: no such file; `shopfloor export` creates it") from None
    incoming = jsonl.decode(data, str(path))
    with transaction(conn):
        ids = [i["id"] for i in incoming]
        existing = {i["id"]: i for i in store.fetch(conn, ids)} if ids else {}
        plan = plan_import(existing, incoming)
        if plan.renames:
            # Renamed ids must also avoid every id already in the database.
            taken = {r[0] for r in conn.execute("SELECT id FROM issues")}
            if any(r.new in taken for r in plan.renames):
                plan = plan_import({i["id"]: i for i in store.all_issues(conn)}, incoming)
        if dry_run:
            conn.execute("ROLLBACK")
            conn.execute("BEGIN IMMEDIATE")
            return plan
        apply_import(conn, plan, actor, now)
        syncstate.remember(conn, str(path), data, now)
    return plan


def export_file(conn: sqlite3.Connection, path: Path, now: str) -> int:
    """Write every issue to ``path`` atomically; return how many were written."""
    with transaction(conn):
        issues = store.all_issues(conn)
        data = jsonl.encode(issues)
        jsonl.atomic_write(path, data)
        syncstate.remember(conn, str(path), data, now)
    return len(issues)


def summary(plan: ImportPlan) -> str:
    parts = [f"{len(plan.new)} new", f"{len(plan.updated)} updated", f"{plan.unchanged} unchanged"]
    if plan.kept_local:
        parts.append(f"{plan.kept_local} kept (database copy newer)")
    if plan.renames:
        parts.append(f"{len(plan.renames)} renamed")
    return ", ".join(parts)


def rename_lines(plan: ImportPlan, path: Path) -> list[str]:
    return [
        f"renamed {r.old} -> {r.new} ({json.dumps(r.title, ensure_ascii=False)}): its id in {path} "
        "collided with a different issue"
        for r in plan.renames
    ]
