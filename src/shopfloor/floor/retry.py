"""``shopfloor retry``: another series of attempts for a blocked, spiralled or failed issue.

A retry adds a row to ``retries`` (``floor.migrations``): the issue's series number goes up by one, so
spiral detection and crash counts judge only the attempts of the new series, while the old
attempts stay in its history (``show``) and in the briefing of the next agent. A person's
``--note`` is recorded as their comment and shown to that agent first. ``--fresh`` starts from
the target: the old ``floor/<id>`` branch is kept as ``floor/<id>-try<N>``, never deleted.

Every id is checked before anything changes (``plan``); the changes follow (``apply``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from shopfloor import git
from shopfloor.agents import registry
from shopfloor.errors import ConflictError, ShopfloorError
from shopfloor.floor import attempts
from shopfloor.paths import main_tree
from shopfloor.queue import branches, entries
from shopfloor.tracker import store, writes
from shopfloor.tracker.service import Tracker
from shopfloor.workers import lifecycle as workers
from shopfloor.workers import records
from shopfloor.workers.liveness import is_running, reconcile, settled
from shopfloor.workspace import worktrees
from shopfloor.workspace.naming import branch_for, safe_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from shopfloor.workers.records import Worker


@dataclass(frozen=True)
class Plan:
    issue: str
    series: int  # the new series
    worker: Worker | None  # a finished worker of the old series, removed first (its branch kept)


def refusal(issue_id: str, status: str, live: str | None, tried: bool, queued: str | None = None) -> str | None:
    """Why ``issue_id`` cannot be retried, or None (pure). ``live`` names a live worker's state,
    ``queued`` an open merge-queue entry of its branch."""
    if status == "closed":
        return f"{issue_id} is closed: `shopfloor reopen {issue_id}` to work on it again"
    if queued is not None:
        return f"{issue_id} waits in the merge queue ({queued}): let it land or fail first (`shopfloor queue list`)"
    if live is not None:
        return (
            f"{issue_id} is {status} with a live worker ({live}): let the floor finish, or stop it with "
            f"`shopfloor worker kill {issue_id}` and retry"
        )
    if status != "blocked" and not tried:
        return (
            f"{issue_id} is {status} with no attempt in its current series to retry: "
            "the floor takes it when it is ready"
        )
    return None


def kept_name(branch: str, old_series: int, taken: set[str]) -> str:
    """The name the old branch is kept under (pure): ``<branch>-try<N>``, never one that exists."""
    name = f"{branch}-try{old_series}"
    n = 1
    while name in taken:
        n += 1
        name = f"{branch}-try{old_series}.{n}"
    return name


def agent_for(conn: sqlite3.Connection, issue_id: str) -> str | None:
    """The agent ``retry --agent`` chose for the issue's current series, if any."""
    row = conn.execute("SELECT agent FROM retries WHERE issue = ? ORDER BY series DESC LIMIT 1", (issue_id,)).fetchone()
    return str(row[0]) if row and row[0] else None


def series_start(conn: sqlite3.Connection, issue_id: str) -> str:
    """When the issue's current series began: its latest retry, or '' (the first series)."""
    row = conn.execute("SELECT MAX(at) FROM retries WHERE issue = ?", (issue_id,)).fetchone()
    return str(row[0]) if row and row[0] else ""


def briefing_note(conn: sqlite3.Connection, issue_id: str) -> str:
    """A person's note for the current series, as the first thing its agent reads ('' if none)."""
    row = conn.execute(
        "SELECT actor, note, series FROM retries WHERE issue = ? ORDER BY series DESC LIMIT 1", (issue_id,)
    ).fetchone()
    if not row or not row[1]:
        return ""
    actor, note, series = row
    return (
        f"A person ({actor}) gave this issue another try (try {series}) after earlier attempts failed, "
        f"and says:\n{note}"
    )


def plan(tracker: Tracker, ids: list[str], agent: str | None) -> list[Plan]:
    """Check every id; raises on the first that cannot be retried (nothing has changed yet)."""
    if agent is not None:
        registry.get(agent)  # an unknown agent is a usage error, before anything changes
    out = []
    for issue_id in dict.fromkeys(tracker.resolve(i) for i in ids):
        issue = store.get(tracker.conn, issue_id)
        worker = records.find(tracker.conn, safe_name(issue_id))
        if worker is not None:
            worker = reconcile(tracker, worker)
        # A finished worker whose shim is still closing down is not live: wait for it (liveness.settled).
        live = worker.state if worker is not None and is_running(worker) and not settled(worker) else None
        tried = worker is not None or bool(attempts.of_series(tracker.conn, issue_id))  # a finished worker
        entry = entries.open_for_branch(tracker.conn, branch_for(issue_id))
        queued = f"entry {entry.id}, {entry.state}" if entry is not None else None
        why = refusal(issue_id, issue["status"], live, tried, queued)
        if why:
            raise ConflictError(why)
        out.append(Plan(issue_id, attempts.current_series(tracker.conn, issue_id) + 1, worker))
    return out


def _keep_branch(tracker: Tracker, issue_id: str, old_series: int) -> str | None:
    """Rename ``floor/<id>`` to ``floor/<id>-try<N>`` (its workspace must be gone); None if absent."""

    root = main_tree(tracker)
    if worktrees.path_for(root, issue_id).exists():
        worktrees.remove(root, issue_id, force=True)  # uncommitted work is saved as a wip: commit
    branch = branch_for(issue_id)
    if not git.is_branch(root, branch):
        return None
    taken = set(git.run(root, "for-each-ref", "--format=%(refname:short)", "refs/heads/").stdout.split())
    kept = kept_name(branch, old_series, taken)
    done = git.run(root, "branch", "-m", branch, kept, check=False)
    if done.returncode != 0:
        raise ShopfloorError(f"could not keep {branch} as {kept}: {done.stderr.strip()}")
    return kept


def apply(
    tracker: Tracker, plans: list[Plan], fresh: bool, agent: str | None, note: str | None
) -> list[dict[str, Any]]:
    """Start each planned issue's new series: remove its finished worker, keep the old branch
    aside with ``fresh``, record the retry and the note, and set it open (ready for the floor)."""

    out = []
    for item in plans:
        if item.worker is not None:
            # The branch is kept (unless it landed as it is); uncommitted work is saved.
            workers.remove(tracker, item.worker, force=True, drop_landed=branches.after_remove)
        kept = _keep_branch(tracker, item.issue, item.series - 1) if fresh else None
        now = tracker.now()
        text = f"Retry: try {item.series}" + (f", from the target (the old branch is kept as {kept})" if kept else "")
        text += f", with the agent {agent}" if agent else ""
        text += f".\n{note}" if note else "."
        with tracker.write() as conn:
            conn.execute(
                "INSERT INTO retries (issue, series, actor, at, fresh, agent, note, kept_branch) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (item.issue, item.series, tracker.actor, now, int(fresh), agent, note, kept),
            )
            writes.add_comment(conn, item.issue, text, tracker.actor, now)
            writes.update(conn, item.issue, {"status": "open"}, tracker.actor, now)
        out.append(
            {
                "id": item.issue,
                "series": item.series,
                "status": "open",
                "fresh": fresh,
                "kept_branch": kept,
                "agent": agent,
                "note": note,
                "removed_worker": item.worker.name if item.worker is not None else None,
            }
        )
    return out


def renew_if_over(tracker: Tracker, issue_id: str) -> int | None:
    """The floor starts a worker for an issue whose current series already has attempts and no
    worker: a person set it back to open (``update -s open``, ``reopen``) after it was blocked or
    spiralled. Those attempts are over: a new series starts, as ``retry`` (no note) would, so
    they are history and never judged again (re-blocking it at once). The new series, or None."""

    if not attempts.of_series(tracker.conn, issue_id):
        return None
    series = attempts.current_series(tracker.conn, issue_id) + 1
    now = tracker.now()
    with tracker.write() as conn:
        conn.execute(
            "INSERT INTO retries (issue, series, actor, at, fresh, agent, note, kept_branch) "
            "VALUES (?, ?, ?, ?, 0, NULL, NULL, NULL)",
            (issue_id, series, tracker.actor, now),
        )
        text = f"Try {series}: the issue was set open again after its earlier attempts; they are history now."
        writes.add_comment(conn, issue_id, text, tracker.actor, now)
    return series
