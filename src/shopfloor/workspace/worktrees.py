"""Worker workspaces: a clone per issue that the worker owns, brought back by the floor.

Each workspace is ``git clone --shared`` of the main repository, beside the main working tree
(``<parent>/<repo>.floor/<issue>``), never inside it, so pytest, ruff and other tools run in
the main tree do not recurse into it. It is a clone and not a ``git worktree`` because
worktrees share the main repository's refs: from a worktree an agent can move ``main`` with
one ``git update-ref``. A clone has its own refs, index and config, and reads the main
repository's objects through ``objects/info/alternates``, so it costs little disk.

The agent's commits therefore stay in its clone until the floor brings them back with
``fetch_back``: a fetch run in the main repository, hooks off, that writes exactly one ref,
``refs/heads/floor/<issue>``. The floor calls it before it reads that branch (to gate it,
count its unmerged commits, or remove the workspace); the agent never does.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shopfloor import faults, git, paths
from shopfloor.errors import ConflictError, ShopfloorError
from shopfloor.workspace.naming import branch_for, safe_name

WIP_PREFIX = "wip: "
WIP_REFS = "refs/floor-wip/"  # what only a detached HEAD or a stray branch of a removed workspace reached


@dataclass(frozen=True)
class Workspace:
    issue: str
    branch: str
    path: Path
    created: bool = False  # this call made the clone
    new_branch: bool = False  # ... and the branch in the main repository


def path_for(main_tree: Path, issue_id: str) -> Path:
    root = paths.workspace_root(main_tree).resolve()
    path = (root / safe_name(issue_id)).resolve()
    if path.parent != root:  # belt and braces: safe_name already forbids separators
        raise ShopfloorError(f"refusing a workspace path outside {root}: {path}")
    return path


def create(main_tree: Path, issue_id: str, base: str = "HEAD") -> Workspace:
    """A clone on ``floor/<issue>``; reusing the branch only if it was made for this issue."""
    path = path_for(main_tree, issue_id)
    if path.exists():
        raise ConflictError(f"{path} already exists: remove it with the worker's rm, or pick another issue")
    return _add(main_tree, issue_id, branch_for(issue_id), path, base)


def ensure(main_tree: Path, issue_id: str, base: str = "HEAD") -> Workspace:
    """The issue's clone, reusing one left from an earlier worker (``created`` tells which)."""
    branch = branch_for(issue_id)
    path = path_for(main_tree, issue_id)
    if not path.exists():
        return _add(main_tree, issue_id, branch, path, base)
    _check_clone(main_tree, path)
    current = git.run(path, "symbolic-ref", "--quiet", "HEAD", check=False).stdout.strip()
    if current != f"refs/heads/{branch}":
        on = current.removeprefix("refs/heads/") or "a detached HEAD"
        raise ConflictError(f"the workspace {path} is on {on}, not {branch}: check it out there")
    return Workspace(issue_id, branch, path)


def _objects_dir(main_tree: Path) -> str:
    common = git.run(main_tree, "rev-parse", "--path-format=absolute", "--git-common-dir").stdout.strip()
    return os.path.realpath(os.path.join(common, "objects"))


def _check_clone(main_tree: Path, path: Path) -> None:
    """Refuse a directory that is not a clone of this repository made by ``_add``."""
    dotgit = path / ".git"
    if dotgit.is_file():
        raise ConflictError(
            f"{path} is a git worktree (from an older shopfloor), not a clone: land or save its work, "
            f"`git worktree remove {path}`, and retry"
        )
    try:
        lines = (dotgit / "objects" / "info" / "alternates").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    wanted = _objects_dir(main_tree)
    if not any(os.path.realpath(os.path.join(dotgit, "objects", line.strip())) == wanted for line in lines):
        raise ConflictError(f"{path} exists but is not a shared clone of this repository: move it away and retry")


def _add(main_tree: Path, issue_id: str, branch: str, path: Path, base: str) -> Workspace:
    ref = f"refs/heads/{branch}"
    owner = git.run(main_tree, "config", "--get", f"branch.{branch}.shopfloor-issue", check=False).stdout.strip()
    existing = git.sha(main_tree, ref)
    if existing and owner and owner != issue_id:
        raise ConflictError(f"branch {branch} belongs to issue {owner}, not {issue_id}: rename or delete it first")
    start = existing or git.sha(main_tree, git.named_ref(base))
    if start is None:
        raise ShopfloorError(f"the base {base} is not a commit in {main_tree}: commit something first")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ShopfloorError(
            f"cannot create the workspace directory {path.parent} ({exc.strerror}): fix its permissions"
        ) from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise ShopfloorError(f"cannot create workspaces in {path.parent}: it is not writable; fix its permissions")
    if not existing:
        git.run(main_tree, "update-ref", ref, start, "")  # only if still absent: two starts cannot both make it
    space = Workspace(issue_id, branch, path, created=True, new_branch=not existing)
    try:
        git.run(path.parent, "clone", "--shared", "--no-checkout", "--quiet", str(main_tree.resolve()), str(path))
        faults.point("clone")  # a start killed here leaves a clone with nothing checked out
        git.run(path, "checkout", "--quiet", "--no-track", "-B", branch, start)
        git.run(main_tree, "config", f"branch.{branch}.shopfloor-issue", issue_id)
    except ShopfloorError:
        discard(main_tree, space)
        raise
    return space


def discard(main_tree: Path, space: Workspace) -> None:
    """Undo ``ensure`` after a failed start: only for a clone it just made, holding no work."""
    if space.created:
        shutil.rmtree(space.path, ignore_errors=True)
    if space.new_branch:
        git.run(main_tree, "update-ref", "-d", f"refs/heads/{space.branch}", check=False)
        git.run(main_tree, "config", "--remove-section", f"branch.{space.branch}", check=False)


def _fetch(main_tree: Path, workspace: Path, *refspecs: str) -> None:
    """Fetch exactly ``refspecs`` from the workspace into the main repository: no tags, no
    FETCH_HEAD, no submodules, no hooks."""
    git.run(
        main_tree,
        "fetch",
        "--no-tags",
        "--no-write-fetch-head",
        "--no-recurse-submodules",
        "--quiet",
        str(workspace),
        *refspecs,
    )


def fetch_back(main_tree: Path, issue_id: str) -> str:
    """Bring the worker's branch from its workspace into the main repository; return its tip.

    Run by the floor, never by the agent. Forced, since the agent may rewrite its own branch;
    ``refs/heads/floor/<issue>`` is the only ref it writes in the main repository.
    """
    path = path_for(main_tree, issue_id)
    branch = branch_for(issue_id)
    ref = f"refs/heads/{branch}"
    if not (path / ".git").is_dir():
        raise ShopfloorError(f"no workspace for {issue_id} at {path}: there is nothing to bring back")
    tip = git.sha(path, ref)
    if tip is None:
        raise ShopfloorError(f"the workspace {path} has no branch {branch}: there is nothing to bring back")
    try:
        _fetch(main_tree, path, f"+{ref}:{ref}")
    except ShopfloorError as exc:
        raise ShopfloorError(f"could not bring {branch} back from {path}: {exc}") from None
    return tip


def clear_stale_lock(workspace: Path) -> bool:
    """Remove ``.git/index.lock`` left in a workspace by a git its agent was running when the
    agent was stopped (the floor asks for a handoff, or stops a session, the moment it must,
    git commit included): every later ``git add`` there would fail. Call it only when no agent
    runs there. A ``.git`` or lock that is a symlink is the agent's doing and is left alone (it
    could point into the main repository). True when a lock was removed."""
    dot_git = workspace / ".git"
    lock = dot_git / "index.lock"
    if dot_git.is_symlink() or not dot_git.is_dir() or lock.is_symlink() or not lock.is_file():
        return False
    lock.unlink(missing_ok=True)
    return True


def save_wip(
    workspace: Path, issue_id: str, why: str = "saved before removing its workspace", confine: Sequence[str] = ()
) -> str | None:
    """Commit everything uncommitted as ``wip: <issue>``; return the commit, or None if clean.

    The agent wrote this workspace, its ``.git/config`` and its ``.git`` included: a filter
    driver, ``core.fsmonitor`` or ``gpg.program`` there runs a program of its choosing in
    ``status``, ``add`` or ``commit``, and a ``.git/refs`` symlinked into the main repository
    would have the commit move a branch there. So with ``confine`` (the agent's sandbox prefix)
    these commands run inside the agent's sandbox, with no more power than the agent had."""
    clear_stale_lock(workspace)  # the agent is stopped: a lock its git left would fail the add
    if not git.run(workspace, "status", "--porcelain", confine=confine).stdout.strip():
        return None
    git.run(workspace, "add", "-A", confine=confine)
    git.run(
        workspace,
        "-c",
        "commit.gpgSign=false",
        "-c",
        "user.name=shopfloor",
        "-c",
        "user.email=shopfloor@localhost",
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        f"{WIP_PREFIX}{issue_id} ({why})",
        confine=confine,
    )
    return git.run(workspace, "rev-parse", "HEAD").stdout.strip()


def unmerged_commits(main_tree: Path, branch: str, target: str = "HEAD") -> int:
    """Commits on ``branch`` not in ``target``, as the main repository sees them (``fetch_back`` first)."""
    out = git.output(main_tree, "rev-list", "--count", git.named_ref(branch), "--not", git.named_ref(target))
    return int(out or 0)


def _strays(path: Path, branch: str, target_sha: str) -> dict[str, int]:
    """Commits in the workspace that neither ``branch``, the target nor the main repository's refs
    (as cloned) reach: on a detached HEAD (key ``HEAD``) or on other local branches."""
    heads = git.run(path, "for-each-ref", "--format=%(refname)", "refs/heads/").stdout.split()
    detached = git.run(path, "symbolic-ref", "--quiet", "HEAD", check=False).returncode != 0
    found: dict[str, int] = {}
    for tip in (["HEAD"] if detached else []) + [h for h in heads if h != f"refs/heads/{branch}"]:
        args = ["rev-list", "--count", tip, "--not", target_sha, "--remotes"]
        if git.sha(path, f"refs/heads/{branch}"):
            args.append(f"refs/heads/{branch}")
        count = int(git.run(path, *args).stdout.strip() or 0)
        if count:
            found[tip] = count
    return found


def _stray_name(tip: str) -> str:
    return "a detached HEAD" if tip == "HEAD" else f"{tip.removeprefix('refs/heads/')} (only in the workspace)"


def remove(
    main_tree: Path, issue_id: str, *, force: bool = False, target: str = "HEAD", confine: Sequence[str] = ()
) -> str | None:
    """Bring the branch back, then delete the issue's workspace without losing work.

    Unmerged work (uncommitted changes, commits not in ``target``, commits only a detached HEAD
    or another local branch of the workspace reaches) is refused unless ``force``, and then
    changes nothing but the fetched branch. With ``force``, uncommitted changes are first saved
    as a ``wip:`` commit and brought back; the branch is always kept, and what only a detached
    HEAD or another branch reached is kept under ``refs/floor-wip/<issue>...``. Returns the wip
    commit, if one was made.
    """
    path = path_for(main_tree, issue_id)
    if not path.exists():
        raise ShopfloorError(f"no workspace for {issue_id} at {path}")
    _check_clone(main_tree, path)
    branch = branch_for(issue_id)
    on_branch = git.sha(path, f"refs/heads/{branch}") is not None
    if on_branch:
        fetch_back(main_tree, issue_id)
    dirty = bool(git.run(path, "status", "--porcelain", confine=confine).stdout.strip())  # see save_wip
    target_sha = git.sha(main_tree, git.named_ref(target))
    if target_sha is None:
        raise ShopfloorError(f"{target} is not a commit in {main_tree}")
    ahead = unmerged_commits(main_tree, branch, target_sha) if git.sha(main_tree, f"refs/heads/{branch}") else 0
    strays = _strays(path, branch, target_sha)
    if (dirty or ahead or strays) and not force:
        parts = (
            "uncommitted changes" if dirty else "",
            f"{ahead} commit(s) not in {target}" if ahead else "",
            *(f"{n} commit(s) on {_stray_name(tip)}" for tip, n in strays.items()),
        )
        raise ConflictError(
            f"{branch} has unmerged work ({', '.join(p for p in parts if p)}): land it first, or pass --force "
            "(changes are saved as a wip: commit and the branch is kept)"
        )
    wip = save_wip(path, issue_id, confine=confine) if dirty else None
    if wip and git.run(path, "symbolic-ref", "--quiet", "HEAD", check=False).returncode != 0:
        strays["HEAD"] = 1
    if on_branch and wip:
        fetch_back(main_tree, issue_id)
    keep = WIP_REFS + safe_name(issue_id)
    specs = [f"+{tip}:{keep if tip == 'HEAD' else keep + '-branches/' + tip[11:]}" for tip in strays]
    if specs:
        _fetch(main_tree, path, *specs)  # keep what the branch does not reach, so it stays reachable
    shutil.rmtree(path)
    return wip
