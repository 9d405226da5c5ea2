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

from shopfloor.errors import NotFoundError, ShopfloorError
from shopfloor.tracker import db, jsonl, store, syncstate, writes
from shopfloor.tracker.collisions import Rename, invert_unique, move, rename_incoming, same_identity
from shopfloor.tracker.db import transaction
from shopfloor.tracker.merge import merge_versions
from shopfloor.tracker.schema import normalise

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
    # Issues whose line in the file is older than the base: their base must not move to it.
    older_in_file: list[str] = field(default_factory=list)
    renames: list[Rename] = field(default_factory=list)  # incoming ids taken by other issues
    adopted: list[Rename] = field(default_factory=list)  # local ids changed to follow the file

    def as_json(self) -> dict[str, object]:
        return {
            "created": sorted(i["id"] for i in self.new),
            "updated": sorted(i["id"] for i in self.updated),
            "unchanged": self.unchanged,
            "kept_local": self.kept_local,
            "renamed": [{"old": r.old, "new": r.new, "title": r.title} for r in self.renames],
            "adopted": [{"old": r.old, "new": r.new, "title": r.title} for r in self.adopted],
        }


def _same(x: Issue, y: Issue) -> bool:
    return jsonl.encode_issue(x) == jsonl.encode_issue(y)


def plan_import(existing: dict[str, Issue], incoming: list[Issue], base: dict[str, Issue] | None = None) -> ImportPlan:
    """Decide, issue by issue, what importing ``incoming`` over ``existing`` does (pure).

    ``base`` holds each issue as the file and the database last agreed on it. With a base,
    an issue changed on both sides is merged field by field with the merge driver's rules,
    so an edit made in the database and not yet exported survives a ``git pull`` that
    changed other fields. Without one, the copy with the newer ``updated_at`` wins.
    """
    renamed, renames = rename_incoming(existing, {i["id"]: i for i in incoming})
    plan = ImportPlan(renames=renames)
    base = base or {}
    for issue_id in sorted(renamed):
        theirs = renamed[issue_id]
        mine = existing.get(issue_id)
        if mine is None:
            plan.new.append(theirs)
            continue
        if _same(mine, theirs):
            plan.unchanged += 1
            continue
        if not same_identity(mine, theirs):
            plan.kept_local += 1
            continue
        common = base.get(issue_id)
        if common is not None and same_identity(common, mine):
            # A file older than the base went back in time (a checkout of an older commit,
            # a reset): it holds nothing new, and merging it would undo later edits.
            older = theirs["updated_at"] < common["updated_at"]
            if older:
                plan.older_in_file.append(issue_id)
            merged = mine if older else merge_versions(common, mine, theirs)
        else:
            merged = theirs if theirs["updated_at"] > mine["updated_at"] else mine
        if _same(merged, mine):
            plan.kept_local += 1
        else:
            plan.updated.append(merged)
    return plan


def plan_adoptions(db_ids: dict[tuple[str, str], str], all_ids: set[str], incoming: list[Issue]) -> list[Rename]:
    """Issues the database holds under another id than the file: a merge renamed them.

    Follow the file, so that every clone converges on the same ids instead of importing the
    renamed issue a second time. Identity is ``(created_at, created_by)``; ``db_ids`` holds
    only identities that name one issue. A move goes into a free id, or one that another
    accepted move frees; the rest are left alone (the import then treats them as collisions).
    """
    counts: dict[tuple[str, str], int] = {}
    for issue in incoming:
        key = (issue["created_at"], issue["created_by"])
        counts[key] = counts.get(key, 0) + 1
    moving = {}
    for issue in incoming:
        key = (issue["created_at"], issue["created_by"])
        local = db_ids.get(key)
        # An identity shared by several issues (older data) proves nothing: leave those alone.
        if local is not None and local != issue["id"] and counts[key] == 1:
            moving[local] = issue
    accepted: dict[str, Issue] = {}
    changed = True
    while changed:
        changed = False
        targets = {issue["id"] for issue in accepted.values()}
        for local, issue in sorted(moving.items()):
            target = issue["id"]
            if local in accepted or target in targets:
                continue
            if target not in all_ids or target in accepted:
                accepted[local] = issue
                targets.add(target)
                changed = True
    return [Rename(local, issue["id"], issue["title"]) for local, issue in sorted(accepted.items())]


def rekey_to_local(
    incoming: list[Issue], db_ids: dict[tuple[str, str], str], identity_of: dict[str, tuple[str, str]]
) -> list[Issue]:
    """An incoming issue whose id belongs to another issue here, but which this database
    already holds under its own id (an earlier import renamed it): merge it into that one
    instead of renaming it yet again."""
    result = {i["id"]: i for i in incoming}
    for issue in incoming:
        key = (issue["created_at"], issue["created_by"])
        local = db_ids.get(key)
        if local is None or local == issue["id"] or local in result:
            continue
        holder = identity_of.get(issue["id"])
        if holder is not None and holder != key:
            move(result, issue["id"], local)
    return list(result.values())


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


def _base_issues(
    conn: sqlite3.Connection, path: Path, existing: dict[str, Issue], incoming: dict[str, Issue]
) -> dict[str, Issue]:
    """Each issue as this file last agreed with the database; failing that, the newest
    version another worktree's file agreed on that is no newer than either side."""
    lines = syncstate.base_lines(conn, str(path))
    others: dict[str, list[str]] | None = None
    base = {}
    for issue_id, mine in existing.items():
        theirs = incoming.get(issue_id)
        if theirs is None:
            continue
        candidates = [lines[issue_id]] if issue_id in lines else []
        if not candidates:
            if others is None:
                others = syncstate.other_base_lines(conn, str(path))
            candidates = others.get(issue_id, [])
        best = None
        for line in candidates:
            try:
                record = normalise(json.loads(line))
            except (ValueError, ShopfloorError):
                continue  # an unreadable base only costs the field-level merge
            if not same_identity(record, mine):
                continue
            if issue_id not in lines and record["updated_at"] > min(mine["updated_at"], theirs["updated_at"]):
                continue
            if best is None or record["updated_at"] > best["updated_at"]:
                best = record
        if best is not None:
            base[issue_id] = best
    return base


def adopt(conn: sqlite3.Connection, renames: list[Rename], actor: str, now: str) -> None:
    """Rename issues in the database (and every reference to them), via temporary ids so
    that swaps work."""
    staged = [(r, f"~adopt{n}~{r.old}") for n, r in enumerate(renames)]
    for step in (0, 1):
        for rename, temp in staged:
            old, new = (rename.old, temp) if step == 0 else (temp, rename.new)
            conn.execute("UPDATE issues SET id = ? WHERE id = ?", (new, old))
            for table in ("labels", "comments", "events"):
                conn.execute(f"UPDATE {table} SET issue = ? WHERE issue = ?", (new, old))
            conn.execute("UPDATE OR IGNORE deps SET issue = ? WHERE issue = ?", (new, old))
            conn.execute("UPDATE OR IGNORE deps SET depends_on = ? WHERE depends_on = ?", (new, old))
    for rename in renames:
        writes.event(conn, rename.new, actor, "renamed", now, "id", rename.old, rename.new)


class _DryRunDone(Exception):
    """Carries a dry run's plan out of its transaction, which the exception rolls back."""

    def __init__(self, plan: ImportPlan) -> None:
        super().__init__("dry run")
        self.plan = plan


def import_file(
    conn: sqlite3.Connection,
    path: Path,
    actor: str,
    now: str,
    *,
    dry_run: bool = False,
    only_if_changed: bool = False,
    limit: int | None = None,
) -> ImportPlan:
    """Import ``path`` all-or-nothing: a bad line raises before anything is written.

    ``limit`` bounds a file a person named (``import -i``).
    ``only_if_changed`` (auto-import) skips the work when the database is already in step
    with this exact content once it holds the write lock.
    """
    try:
        data, info = syncstate.read_with_stat(str(path), limit)
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such file: check the path (`shopfloor export` writes the tracker's)") from None
    except OSError as exc:
        raise jsonl.JsonlError(f"{path}: cannot read ({exc.strerror}): give a readable JSONL file") from None
    incoming = jsonl.decode(data, str(path))
    try:
        with transaction(conn):
            if only_if_changed and syncstate.in_step(conn, str(path), data):
                # Another process imported (or exported) exactly this content while we waited
                # for the write lock: after a pull, many commands start at once.
                return ImportPlan()
            identity_of = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT id, created_at, created_by FROM issues")}
            identities = invert_unique(identity_of)
            adopted = plan_adoptions(identities, set(identity_of), incoming)
            if adopted:
                adopt(conn, adopted, actor, now)
                for rename in adopted:
                    identity_of[rename.new] = identity_of.pop(rename.old)
                identities = invert_unique(identity_of)
            incoming = rekey_to_local(incoming, identities, identity_of)
            ids = [i["id"] for i in incoming]
            existing = {i["id"]: i for i in store.fetch(conn, ids)} if ids else {}
            base = _base_issues(conn, path, existing, {i["id"]: i for i in incoming})
            plan = plan_import(existing, incoming, base)
            plan.adopted = adopted
            if plan.renames:
                # Renamed ids must also avoid every id already in the database.
                taken = {r[0] for r in conn.execute("SELECT id FROM issues")}
                if any(r.new in taken for r in plan.renames):
                    plan = plan_import({i["id"]: i for i in store.all_issues(conn)}, incoming, base)
                    plan.adopted = adopted
            if dry_run:
                # Adoptions above already ran in this transaction: leaving by an exception
                # rolls them back with everything else.
                raise _DryRunDone(plan)
            apply_import(conn, plan, actor, now)
            base_content = syncstate.with_old_lines(data, syncstate.base_lines(conn, str(path)), plan.older_in_file)
            syncstate.remember(conn, str(path), data, info, now, base=base_content)
    except _DryRunDone as done:
        return done.plan
    return plan


def export_file(conn: sqlite3.Connection, path: Path, now: str, *, guard: bool = False) -> int:
    """Write every issue to ``path`` atomically; return how many were written.

    With ``guard`` (the worktree's own file), refuse if the file changed since the database
    last synced with it: e.g. a pull landed while this export waited for the write lock.
    """
    with transaction(conn):
        if guard and syncstate.needs_import(conn, str(path)):
            raise ShopfloorError(
                f"{path.name} changed while exporting (a pull or checkout?): run the command again to import it first"
            )
        issues = store.all_issues(conn)
        data = jsonl.encode(issues)
        info = jsonl.atomic_write(path, data)
        syncstate.remember(conn, str(path), data, info, now)
    return len(issues)


def summary(plan: ImportPlan) -> str:
    parts = [f"{len(plan.new)} new", f"{len(plan.updated)} updated", f"{plan.unchanged} unchanged"]
    if plan.kept_local:
        parts.append(f"{plan.kept_local} kept (database copy newer)")
    if plan.renames:
        parts.append(f"{len(plan.renames)} renamed")
    if plan.adopted:
        parts.append(f"{len(plan.adopted)} re-identified")
    return ", ".join(parts)


def rename_lines(plan: ImportPlan, path: Path) -> list[str]:
    adopted = [
        f"renamed {r.old} -> {r.new} ({json.dumps(r.title, ensure_ascii=False)}): {path} knows it by that id"
        for r in plan.adopted
    ]
    return adopted + [
        f"renamed {r.old} -> {r.new} ({json.dumps(r.title, ensure_ascii=False)}): its id in {path} "
        "collided with a different issue"
        for r in plan.renames
    ]
