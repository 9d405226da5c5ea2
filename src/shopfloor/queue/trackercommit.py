"""The tracker reaches git: the database's export committed on the target, alone.

``commit_tracker`` exports the tracker and commits ``.shopfloor/issues.jsonl`` on the target
branch in a commit of its own, touching no other path (checked with
``tracker.trackeronly.is_tracker_only`` before the target moves). The commit is built without
any working tree: the export is written as a blob (``hash-object -w``), a tree is made from
the target's tree with that one blob replaced (``read-tree`` and ``update-index`` on a
temporary index file, then ``write-tree``), and ``commit-tree`` makes the commit with the
queue's identity. The target then moves by the queue's compare-and-swap (``stack.move_target``)
under the queue's lock (``QueueLock``), so a tracker commit never races a landing.

Never losing a change that is in git:
- the target's committed file is imported into the database first (through a copy of it
  beside the database, so the import has its usual base and field-level merge); a file the
  database cannot import (conflict markers, a bad line) stops the commit, as ``shopfloor
  export`` refuses to overwrite such a file;
- in the target's checkout, an uncommitted edit of the file is imported too and is never
  overwritten: its index entry is set to the new blob, so ``merge --ff-only`` moves the branch
  and leaves the person's file as it is (git then shows it as their change on top). The same
  holds when that edit *is* an export (a person ran ``shopfloor export``): the fast-forward
  succeeds instead of failing on "local changes". A staged change of the file, a deleted
  file, or an edit that does not import is reported and the commit waits for a later round.

Nothing is committed when the export already equals the target's file, or differs from it only
in leases (``lease_until``): renewals alone never make a commit.

Retros ride along. The floor (``floor.retros``) may hand ``commit_tracker`` a function of the
target's tip that returns retro files, ``.agents/retros/<issue id>.md`` -> content: they are
added or replaced in the same commit, beside the export. Each name is checked here
(``retro_path``: an issue the tracker holds, an id with no ``/``, ``\\``, ``..`` or control
character, so never a path outside ``.agents/retros/``), and the finished commit is checked to
touch the tracker file and those retros only (``floor_commit_only``). A retro the target's
checkout holds a file of its own for (untracked, or edited) waits, so the fast-forward never
fails on it and the tracker is still committed. That rule is the floor's
own commit's alone: a *candidate* branch that writes ``.agents/retros/`` is no tracker-only
change (``tracker.trackeronly``) and is gated like any other.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from shopfloor import git
from shopfloor.errors import ConflictError, ShopfloorError
from shopfloor.gate.gating import repo_of, resolve_base
from shopfloor.gate.trackerskip import changed_paths, committed_file
from shopfloor.git import run_bytes as _git
from shopfloor.paths import floor_root
from shopfloor.queue import stack
from shopfloor.queue.landing import QueueLock
from shopfloor.queue.stack import StuckTarget
from shopfloor.tracker import jsonl, store, sync, syncstate
from shopfloor.tracker.db import transaction
from shopfloor.tracker.service import Tracker
from shopfloor.tracker.trackeronly import TRACKER_PATH, is_tracker_only, leases_only

# The queue's identity (the same as ``queue.stack``'s): tracker commits come from the floor's lane.
NAME, EMAIL = "shopfloor queue", "queue@shopfloor.invalid"


@dataclass(frozen=True)
class Outcome:
    """What one tracker commit did: ``committed``, ``unchanged`` (git already holds the
    export), ``busy`` (a queue pass holds the lock, or the target moved: try again) or
    ``skipped`` (something needs a person; ``detail`` says what)."""

    state: str
    detail: str
    target: str
    commit: str | None = None
    issues: int = 0


def checkout_of(repo: Path, branch: str) -> Path | None:
    """The worktree that has ``branch`` checked out, if any."""
    where = git.checked_out(repo).get(branch.removeprefix("refs/heads/"))
    return Path(where) if where else None


RETROS_DIR = ".agents/retros"
# Extra files for the floor's tracker commit, given the repository, the target's tip and the
# target's name: path -> content.
Extra = Callable[[Path, str, str], Mapping[str, bytes]]


def retro_path(issue_id: str) -> str:
    """``.agents/retros/<issue id>.md``, or ValueError for an id that could name another path."""
    bad = (
        not issue_id
        or issue_id in (".", "..")
        or ".." in issue_id
        or any(ch in issue_id for ch in "/\\:")
        or any(ord(ch) < 32 or ord(ch) == 127 for ch in issue_id)
        or issue_id.startswith(("-", "."))
    )
    if bad:
        raise ValueError(f"not a retro name: {issue_id!r}")
    return f"{RETROS_DIR}/{issue_id}.md"


def retro_paths(issue_ids: Iterable[str]) -> set[str]:
    """The retro path of each id that is a valid retro name."""
    out = set()
    for issue_id in issue_ids:
        try:
            out.add(retro_path(issue_id))
        except ValueError:
            continue
    return out


def floor_commit_only(paths: Iterable[str], retros: Iterable[str]) -> bool:
    """The floor's own tracker commit touches the tracker file and the given retros, nothing else.
    (A candidate branch is judged by ``trackeronly.is_tracker_only`` alone.)"""
    changed = set(paths)
    return bool(changed) and changed <= {TRACKER_PATH, *retros}


def build_commit(
    repo: Path, parent: str, mode: str, content: bytes, message: str, extra: Mapping[str, bytes] | None = None
) -> tuple[str, str]:
    """(commit, blob): ``parent``'s tree with the tracker file replaced by ``content`` (and each
    ``extra`` file added or replaced); no working tree and no real index are touched."""
    blob = _git(repo, "hash-object", "-w", "--stdin", data=content).decode().strip()
    with tempfile.TemporaryDirectory(prefix="shopfloor-tracker-") as tmp:
        env = dict(os.environ, GIT_INDEX_FILE=str(Path(tmp) / "index"))
        _git(repo, "read-tree", parent, env=env)
        _git(repo, "update-index", "--add", "--cacheinfo", f"{mode},{blob},{TRACKER_PATH}", env=env)
        for path, data in sorted((extra or {}).items()):
            other = _git(repo, "hash-object", "-w", "--stdin", data=data).decode().strip()
            _git(repo, "update-index", "--add", "--cacheinfo", f"100644,{other},{path}", env=env)
        tree = _git(repo, "write-tree", env=env).decode().strip()
    commit = git.commit_tree(repo, tree, parent, message, (NAME, EMAIL), (NAME, EMAIL))
    return commit, blob


def issues(count: int) -> str:
    """``1 issue``, ``3 issues``."""
    return f"{count} issue" + ("" if count == 1 else "s")


def message(statuses: list[str], retros: int = 0) -> str:
    """The tracker commit's message: how many issues, by status (and how many retros)."""
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    if retros:
        return (
            f"tracker: {issues(len(statuses))} ({summary or 'none'}), {retros} retro{'' if retros == 1 else 's'}\n\n"
            f"The tracker's export and the retros of finished issues, committed by the floor: only\n"
            f"{TRACKER_PATH} and files under {RETROS_DIR}/ change.\n"
        )
    return (
        f"tracker: {issues(len(statuses))} ({summary or 'none'})\n\n"
        f"The tracker's export, committed by shopfloor (the floor, or `shopfloor export --commit`): only\n"
        f"{TRACKER_PATH} changes.\n"
    )


def _mirror(tracker: Tracker, target: str) -> Path:
    """A copy of the target's committed file beside the database: what imports it."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", target)
    return Path(tracker.location.db_file).parent / f"committed-{safe}.jsonl"


def _import(tracker: Tracker, path: Path, content: bytes) -> str | None:
    """Import ``content`` (the file at ``path``) unless the database is in step with it; the
    reason it could not be imported, or None."""
    if syncstate.in_step(tracker.conn, str(path), content):
        return None
    try:
        sync.import_file(tracker.conn, path, "shopfloor", tracker.now(), only_if_changed=True)
    except ShopfloorError as exc:
        return str(exc)
    return None


@dataclass
class _Checkout:
    """The target's checkout and its copy of the tracker file."""

    path: Path
    index_blob: str | None
    content: bytes | None

    @property
    def file(self) -> Path:
        return self.path / TRACKER_PATH


def _read_checkout(repo: Path, target: str) -> _Checkout | None:
    where = checkout_of(repo, target)
    if where is None:
        return None
    staged = _git(where, "ls-files", "-s", "-z", "--", TRACKER_PATH).decode().strip("\0")
    index_blob = staged.split()[1] if staged else None
    try:
        content: bytes | None = (where / TRACKER_PATH).read_bytes()
    except FileNotFoundError:
        content = None
    return _Checkout(where, index_blob, content)


def _local_changes(where: Path, directory: str) -> set[str]:
    """The paths under ``directory`` that the checkout has changed, staged or untracked."""
    quiet = dict(os.environ, GIT_OPTIONAL_LOCKS="0")  # a look only: never take the checkout's index lock
    out = _git(where, "status", "--porcelain", "-z", "--untracked-files=all", "--", directory, env=quiet)
    return {entry[3:] for entry in out.decode("utf-8", "replace").split("\0") if len(entry) > 3}


def _checkout_problem(tracker: Tracker, checkout: _Checkout, committed: bytes) -> str | None:
    """Why the checkout's file stops this round's commit, or None. An uncommitted edit is imported."""
    name = checkout.file
    if checkout.content is None:
        return f"{name} is deleted: restore it (`git checkout -- {TRACKER_PATH}`)"
    if checkout.content == committed:
        return None
    failed = _import(tracker, checkout.file, checkout.content)
    if failed is not None:
        return (
            f"{name} has uncommitted edits the database cannot import ({failed}): fix them, or drop them with "
            f"`git checkout -- {TRACKER_PATH}`"
        )
    return None


def commit_tracker(tracker: Tracker, wait_s: float = 0.0, extra: Extra | None = None) -> Outcome:
    """Export the tracker and commit it on the target by compare-and-swap, under the queue's lock;
    ``extra(repo, tip, target)`` gives retros to add in the same commit (the floor's, see above)."""

    repo = repo_of(tracker)
    target = resolve_base(repo, None)[0]
    lock = QueueLock(floor_root(tracker), wait_s)
    try:
        lock.__enter__()
    except ConflictError:
        return Outcome("busy", "a queue pass is landing: the tracker is committed after it", target)
    try:
        return _commit_locked(tracker, repo, target, extra)
    finally:
        lock.__exit__()


def _commit_locked(tracker: Tracker, repo: Path, target: str, extra: Extra | None = None) -> Outcome:
    tip = stack.tip(repo, target)
    found = committed_file(repo, tip)
    if found is None:
        return Outcome(
            "skipped",
            f"{target} has no {TRACKER_PATH}: commit it once (`shopfloor init` writes it); the floor keeps it current",
            target,
        )
    mode, committed_blob, committed = found
    mirror = _mirror(tracker, target)
    if not syncstate.in_step(tracker.conn, str(mirror), committed):
        jsonl.atomic_write(mirror, committed)
        failed = _import(tracker, mirror, committed)
        if failed is not None:
            return Outcome(
                "skipped",
                f"not committing the tracker: {target}'s {TRACKER_PATH} holds changes the database cannot import "
                f"({failed}): fix the file on {target} (see `shopfloor import`)",
                target,
            )
    checkout = _read_checkout(repo, target)
    if checkout is not None:
        problem = _checkout_problem(tracker, checkout, committed)
        if problem is not None:
            return Outcome("skipped", f"not committing the tracker this round: {problem}", target)
    rows = store.all_issues(tracker.conn)
    content = jsonl.encode(rows)
    allowed = retro_paths(str(i["id"]) for i in rows)
    retros = {path: data for path, data in (extra(repo, tip, target) if extra else {}).items() if path in allowed}
    if retros and checkout is not None:
        # A person's own file there (untracked, or edited) would stop the fast-forward, and the
        # tracker with it: that retro waits, the tracker is committed.
        retros = {p: d for p, d in retros.items() if p not in _local_changes(checkout.path, RETROS_DIR)}
    if content == committed or leases_only(committed, content):
        if not retros:
            # A lease renewal alone is no change git needs: the file would differ in lease_until only.
            return Outcome("unchanged", f"{target} already holds the tracker's export", target, issues=len(rows))
        content = committed  # the retros alone: the file stays as committed
    new, blob = build_commit(repo, tip, mode, content, message([i["status"] for i in rows], len(retros)), retros)
    paths = changed_paths(repo, tip, new)
    if not paths:  # the retros were already there, as they are
        return Outcome("unchanged", f"{target} already holds the tracker's export", target, issues=len(rows))
    # Never expected: the tree differs from the tip's in the tracker file and the retros only.
    if not (is_tracker_only(paths) if not retros else floor_commit_only(paths, retros)):
        raise ShopfloorError(f"refusing the tracker commit {new[:10]}: it changes {', '.join(paths)}")
    if checkout is not None and checkout.index_blob not in (committed_blob, blob):
        return Outcome(
            "skipped",
            f"not committing the tracker this round: {checkout.file} has a staged change: commit it, or unstage "
            f"it (`git restore --staged {TRACKER_PATH}`); the floor commits the tracker after that",
            target,
        )
    keep_edit = checkout is not None and checkout.content != committed and checkout.index_blob != blob
    if keep_edit:
        assert checkout is not None
        # The person's file stays as it is: with the index holding the new blob, the
        # fast-forward keeps that entry and never writes the file.
        _git(checkout.path, "update-index", "--cacheinfo", f"{mode},{blob},{TRACKER_PATH}")
    try:
        stack.move_target(repo, target, new, tip)
    except (ConflictError, StuckTarget) as exc:
        if keep_edit:
            assert checkout is not None
            _git(checkout.path, "update-index", "--cacheinfo", f"{mode},{checkout.index_blob},{TRACKER_PATH}")
        state = "busy" if not isinstance(exc, StuckTarget) else "skipped"
        return Outcome(state, f"not committing the tracker this round: {exc}", target)
    _remember(tracker, mirror, content, checkout)
    return Outcome("committed", f"committed the tracker on {target}", target, new, len(rows))


def _remember(tracker: Tracker, mirror: Path, content: bytes, checkout: _Checkout | None) -> None:
    """The database and the files that now hold the export are in step: no re-import follows."""

    info = jsonl.atomic_write(mirror, content)
    with transaction(tracker.conn):
        syncstate.remember(tracker.conn, str(mirror), content, info, tracker.now())
        if checkout is None:
            return
        try:
            data, stat = syncstate.read_with_stat(str(checkout.file))
        except FileNotFoundError:
            return
        if data == content:
            syncstate.remember(tracker.conn, str(checkout.file), content, stat, tracker.now())
