"""A person's review of an issue's change, sent back to the *same* agent session (issue 16).

The dashboard's issue page and ``shopfloor review`` both call this module:

- ``change(tracker, issue)``: the change of the issue's latest attempt (its worker branch
  against the target), file by file (``floor.reviews.FileDiff``: hunks of lines with both
  sides' numbers; a comment's line is the new side's, the old side's on a deleted file).
  ``floor.highlight.highlight_lines`` renders a file's lines to HTML.
- ``comments_from_form(items)``: a review from a form's ``(name, value)`` pairs: every
  ``comment`` value is ``FILE:LINE:TEXT`` (as ``--comment``), ``note`` is the overall note.
  ``floor.reviews.from_json`` reads the JSON form (``--from-file``). Both raise
  ``ValidationError`` (a ``ShopfloorError``; its message is the one line to show).
- ``send_review(tracker, issue, review)``: checks the review against the diff and the issue's
  worker, records it (table ``reviews``, ``floor.migrations``) and resumes the worker's session
  with the review as its follow-up prompt. When a floor runs (``shopfloor run`` holds the
  floor's lock), the review is left pending and the floor's next turn resumes it
  (``floor.decide``: ``Do.RESUME`` with ``Prompt.REVIEW``); otherwise it is resumed here, as
  ``worker restart`` would. Either way the next attempt records the review as its input
  (``attempts.input == "review"``), its answer is gated like any attempt, and ``metrics``
  counts it. A refusal (``ShopfloorError``) changes nothing.
- ``of_issue(conn, issue)``: the issue's reviews, oldest first, for its attempt timeline.

A change waiting for approval (vibe 1-2) leaves the merge queue when its review is sent (and a
person's earlier approval is withdrawn): the answer is gated, and waits for approval again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopfloor import git
from shopfloor.agents import registry
from shopfloor.errors import ConflictError, NotFoundError
from shopfloor.floor import attempts, lock, reviews
from shopfloor.floor.migrations import migrations
from shopfloor.floor.outcomes import Outcome
from shopfloor.floor.reviews import FileDiff, Review
from shopfloor.floor.startpool import begin_attempt
from shopfloor.gate.diffs import parse_name_status
from shopfloor.gate.gating import APPROVED_LABEL, resolve_base
from shopfloor.paths import main_tree, state_dir
from shopfloor.queue import entries
from shopfloor.tracker import store, writes
from shopfloor.tracker.rows import Rows
from shopfloor.tracker.service import Tracker
from shopfloor.workers import lifecycle, records
from shopfloor.workers.liveness import is_running, reconcile, settled
from shopfloor.workers.records import Worker
from shopfloor.workers.spec import read
from shopfloor.workspace.naming import branch_for, safe_name

__all__ = ["Change", "Sent", "change", "comments_from_form", "of_issue", "send_review"]

INPUT = "review"  # ``attempts.input`` of an attempt that began with a review
MAX_FILE_LINES = 200_000  # a file longer than this is not read to count its lines


@dataclass
class Stored:
    id: int
    issue: str
    worker: str
    attempt: int | None  # the attempt whose change was reviewed
    head: str  # the commit reviewed
    actor: str
    at: str
    comments: str  # JSON list of {"path", "line", "text"}
    note: str | None
    prompt: str  # what the session is (or was) sent
    answered_by: int | None = None  # the attempt that began with it
    sent_at: str | None = None

    def as_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["comments"] = json.loads(self.comments)
        return out


ROWS = Rows(Stored, "reviews", owner=migrations)


@dataclass(frozen=True)
class Change:
    issue: str
    branch: str
    target: str
    base: str  # the merge base the diff starts from
    head: str
    files: dict[str, FileDiff]

    def as_json(self) -> dict[str, Any]:
        return {
            "issue": self.issue,
            "branch": self.branch,
            "target": self.target,
            "base": self.base,
            "head": self.head,
            "files": [f.as_json() for f in self.files.values()],
        }


@dataclass(frozen=True)
class Sent:
    review: int
    issue: str
    worker: str
    session_id: str | None
    resumed: bool  # resumed now; False: pending, the running floor resumes it on its next turn
    summary: str
    prompt: str

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


# --- the change -------------------------------------------------------------------------------


def change(tracker: Tracker, issue_id: str) -> Change:
    """The issue's change as its latest attempt left it: its branch against the target it would
    land on (its queue entry's, else the configured one), from their merge base."""
    repo = main_tree(tracker)
    branch = branch_for(issue_id)
    if not git.is_branch(repo, branch):
        raise NotFoundError(f"{issue_id} has no branch {branch}: no attempt has made a change to review")
    entry = entries.latest_of_branch(tracker.conn, branch)
    target = entry.target if entry is not None and entry.state != entries.State.MERGED else resolve_base(repo, None)[0]
    head = git.resolve_branch(repo, branch, "branch")[0]
    base = git.merge_base(repo, target, head)
    flags = ("-c", "core.quotePath=false", "diff", "--no-color", "--no-ext-diff", "--no-textconv", "-M")
    status = git.run(repo, *flags, "--name-status", "-z", base, head, "--").stdout
    numstat = git.run(repo, *flags, "--numstat", "-z", base, head, "--").stdout
    patch = git.run(repo, *flags, "-U3", base, head, "--").stdout
    statuses = parse_name_status(status)
    return Change(issue_id, branch, target, base, head, reviews.parse_patch(patch, statuses, _binaries(numstat)))


def _binaries(numstat: str) -> set[str]:
    """The paths ``--numstat -z`` counts no lines of ("-\t-\t"): binary files."""
    out, parts, i = set(), numstat.split("\0"), 0
    while i < len(parts) and parts[i]:
        fields = parts[i].split("\t")
        if len(fields) == 3 and fields[2]:  # a plain path
            if fields[0] == "-":
                out.add(fields[2])
            i += 1
        else:  # a rename: "added\tremoved\t", then the old path, then the new
            if fields[0] == "-" and i + 2 < len(parts):
                out.add(parts[i + 2])
            i += 3
    return out


def _lengths(repo: Path, found: Change, paths: Iterable[str]) -> dict[str, int]:
    """How many lines each file has on the side a comment reads (the new side; the old one for
    a deleted file)."""
    out = {}
    for path in paths:
        diff = found.files.get(path)
        if diff is None or diff.binary:
            continue
        old = diff.status == "D"
        data = git.show_bytes(repo, found.base if old else found.head, (diff.old_path or path) if old else path)
        out[path] = 0 if data is None else min(len(data.splitlines()), MAX_FILE_LINES)
    return out


def _quoted(repo: Path, found: Change, review: Review) -> dict[tuple[str, int], str]:
    """The code line each comment is on: from the diff, else from the file itself."""
    out: dict[tuple[str, int], str] = {}
    texts: dict[str, list[bytes]] = {}
    for c in review.comments:
        diff = found.files[c.path]
        shown = diff.line(c.line)
        if shown is None:
            if c.path not in texts:
                texts[c.path] = (git.show_bytes(repo, found.head, c.path) or b"").splitlines()
            lines = texts[c.path]
            shown = lines[c.line - 1].decode("utf-8", "replace") if c.line <= len(lines) else None
        if shown is not None:
            out[(c.path, c.line)] = shown
    return out


# --- reading and recording reviews ------------------------------------------------------------


def comments_from_form(items: Iterable[tuple[str, str]]) -> Review:
    """A review from a form's fields: each ``comment`` is ``FILE:LINE:TEXT``, ``note`` the note."""
    pairs = list(items)
    notes = [v for k, v in pairs if k == "note" and v.strip()]
    return reviews.review([reviews.parse_comment(v) for k, v in pairs if k == "comment"], "\n\n".join(notes) or None)


def of_issue(conn: sqlite3.Connection, issue: str) -> list[Stored]:
    return ROWS.select(conn, "issue = ?", (issue,), order="id")


def pending(conn: sqlite3.Connection, issue: str) -> Stored | None:
    """The issue's review that waits to be sent to its session, if any."""
    return ROWS.first(conn, "issue = ? AND sent_at IS NULL", (issue,))


def refusal(
    issue_id: str, status: str, worker: Worker | None, live: bool, resumable: str | None, queue: str | None
) -> str | None:
    """Why a review of ``issue_id`` cannot be sent to its session, or None (pure). ``resumable``:
    why its session cannot be continued, if it cannot; ``queue``: its open queue entry's state."""
    if status == "closed":
        return f"{issue_id} is closed: there is no session left to review"
    if worker is None:
        return f"{issue_id} has no worker, so there is no agent session to send a review to"
    if live:
        return f"{issue_id}'s agent is still working ({worker.state}): review its change once its turn has ended"
    if queue in entries.OPEN_STATES:
        return f"{issue_id}'s change is being landed by the merge queue ({queue}): it is too late for a review"
    return resumable


def _resumable(tracker: Tracker, worker: Worker) -> str | None:
    """Why the worker's session cannot be resumed with a prompt, or None."""
    adapter = registry.get(worker.agent)
    if not worker.session_id:
        return f"{worker.name}'s agent saved no session to resume: a review needs the same session"
    try:
        spec = read(Path(worker.log_dir) / "spec.json")
        opts = lifecycle.agent_options(tracker, adapter, spec.env, Path(worker.log_dir))
    except (OSError, ValueError) as exc:
        return f"{worker.name} has no launch spec to resume its session from ({exc})"
    if adapter.resume_argv("agent", worker.session_id, "review", opts) is None:
        return f"the {worker.agent} agent cannot resume a session, so it cannot be sent a review"
    if not lifecycle.can_resume(worker):
        return f"{worker.name}'s session {worker.session_id} is gone (its transcript is missing): it cannot be resumed"
    return None


def send_review(tracker: Tracker, issue: str, review: Review, terminal: str | None = None) -> Sent:
    """Check ``review`` against the change and the issue's worker, record it, and resume the
    worker's session with it (or leave it to the running floor). Raises, changing nothing, when
    the issue has no session to resume or a comment is not on the change."""
    issue_id = tracker.resolve(issue)
    status = store.get(tracker.conn, issue_id)["status"]
    worker = records.find(tracker.conn, safe_name(issue_id))
    worker = reconcile(tracker, worker) if worker is not None else None
    live = worker is not None and is_running(worker) and not settled(worker, 0.5)
    entry = entries.open_for_branch(tracker.conn, branch_for(issue_id))
    why = refusal(issue_id, status, worker, live, None, entry.state if entry is not None else None)
    if why is None and worker is not None:
        why = _resumable(tracker, worker)
    if why is not None or worker is None:
        raise ConflictError(why or f"{issue_id} has no worker")
    if pending(tracker.conn, issue_id) is not None:
        raise ConflictError(f"a review of {issue_id} waits to be sent already: the floor sends it on its next turn")
    found = change(tracker, issue_id)
    repo = main_tree(tracker)
    reviews.check(review, found.files, _lengths(repo, found, {c.path for c in review.comments}))
    text = reviews.prompt(issue_id, tracker.actor, review, _quoted(repo, found, review))
    current = attempts.of_worker(tracker.conn, worker.name, worker.generation)
    said = reviews.summary(review)
    try:
        held = lock.acquire(state_dir(tracker))  # no floor runs: resume it here, holding the floor
    except ConflictError:
        held = None
    try:
        with tracker.write() as conn:
            row = ROWS.insert(
                conn,
                {
                    "issue": issue_id,
                    "worker": worker.name,
                    "attempt": current.id if current is not None else None,
                    "head": found.head,
                    "actor": tracker.actor,
                    "at": tracker.now(),
                    "comments": json.dumps([c.__dict__ for c in review.comments]),
                    "note": review.note or None,
                    "prompt": text,
                },
            )
            writes.add_comment(conn, issue_id, f"review by {tracker.actor}: {said}", tracker.actor, tracker.now())
        review_id = row
        if held is None:
            return Sent(review_id, issue_id, worker.name, worker.session_id, False, said, text)
        resumed = resume(tracker, worker, terminal)
        return Sent(review_id, issue_id, worker.name, resumed.session_id, True, said, text)
    finally:
        if held is not None:
            held.close()


def resume(tracker: Tracker, worker: Worker, terminal: str | None, *, fresh: bool = False) -> Worker:
    """Send the issue's pending review to its worker's session (the floor's ``Do.RESUME`` with
    ``Prompt.REVIEW``, or ``send_review`` when no floor runs): its change leaves the queue (a
    person's approval is withdrawn), its attempt ends ``reviewed``, the same session resumes with
    the review, and the next attempt records it as its input. ``fresh``: the session cannot be
    resumed, so a fresh one gets the review after the issue's prompt."""
    waiting = pending(tracker.conn, worker.issue)
    if waiting is None:
        raise NotFoundError(f"{worker.issue} has no review waiting to be sent")
    now = tracker.now()
    with tracker.write() as conn:
        entry = entries.open_for_branch(conn, worker.branch)
        if entry is not None and entry.state == entries.State.NEEDS_APPROVAL:
            entries.delete(conn, entry.id)  # the answer is gated and queued again
        writes.remove_labels(conn, worker.issue, [APPROVED_LABEL], tracker.actor, now)
        ROWS.update(conn, "id = ?", (waiting.id,), sent_at=now)
    current = attempts.of_worker(tracker.conn, worker.name, worker.generation)
    if current is not None and current.ended_at is None:
        attempts.end(tracker.conn, current.id, now, Outcome.REVIEWED, worker)
    elif current is not None:
        attempts.finish(tracker.conn, current.id, outcome=Outcome.REVIEWED)
    # The claim stays its worker's (the floor's, usually): the session resumes on its behalf.
    holder = Tracker(tracker.location, tracker.conn, worker.actor or tracker.actor, tracker.prefix)
    try:
        row = lifecycle.restart(holder, worker, terminal, prompt=waiting.prompt, fresh=fresh)
    except BaseException:
        ROWS.update(tracker.conn, "id = ?", (waiting.id,), sent_at=None)  # not sent: the floor tries again
        raise
    begin_attempt(tracker, row, handoff=fresh)
    nxt = attempts.of_worker(tracker.conn, row.name, row.generation)
    if nxt is not None:
        attempts.finish(tracker.conn, nxt.id, input=INPUT)
        ROWS.update(tracker.conn, "id = ?", (waiting.id,), answered_by=nxt.id)
    return row
