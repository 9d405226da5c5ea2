"""Workers of closed issues leave the floor; the floor says whether their work landed.

Only a close by the merge queue is "merged": an issue closed by anyone else keeps its branch's
unlanded commits, and the floor says so.
"""

from __future__ import annotations

from collections.abc import Callable

from shopfloor.errors import ShopfloorError
from shopfloor.floor import notes
from shopfloor.gate.gating import repo_of, resolve_base
from shopfloor.queue import branches, entries
from shopfloor.tracker import history, store
from shopfloor.tracker.issuetype import Issue
from shopfloor.tracker.service import Tracker
from shopfloor.workers import lifecycle as workers
from shopfloor.workers.records import Worker
from shopfloor.workspace.worktrees import unmerged_commits


def _issue(tracker: Tracker, issue_id: str) -> Issue:
    return store.get(tracker.conn, issue_id)


def _closed_by_queue(tracker: Tracker, worker: Worker, issue: Issue) -> bool:
    """The issue was closed by the merge queue landing its worker's branch (its close reason
    names the commit of a merged queue entry of that branch), not by anyone else."""

    reason = issue["close_reason"] or ""
    return any(
        e.state == "merged" and reason == f"merged to {e.target} as {e.merged}"
        for e in entries.of_branch(tracker.conn, worker.branch)
    )


def _closer(tracker: Tracker, issue_id: str) -> str:
    return history.last_actor(tracker.conn, issue_id, "closed") or "someone"


def cleanup(
    tracker: Tracker,
    all_workers: list[Worker],
    progress: Callable[[str], None],
    hold: Callable[[Worker], bool] | None = None,
) -> None:
    """Workers of closed issues go (one still running is stopped: a closed issue is no work for
    the floor); nothing unsaved is ever dropped (removal keeps the branch and saves uncommitted
    work as a wip: commit). Only a close by the merge queue is "merged": an issue closed by anyone
    else keeps its branch's unlanded commits, and the floor says so. A worker ``hold`` keeps
    (its session's lessons turn, ``floor.lessonturn``) goes at a later turn."""
    for worker in all_workers:
        issue = _issue(tracker, worker.issue)
        if issue.get("status") != "closed":
            continue
        if hold is not None and hold(worker):
            continue
        try:
            workers.remove(tracker, worker, force=True, drop_landed=branches.after_remove)
        except ShopfloorError as exc:
            progress(f"{worker.issue}: could not remove its worker ({exc})")
            continue
        if _closed_by_queue(tracker, worker, issue):
            progress(f"{worker.issue}: merged; its worker is removed")
            continue

        repo = repo_of(tracker)
        try:
            unlanded = unmerged_commits(repo, worker.branch, resolve_base(repo, None)[0])
        except ShopfloorError:
            unlanded = 1  # cannot tell: say it is kept (it is)
        progress(notes.closed_without_queue(worker.issue, _closer(tracker, worker.issue), worker.branch, unlanded))
