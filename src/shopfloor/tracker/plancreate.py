"""Issues from a plan file's drafts (``planfile``): all or nothing, or a trial that keeps nothing.

``create_all`` writes every draft, then every dependency, in the caller's transaction, so one bad
draft leaves nothing behind. ``trial`` does the same in a transaction it rolls back: the same
checks as a real ``create -f`` (every value, every ``#N``, every id a dependency names), with
nothing written, which is what ``create -f --dry-run`` and ``shopfloor plan`` show.

A plan kept in the repository's ``.agents/plans/`` is linked from every issue it creates: the
issue's ``metadata.plan`` holds the plan's path relative to the repository root.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopfloor.errors import ConflictError, ShopfloorError
from shopfloor.tracker import planfile, store, writes
from shopfloor.tracker.schema import BLOCKING_DEP_TYPES
from shopfloor.tracker.service import Tracker

TYPE_CHECKING = False
if TYPE_CHECKING:
    from shopfloor.tracker.schema import Issue

PLANS_DIR = ".agents/plans"
PLAN_KEY = "plan"  # the metadata key that links an issue to its plan


def plan_link(path: str, worktree: Path) -> str | None:
    """``.agents/plans/<name>`` when ``path`` is a file in the repository's plans directory
    (symlinks resolved, so a link cannot name something else), else None."""
    plans = (worktree / PLANS_DIR).resolve()
    try:
        real = Path(path).resolve()
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(plans) or real == plans:
        return None
    return f"{PLANS_DIR}/{real.relative_to(plans).as_posix()}"


def linked_plans(conn: sqlite3.Connection) -> set[str]:
    """Every plan some issue was created from (``.agents/plans/<name>``), whether its file is still there or not."""
    rows = conn.execute(
        "SELECT DISTINCT json_extract(metadata, '$.plan') FROM issues WHERE json_valid(metadata) "
        "AND json_type(metadata, '$.plan') = 'text'"
    ).fetchall()
    return {row[0] for row in rows}


def refuse_repeat(conn: sqlite3.Connection, link: str | None) -> None:
    """A plan makes its issues once: a second ``create -f`` of it would duplicate every one."""
    if link is None:
        return
    rows = conn.execute(
        "SELECT id FROM issues WHERE json_valid(metadata) AND json_extract(metadata, '$.plan') = ? "
        "ORDER BY created_at, id",
        (link,),
    ).fetchall()
    if rows:
        ids = [row[0] for row in rows]
        shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
        raise ConflictError(
            f"{len(ids)} issue(s) were already created from {link} ({shown}): nothing created; "
            "to make a second set on purpose, copy the plan to a new name first"
        )


def located(exc: ShopfloorError, where: str) -> ShopfloorError:
    """The same error (same exit code), prefixed once with the plan file's ``file:line``."""
    message = str(exc)
    if message.startswith(f"{where}: "):
        return exc
    error = ShopfloorError(f"{where}: {message}")
    error.exit_code = exc.exit_code
    return error


def _fields(draft: planfile.Draft, link: str | None) -> dict[str, Any]:
    fields = {k: (writes.defer_value(v) if k == "defer_until" else v) for k, v in draft.fields.items()}
    if link is not None:
        metadata = fields.get("metadata")
        fields["metadata"] = {**(metadata if isinstance(metadata, dict) else {}), PLAN_KEY: link}
    return fields


def create_all(tracker: Tracker, drafts: list[planfile.Draft], link: str | None = None) -> list[str]:
    """Create every draft, then every dependency; call inside ``tracker.write()``."""
    conn, now = tracker.conn, tracker.now()
    created: list[str] = []
    for draft in drafts:
        try:
            parent = tracker.resolve(planfile.local_ref(draft.parent, created)) if draft.parent else None
            created.append(
                writes.create(
                    conn,
                    prefix=tracker.prefix,
                    actor=tracker.actor,
                    now=now,
                    fields=_fields(draft, link),
                    labels=draft.labels,
                    parent=parent,
                )
            )
        except ShopfloorError as exc:
            raise located(exc, draft.where) from None
    for issue_id, draft in zip(created, drafts, strict=True):
        try:
            for dep_type, target in draft.deps:
                target_id = tracker.resolve(planfile.local_ref(target, created))
                writes.add_dep(conn, issue_id, target_id, dep_type, tracker.actor, now)
        except ShopfloorError as exc:
            raise located(exc, draft.where) from None
    return created


class _Undo(Exception):
    """Raised inside the trial's transaction so that it rolls back."""


@dataclass(frozen=True)
class Proposed:
    """One issue a plan would create, as the tracker would store it; ids are the plan's ``#N``."""

    number: int
    issue: Issue
    after: tuple[str, ...]  # what it depends on: ``#N`` for the plan's own issues, else the id; a
    # dependency that does not block (related, discovered-from) says its type: ``#3 (related)``
    where: str


def trial(tracker: Tracker, drafts: list[planfile.Draft], link: str | None = None) -> list[Proposed]:
    """What ``create_all`` would create, checked exactly as it checks, with nothing kept."""
    if tracker.conn.in_transaction:
        raise ShopfloorError("a plan's trial cannot run inside another transaction")  # it would undo that one too
    found: list[Proposed] = []
    try:
        with tracker.write():
            created = create_all(tracker, drafts, link)
            number = {issue_id: f"#{n}" for n, issue_id in enumerate(created, start=1)}
            for n, (issue, draft) in enumerate(zip(store.fetch(tracker.conn, created), drafts, strict=True), start=1):
                after = tuple(
                    number.get(d["id"], d["id"]) + ("" if d["type"] in BLOCKING_DEP_TYPES else f" ({d['type']})")
                    for d in issue["dependencies"]
                )
                found.append(Proposed(n, issue, after, draft.where))
            raise _Undo
    except _Undo:
        pass
    return found


def proposed_lines(proposed: list[Proposed]) -> list[str]:
    """One line per proposed issue: ``#2  P1 feature Write the API  [web]  after #1``."""
    width = len(f"#{len(proposed)}")
    lines = []
    for p in proposed:
        issue = p.issue
        labels = f"  [{', '.join(issue['labels'])}]" if issue["labels"] else ""
        after = f"  after {', '.join(p.after)}" if p.after else ""
        lines.append(
            f"{f'#{p.number}':<{width}}  P{issue['priority']} {issue['type']:<7} {issue['title']}{labels}{after}"
        )
    return lines


def proposed_json(proposed: list[Proposed]) -> list[dict[str, Any]]:
    """The proposed issues as JSON: the fields a plan sets, ``#N`` for ids."""
    return [
        {
            "number": p.number,
            "title": p.issue["title"],
            "type": p.issue["type"],
            "priority": p.issue["priority"],
            "vibe": p.issue["vibe"],
            "labels": p.issue["labels"],
            "description": p.issue["description"],
            "acceptance": p.issue["acceptance"],
            "design": p.issue["design"],
            "after": list(p.after),
            "where": p.where,
        }
        for p in proposed
    ]
