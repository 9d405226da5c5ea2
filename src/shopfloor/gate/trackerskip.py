"""The gate's one exception: a tracker-only change that holds nothing new is not gated.

A candidate is let through without running any check only when all of these hold:
- its whole diff from the merge base touches ``.shopfloor/issues.jsonl`` and nothing else
  (``tracker.trackeronly.is_tracker_only``: no other file can ride along);
- every line it adds to that file is the database's *current* line for that issue, and it
  drops no issue (``tracker.trackeronly.adds_only_known_lines``): what lands is what the
  tracker itself wrote, e.g. a fresh ``shopfloor export`` committed alone, so landing it can
  neither close, reopen nor add anything, here or in a clone;
- its issue does not need a person's approval (vibe 1-2), or has it;
- it is not an agent's (a worker branch ``floor/<id>``, or the floor's attempt): an agent may
  not change the tracker's file at all, even to what the database holds (``gate.floorfiles``).

Anything else is gated as usual, the tracker file included: a branch that edits issues.jsonl
(to close issues, say), alone or with code, gets every check. The floor's own tracker commits
never come here: the floor builds them from its database and moves the target itself
(``queue.trackercommit``). A skip is still recorded as a gate run, with a note.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from shopfloor.gate import runlog
from shopfloor.gate.results import GateReport
from shopfloor.git import run_bytes as git_bytes
from shopfloor.tracker import jsonl, store
from shopfloor.tracker.service import Tracker
from shopfloor.tracker.trackeronly import TRACKER_PATH, adds_only_known_lines, is_tracker_only

NOTE = "tracker-only change: not gated"
MAX_BYTES = 64 * 1024 * 1024


def committed_file(repo: Path, commit: str, max_bytes: int | None = None) -> tuple[str, str, bytes] | None:
    """(mode, blob, content) of the tracker file at ``commit``; None when it has none (or it
    is not a regular file, or is larger than ``max_bytes``)."""
    listing = git_bytes(repo, "ls-tree", "-z", commit, "--", TRACKER_PATH).decode("utf-8", "replace").strip("\0")
    if not listing:
        return None
    meta, _, _ = listing.partition("\t")
    mode, kind, blob = meta.split()
    if kind != "blob" or mode not in ("100644", "100755"):
        return None
    if max_bytes is not None and int(git_bytes(repo, "cat-file", "-s", blob)) > max_bytes:
        return None
    return mode, blob, git_bytes(repo, "cat-file", "blob", blob)


def changed_paths(repo: Path, old: str, new: str) -> list[str]:
    """The paths that differ between the commits ``old`` and ``new`` (renames as delete and add)."""
    out = git_bytes(repo, "diff-tree", "-r", "-z", "--no-renames", "--name-only", old, new)
    return [p for p in out.decode("utf-8", "replace").split("\0") if p]


def holds_only_known_lines(tracker: Tracker, repo: Path, fork: str, commit: str) -> bool:
    after = committed_file(repo, commit, MAX_BYTES)
    if after is None:
        return False
    before = committed_file(repo, fork, MAX_BYTES)
    database = {i["id"]: jsonl.encode_issue(i) for i in store.all_issues(tracker.conn)}
    return adds_only_known_lines(before[2] if before else b"", after[2], database)


def skip_report(
    tracker: Tracker,
    repo: Path,
    request: Any,
    *,
    commit: str,
    tree: str,
    base: str,
    base_commit: str,
    fork: str,
    config_hash: str,
    issue: str | None,
    vibe: int | None,
    approval_required: bool,
    approved: bool,
    agent: bool = False,
    and_then: runlog.FollowUp | None = None,
) -> GateReport | None:
    """The recorded pass report of a candidate that need not be gated, or None to gate it."""
    started = time.monotonic()
    if agent or (approval_required and not approved) or request.every_check or commit == base_commit:
        return None  # an agent's change to the tracker's file is gated, and fails (gate.floorfiles)
    if not is_tracker_only(changed_paths(repo, fork, commit)):
        return None
    if not holds_only_known_lines(tracker, repo, fork, commit):
        return None
    report: GateReport = {
        "verdict": "pass",
        "rev": request.rev,
        "commit": commit,
        "tree": tree,
        "base": base,
        "base_commit": base_commit,
        "merge_base": fork,
        "config_hash": config_hash,
        "issue": issue,
        "attempt": request.attempt,
        "vibe": vibe,
        "approval_required": approval_required,
        "approved": approved,
        "cached": False,
        "itself": False,
        "note": NOTE,
        "duration_s": round(time.monotonic() - started, 3),
        "checks": [],
    }
    runlog.record(tracker, report, and_then)
    return report
