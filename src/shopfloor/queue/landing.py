"""``queue run``: land queued entries on the target, each landing proven by a gate on the exact tree.

One pass takes up to ``batch`` queued entries, stacks them on the target's tip in the
queue's worktree (an entry that does not apply is a ``conflict``), and lands them with
bisection (``queue.bisect``): a batch that passes the gate moves the target by
compare-and-swap; a target that moved meanwhile sends the batch back to be tested again.
With ``[queue] strategy = "squash"`` (the default, ``queue.config``) each entry is stacked as
one commit (``queue.squash``); once the gate passes, the same trees are recommitted with the
gate run named in their messages, and that chain is what lands.
Every state change is written before the next step, so a queue killed at any moment resumes:
an entry found ``testing`` whose tested commit is already on the target is ``merged``;
otherwise it is queued again. Nothing lands twice and nothing is lost.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopfloor import faults, git
from shopfloor.errors import ConflictError, NotFoundError, ShopfloorError
from shopfloor.gate.floorfiles import is_worker_branch
from shopfloor.gate.gating import APPROVED_LABEL, GateRequest, repo_of, resolve_base
from shopfloor.gate.gating import run as gate_run
from shopfloor.gate.results import GateReport
from shopfloor.gate.trust import trusted_facts
from shopfloor.gate.verdict import APPROVAL_VIBE, blocking_checks, red_base
from shopfloor.paths import floor_root, queue_lock
from shopfloor.progress import Progress, quiet
from shopfloor.queue import branches, entries, prior, squash, stack
from shopfloor.queue import config as queue_config
from shopfloor.queue.bisect import land_batch
from shopfloor.queue.entries import Entry
from shopfloor.queue.hooks import Hooks
from shopfloor.queue.stack import StuckTarget
from shopfloor.tracker import writes
from shopfloor.tracker.service import Tracker
from shopfloor.workspace.naming import branch_for

PAUSE_ENV = "SHOPFLOOR_QUEUE_PAUSE_BEFORE_LAND"  # tests: seconds to wait between the gate and the ref update


class QueueLock:
    """An exclusive lock on the queue: one pass at a time (released when the process dies)."""

    def __init__(self, root: Path, wait_s: float = 0.0) -> None:
        self.path = queue_lock(root)
        self.wait_s = wait_s
        self.handle: Any = None

    def __enter__(self) -> QueueLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = self.path.open("a+")
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self.handle.close()
                    raise ConflictError("another `shopfloor queue run` pass is in progress: wait for it") from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def _refresh_heads(tracker: Tracker, repo: Path, queued: list[Entry], progress: Progress) -> None:
    """A branch that moved since it was queued lands its current tip (recorded), never an old one
    that would leave the new commits out while closing the issue."""
    for entry in queued:
        try:
            now_tip = stack.tip(repo, entry.branch)
        except ShopfloorError:
            entries.update(
                tracker.conn,
                entry.id,
                tracker.now(),
                state="failed",
                detail=f"the branch {entry.branch} no longer exists",
            )
            continue
        if now_tip != entry.head:
            entries.update(
                tracker.conn,
                entry.id,
                tracker.now(),
                head=now_tip,
                detail=f"{entry.branch} moved since it was queued: landing its tip {now_tip[:10]}",
            )
            progress(f"entry {entry.id}: {entry.branch} moved since it was queued; landing its tip")


class RedTarget(ShopfloorError):
    """The target fails the gate by itself: nothing can land until it is fixed."""


@dataclass
class PassReport:
    landed: list[int]
    rejected: list[int]
    conflicts: list[int]
    gate_runs: int
    red_target: bool = False
    retries: int = 0
    stuck: str | None = None
    reused: int = 0  # entries landed on an earlier passing gate run instead of a new one (queue.reuse)

    @property
    def progressed(self) -> bool:
        return bool(self.landed or self.rejected or self.conflicts)


def add(tracker: Tracker, what: str) -> Entry:
    """Queue a branch, or an issue's worker branch (``floor/<id>``)."""
    branch, issue, target, head = plan_entry(tracker, what)
    existing = entries.open_for_branch(tracker.conn, branch)
    if existing is not None:
        raise ConflictError(f"{branch} is already queued as entry {existing.id} ({existing.state})")
    return entries.add(tracker.conn, branch, issue, target, head, tracker.now())


def plan_entry(tracker: Tracker, what: str) -> tuple[str, str | None, str, str]:
    """What queuing ``what`` adds: (branch, issue, target, head), read from git and checked, with
    nothing written (so a caller can write it inside a transaction of its own)."""

    repo = repo_of(tracker)
    issue: str | None = None
    branch = what
    if not git.is_branch(repo, what):
        try:
            issue = tracker.resolve(what)
        except ShopfloorError:
            raise NotFoundError(
                f"{what!r} is neither a branch nor an issue: give a branch name or an issue id"
            ) from None
        branch = branch_for(issue)
        if not git.is_branch(repo, branch):
            raise NotFoundError(f"issue {issue} has no worker branch {branch}: start a worker on it first")
    else:
        issue = _issue_of_branch(tracker, branch)
    head = stack.tip(repo, branch)
    target, _, _ = resolve_base(repo, None)
    if branch == target:
        raise ShopfloorError(f"{branch} is the target itself: queue a branch with work to land on it")
    return branch, issue, target, head


def _issue_of_branch(tracker: Tracker, branch: str) -> str | None:
    owner = git.run(repo_of(tracker), "config", "--get", f"branch.{branch}.shopfloor-issue", check=False)
    return owner.stdout.strip() or None


def recover(tracker: Tracker, hooks: Hooks) -> list[int]:
    """After a crash: an entry left ``testing`` landed (its tested commit is on the target) or is queued again."""
    repo = repo_of(tracker)
    recovered = []
    for entry in entries.list_entries(tracker.conn, ("testing",)):
        target_tip = stack.tip(repo, entry.target)
        if entry.tested and stack.is_ancestor(repo, entry.tested, target_tip):
            _merged(tracker, entry, entry.tested, hooks)
            try:
                keep = branches.keep_configured(repo, target_tip, entry.target)
            except ShopfloorError:
                keep = True  # unreadable settings: keep the branch; the pass that follows says why
            _delete_branch(repo, entry, keep, lambda _: None)
        else:
            entries.update(
                tracker.conn, entry.id, tracker.now(), state="queued", detail="re-queued after an interrupted run"
            )
        recovered.append(entry.id)
    return recovered


def _merged(tracker: Tracker, entry: Entry, sha: str, hooks: Hooks) -> None:
    """The entry is merged, its issue closed with the sha, and the floor's attempt that was
    waiting in the queue marked ``merged`` (``hooks``), in one transaction."""

    now = tracker.now()
    with tracker.write() as conn:
        entries.mark_merged(conn, entry.id, sha, now)
        if entry.issue:
            writes.close(conn, entry.issue, f"merged to {entry.target} as {sha}", tracker.actor, now)
            hooks.merged(conn, entry.issue)


def _delete_branch(repo: Path, entry: Entry, keep: bool, progress: Progress) -> None:
    """A landed floor/<issue> branch goes (``queue.branches``); one that moved since it was queued stays."""
    reason = branches.after_landing(repo, entry, keep)
    if reason and reason.startswith("it moved"):
        progress(f"entry {entry.id}: kept {entry.branch}: {reason}")


def _feedback(tracker: Tracker, entry: Entry, text: str) -> None:
    """The issue goes back to its worker with the reason as a comment."""

    if entry.issue:
        with tracker.write() as conn:
            writes.add_comment(conn, entry.issue, text, tracker.actor, tracker.now())


class _Pass:
    """One attempt at landing ``todo`` on ``target``, stacked on ``onto``."""

    def __init__(
        self,
        tracker: Tracker,
        repo: Path,
        worktree: Path,
        target: str,
        onto: str,
        report: PassReport,
        progress: Progress,
        hooks: Hooks,
        strategy: str = "squash",
        keep_branches: bool = False,
    ) -> None:
        self.tracker, self.repo, self.worktree, self.target = tracker, repo, worktree, target
        self.landed_on = [onto]
        self.report, self.progress, self.hooks = report, progress, hooks
        self.squash = strategy == "squash"
        self.keep_branches = keep_branches
        self.facts: dict[int, squash.Facts] = {}  # per entry: its squashed commit's message and author

    def test(self, part: Sequence[Entry]) -> bool:
        conn, base = self.tracker.conn, self.landed_on[-1]
        stack.reset_to(self.worktree, base)
        tip = base
        for entry in part:
            applied = stack.apply(self.worktree, self.target, entry.head, _landed_before(self.repo, conn, entry))
            if isinstance(applied, stack.Conflict):
                if len(part) == 1:  # it does not apply on what landed just before it
                    _conflict(self.tracker, entry, self.target, base, applied, self.report, self.progress)
                for other in part:
                    if entries.get(conn, other.id).state == "testing":
                        entries.update(conn, other.id, self.tracker.now(), state="queued")
                return False
            if self.squash:  # one commit of the same tree; its final message waits for the gate run's id
                facts = squash.gather(self.tracker, self.worktree, entry.branch, entry.issue, tip, applied, self.hooks)
                self.facts[entry.id] = facts
                applied = stack.squash_head(self.worktree, tip, squash.message(facts, None), facts.author)
            tip = applied
            entries.update(conn, entry.id, self.tracker.now(), state="testing", tested=tip)
        if len(part) == 1 and prior.take(self.tracker, self.repo, part[0], base, tip, self.progress) is not None:
            self.report.reused += 1  # an attempt's passing run of this very tree, base and rules (queue.reuse)
            return True
        self.progress(f"gating {len(part)} entr{'y' if len(part) == 1 else 'ies'} on {self.target} ({tip[:10]}) ...")
        issue = part[0].issue if len(part) == 1 else None
        agent = any(is_worker_branch(entry.branch) for entry in part)  # an agent's work (gate.floorfiles)
        result = gate_run(self.tracker, GateRequest(rev=tip, base=base, issue=issue, agent=agent))
        self.report.gate_runs += 1
        for entry in part:
            entries.update(conn, entry.id, self.tracker.now(), gate_run=result["id"], gate_reused=False)
        passed = bool(result["verdict"] == "pass")
        if not passed and len(part) == 1 and red_base(result):
            self.report.red_target = True
            entries.update(
                conn,
                part[0].id,
                self.tracker.now(),
                state="queued",
                detail=f"not blamed: {self.target} itself fails the same checks",
            )
            raise RedTarget(f"{self.target} ({base[:10]}) fails the gate by itself: fix it first")
        if not passed and len(part) == 1:
            _reject(self.tracker, part[0], result, self.report)
        elif not passed:
            for entry in part:
                entries.update(conn, entry.id, self.tracker.now(), state="queued")
        return passed

    def land(self, part: Sequence[Entry]) -> None:
        gated = entries.get(self.tracker.conn, part[-1].id).tested
        if self.squash:
            self._final_messages(part)
        pause = float(os.environ.get(PAUSE_ENV) or 0)
        if pause:
            time.sleep(pause)
        last = entries.get(self.tracker.conn, part[-1].id)
        assert last.tested is not None
        stack.move_target(self.repo, self.target, last.tested, self.landed_on[-1])
        faults.point("land")
        self.landed_on.append(last.tested)
        for entry in part:
            fresh = entries.get(self.tracker.conn, entry.id)
            _merged(self.tracker, fresh, fresh.tested or last.tested, self.hooks)
            self.report.landed.append(entry.id)
            _delete_branch(self.repo, fresh, self.keep_branches, self.progress)
        same_tree = f" (the tree gated as {gated[:10]})" if gated and gated != last.tested else ""
        what = ", ".join(f"{e.issue or e.branch} (entry {e.id})" for e in part)
        self.progress(f"landed {what} on {self.target} at {last.tested[:10]}{same_tree}")

    def _final_messages(self, part: Sequence[Entry]) -> None:
        """Rebuild the gated commits with the passing gate run named in their messages: the same
        trees on the same chain of parents, so the tip's tree is the one the gate passed. Entries
        point at these commits before the target moves (``recover`` relies on it)."""
        parent, rebuilt = self.landed_on[-1], {}
        for entry in part:
            fresh = entries.get(self.tracker.conn, entry.id)
            assert fresh.tested is not None
            facts = self.facts[entry.id]
            tree = stack.tree_of(self.repo, fresh.tested)
            parent = stack.commit_tree(self.repo, tree, parent, squash.message(facts, fresh.gate_run), facts.author)
            rebuilt[entry.id] = parent
        entries.set_tested(self.tracker.conn, rebuilt, self.tracker.now())


def _approvals(tracker: Tracker, progress: Progress) -> None:
    """Hold entries whose issue needs a person's approval (vibe 1-2) until it has one; queue
    held entries again once approved."""

    for entry in entries.list_entries(tracker.conn, ("queued", "needs-approval")):
        if not entry.issue:
            continue
        vibe, labels = trusted_facts(tracker.conn, entry.issue)
        approved = APPROVED_LABEL in labels
        if entry.state == "queued" and vibe <= APPROVAL_VIBE and not approved:
            entries.update(
                tracker.conn,
                entry.id,
                tracker.now(),
                state="needs-approval",
                detail=f"vibe {vibe}: waits for `shopfloor approve {entry.issue}`",
            )
            progress(f"entry {entry.id} ({entry.branch}) waits for approval")
        elif entry.state == "needs-approval" and approved:
            entries.update(tracker.conn, entry.id, tracker.now(), state="queued", detail="approved")


def run_once(tracker: Tracker, batch: int = 4, progress: Progress = quiet, *, hooks: Hooks) -> PassReport:
    """Land up to ``batch`` queued entries; a target that moves meanwhile means testing again.
    ``hooks`` are the floor's (``queue.hooks``): every landing marks its attempt merged.

    One pass at a time per repository (a lock file beside the queue's worktree): two passes
    would stack in the same worktree and re-queue each other's entries."""
    with QueueLock(floor_root(tracker)):
        return _run_once(tracker, batch, progress, hooks)


def _run_once(tracker: Tracker, batch: int, progress: Progress, hooks: Hooks) -> PassReport:
    recover(tracker, hooks)
    _approvals(tracker, progress)
    queued = entries.list_entries(tracker.conn, ("queued",))[:batch]
    report = PassReport([], [], [], 0)
    if not queued:
        return report
    repo = repo_of(tracker)
    target = queued[0].target
    ids = {e.id for e in queued if e.target == target}
    _refresh_heads(tracker, repo, [e for e in queued if e.id in ids], progress)
    for _attempt in range(5):
        todo = [e for e in entries.list_entries(tracker.conn, ("queued",)) if e.id in ids]
        onto = stack.tip(repo, target)
        settings = queue_config.load(repo, onto, target)  # the target's rules, like the gate's
        worktree = stack.queue_worktree(repo, floor_root(tracker), onto)
        todo = _drop_conflicts(tracker, worktree, target, onto, todo, report, progress)
        if not todo:
            return report
        attempt = _Pass(
            tracker, repo, worktree, target, onto, report, progress, hooks, settings.strategy, settings.keep_branches
        )
        try:
            land_batch(todo, attempt.test, attempt.land)
            _publish(tracker, target, attempt.landed_on[-1], attempt.landed_on[0])
            return report
        except RedTarget as red:
            progress(str(red))
            return report
        except StuckTarget as stuck:
            progress(str(stuck))
            report.stuck = str(stuck)
            for entry in todo:
                if entries.get(tracker.conn, entry.id).state == "testing":
                    entries.update(tracker.conn, entry.id, tracker.now(), state="queued", detail=str(stuck))
            return report
        except ConflictError as moved:
            progress(str(moved))
            report.retries += 1
            for entry in todo:
                if entries.get(tracker.conn, entry.id).state == "testing":
                    entries.update(tracker.conn, entry.id, tracker.now(), state="queued")
    return report


def _publish(tracker: Tracker, target: str, new: str, old: str) -> None:
    """The seam for publishing a landing: pushing the target to a remote, or opening a pull
    request instead of landing locally. Neither is built yet; landing is local only."""
    return None


def _drop_conflicts(
    tracker: Tracker,
    worktree: Path,
    target: str,
    onto: str,
    todo: list[Entry],
    report: PassReport,
    progress: Progress,
) -> list[Entry]:
    """Entries that do not apply on the target on their own are conflicts, sent back to their workers."""
    keep = []
    for entry in todo:
        stack.reset_to(worktree, onto)
        applied = stack.apply(worktree, target, entry.head, _landed_before(repo_of(tracker), tracker.conn, entry))
        if isinstance(applied, stack.Conflict):
            _conflict(tracker, entry, target, onto, applied, report, progress)
        else:
            keep.append(entry)
    return keep


def _landed_before(repo: Path, conn: sqlite3.Connection, entry: Entry) -> list[str]:
    """Earlier heads of the entry's branch that landed squashed: their commits are not replayed."""
    return [old for old in entries.landed_heads(conn, entry.branch) if stack.is_ancestor(repo, old, entry.head)]


def _conflict(
    tracker: Tracker,
    entry: Entry,
    target: str,
    onto: str,
    found: stack.Conflict,
    report: PassReport,
    progress: Progress,
) -> None:
    files = ", ".join(found.files)
    entries.update(tracker.conn, entry.id, tracker.now(), state="conflict", detail=f"conflicts in {files}")
    _feedback(
        tracker,
        entry,
        f"merge queue: {entry.branch} does not rebase onto {target} ({onto[:10]}): conflicts in "
        f"{files}. Rebase it, resolve them, and queue it again.",
    )
    report.conflicts.append(entry.id)
    progress(f"entry {entry.id} ({entry.branch}): conflict in {files}")


def _reject(tracker: Tracker, entry: Entry, result: GateReport, report: PassReport) -> None:
    verdict = result["verdict"]
    state = "needs-approval" if verdict == "needs-approval" else "failed"
    summary = "; ".join(f"{c['name']}: {c['status']}" for c in blocking_checks(result))
    entries.update(tracker.conn, entry.id, tracker.now(), state=state, detail=f"gate run {result['id']}: {summary}")
    _feedback(
        tracker,
        entry,
        f"merge queue: the gate says {verdict} for {entry.branch} (run {result['id']}): "
        f"{summary}. See `shopfloor gate show {result['id']}`.",
    )
    report.rejected.append(entry.id)
