"""Landed ``floor/<issue>`` branches leave the main repository, unless ``[queue] keep_branches = true``.

After the queue lands an entry, its worker branch has nothing left to give: its work is on the
target (squashed or cherry-picked). Only branches the floor made (``floor/...``) go; a person's
own branch queued by name stays. A branch is deleted only while it still points at the head the
queue landed: one that moved since (an agent committed after it was queued) holds work that did
not land, and stays. The deletion is git's compare-and-delete (``update-ref -d REF OLD``), so a
fetch that moves the branch at the same moment wins and nothing is lost.

Removing a landed worker brings its branch back from its workspace first (``worktrees.remove``
keeps every commit); ``after_remove`` deletes it again when it is still exactly what landed.

``keep_reason`` is the pure decision; the rest is git.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from shopfloor import git
from shopfloor.errors import ShopfloorError
from shopfloor.queue import config as queue_config
from shopfloor.queue import entries
from shopfloor.queue.entries import Entry, State

PREFIX = "floor/"


def keep_reason(branch: str, landed: str, tip: str | None, keep: bool, checked_out: set[str]) -> str | None:
    """Why ``branch`` stays after its head ``landed`` landed (None: delete it)."""
    if keep:
        return "[queue] keep_branches = true"
    if not branch.startswith(PREFIX):
        return "not a floor branch"
    if tip is None:
        return "already gone"
    if tip != landed:
        return f"it moved since it was queued (now {tip[:10]}, landed {landed[:10]})"
    if branch in checked_out:
        return "it is checked out in a worktree"
    return None


def keep_configured(repo: Path, at: str, target: str) -> bool:
    """``[queue] keep_branches`` as committed on the target at ``at`` (like every queue setting)."""
    return queue_config.load(repo, at, target).keep_branches


def _tip(repo: Path, branch: str) -> str | None:
    return git.sha(repo, git.branch_ref(branch))


def _checked_out(repo: Path) -> set[str]:
    return set(git.checked_out(repo))


def delete_landed(repo: Path, branch: str, landed: str, keep: bool) -> str | None:
    """Delete ``branch`` if it still points at ``landed``; returns why it was kept (None: deleted)."""
    if not keep and not branch.startswith(PREFIX):
        return "not a floor branch"
    reason = keep_reason(branch, landed, _tip(repo, branch), keep, _checked_out(repo) if not keep else set())
    if reason is None:
        done = git.run(repo, "update-ref", "-d", git.branch_ref(branch), landed, check=False)
        if done.returncode != 0:
            return "it moved while it was being deleted"
    return reason


def after_remove(conn: sqlite3.Connection, repo: Path, branch: str) -> str | None:
    """After a worker's removal brought ``branch`` back: delete it again if its latest queue entry
    landed exactly its tip. Returns why it stays (None: deleted); never raises."""
    latest = entries.latest_of_branch(conn, branch)
    if latest is None or latest.state != State.MERGED:
        return "it did not land"
    try:
        target_tip = git.resolve_branch(repo, latest.target, "target")[0]
        keep = keep_configured(repo, target_tip, latest.target)
    except ShopfloorError as exc:
        return f"cannot read the queue settings ({exc})"
    return delete_landed(repo, branch, latest.head, keep)


def after_landing(repo: Path, entry: Entry, keep: bool) -> str | None:
    return delete_landed(repo, entry.branch, entry.head, keep)
