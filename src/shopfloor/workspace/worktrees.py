"""Git worktrees for workers: create one per issue, remove it without ever losing work.

The worktrees live in a per-repository directory beside the main working tree
(``<parent>/<repo>.floor/<issue>``), never inside it, so pytest, ruff and other tools run in
the main tree do not recurse into them.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from shopfloor.errors import ConflictError, ShopfloorError
from shopfloor.workspace.naming import branch_for, safe_name

WIP_PREFIX = "wip: "


@dataclass(frozen=True)
class Workspace:
    issue: str
    branch: str
    path: Path
    created: bool = False  # this call made the worktree
    new_branch: bool = False  # ... and the branch


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    if not cwd.is_dir():
        raise ShopfloorError(f"the directory {cwd} is gone: cannot run git there")
    try:
        # No hooks: a candidate's hooks (core.hooksPath set in the repository) never run for shopfloor.
        done = subprocess.run(
            ["git", "-c", "core.hooksPath=/dev/null", *args], cwd=cwd, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise ShopfloorError("git is not installed: install git (apt-get install git)") from None
    if check and done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["no message"]
        worst = next((line for line in lines if line.startswith(("fatal:", "error:"))), lines[-1])
        raise ShopfloorError(f"git {' '.join(args[:2])} failed: {worst}")
    return done


def _ref(name: str) -> str:
    """A branch named in full (``refs/heads/<name>``), so a tag of the same name never stands in; HEAD stays."""
    return name if name == "HEAD" or name.startswith("refs/") else f"refs/heads/{name}"


def workspace_root(main_tree: Path) -> Path:
    return main_tree.parent / f"{main_tree.name}.floor"


def path_for(main_tree: Path, issue_id: str) -> Path:
    root = workspace_root(main_tree).resolve()
    path = (root / safe_name(issue_id)).resolve()
    if path.parent != root:  # belt and braces: safe_name already forbids separators
        raise ShopfloorError(f"refusing a workspace path outside {root}: {path}")
    return path


def create(main_tree: Path, issue_id: str, base: str = "HEAD") -> Workspace:
    """A worktree on ``floor/<issue>``; reusing the branch only if it was made for this issue."""
    branch = branch_for(issue_id)
    path = path_for(main_tree, issue_id)
    if path.exists():
        raise ConflictError(f"{path} already exists: remove it with the worker's rm, or pick another issue")
    return _add(main_tree, issue_id, branch, path, base)


def ensure(main_tree: Path, issue_id: str, base: str = "HEAD") -> Workspace:
    """The issue's worktree, reusing one left from an earlier worker (``created`` tells which)."""
    branch = branch_for(issue_id)
    path = path_for(main_tree, issue_id)
    if not path.exists():
        return _add(main_tree, issue_id, branch, path, base)
    listed = _git(main_tree, "worktree", "list", "--porcelain").stdout.splitlines()
    if f"worktree {path}" not in listed:
        raise ConflictError(f"{path} exists but is not a git worktree of this repository: move it away and retry")
    current = _git(path, "symbolic-ref", "--quiet", "--short", "HEAD", check=False).stdout.strip()
    if current != branch:
        raise ConflictError(f"the worktree {path} is on {current or 'a detached HEAD'}, not {branch}: check it out")
    return Workspace(issue_id, branch, path)


def _add(main_tree: Path, issue_id: str, branch: str, path: Path, base: str) -> Workspace:
    owner = _git(main_tree, "config", "--get", f"branch.{branch}.shopfloor-issue", check=False).stdout.strip()
    exists = _git(main_tree, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False).returncode == 0
    if exists and owner and owner != issue_id:
        raise ConflictError(f"branch {branch} belongs to issue {owner}, not {issue_id}: rename or delete it first")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ShopfloorError(
            f"cannot create the worktree directory {path.parent} ({exc.strerror}): fix its permissions"
        ) from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise ShopfloorError(f"cannot create worktrees in {path.parent}: it is not writable; fix its permissions")
    args = (
        ["worktree", "add", "--quiet", str(path), branch]
        if exists
        else ["worktree", "add", "--quiet", "-b", branch, str(path), base]
    )
    _git(main_tree, *args)
    _git(main_tree, "config", f"branch.{branch}.shopfloor-issue", issue_id)
    return Workspace(issue_id, branch, path, created=True, new_branch=not exists)


def discard(main_tree: Path, space: Workspace) -> None:
    """Undo ``ensure`` after a failed start: only for a worktree it just made, holding no work."""
    _git(main_tree, "worktree", "remove", "--force", str(space.path), check=False)
    if space.new_branch:
        _git(main_tree, "branch", "-D", space.branch, check=False)
        _git(main_tree, "config", "--remove-section", f"branch.{space.branch}", check=False)


def prune(main_tree: Path) -> None:
    """Forget worktrees whose directories were deleted by hand, so their paths can be used again."""
    _git(main_tree, "worktree", "prune", check=False)


def save_wip(workspace: Path, issue_id: str, why: str = "saved before removing its worktree") -> str | None:
    """Commit everything uncommitted as ``wip: <issue>``; return the commit, or None if clean."""
    if not _git(workspace, "status", "--porcelain").stdout.strip():
        return None
    _git(workspace, "add", "-A")
    _git(
        workspace,
        "-c",
        "user.name=shopfloor",
        "-c",
        "user.email=shopfloor@localhost",
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        f"{WIP_PREFIX}{issue_id} ({why})",
    )
    return _git(workspace, "rev-parse", "HEAD").stdout.strip()


def unmerged_commits(main_tree: Path, branch: str, target: str = "HEAD") -> int:
    out = _git(main_tree, "rev-list", "--count", _ref(branch), "--not", _ref(target)).stdout.strip()
    return int(out or 0)


def remove(main_tree: Path, issue_id: str, *, force: bool = False, target: str = "HEAD") -> str | None:
    """Remove the issue's worktree without losing work.

    Unmerged work (uncommitted changes, or commits not in ``target``) is refused unless
    ``force``, and then changes nothing. With ``force``, uncommitted changes are first saved
    as a ``wip:`` commit; the branch is always kept. Returns the wip commit, if one was made.
    """
    path = path_for(main_tree, issue_id)
    if not path.exists():
        raise ShopfloorError(f"no worktree for {issue_id} at {path}")
    branch = branch_for(issue_id)
    dirty = bool(_git(path, "status", "--porcelain").stdout.strip())
    ahead = unmerged_commits(main_tree, branch, target)
    # Commits made on a detached HEAD belong to no branch: they would be lost with the worktree.
    head = _git(path, "rev-parse", "HEAD").stdout.strip()
    target_sha = _git(main_tree, "rev-parse", "--verify", f"{_ref(target)}^{{commit}}").stdout.strip()
    stray = int(_git(main_tree, "rev-list", "--count", head, "--not", target_sha, _ref(branch)).stdout.strip() or 0)
    if (dirty or ahead or stray) and not force:
        parts = (
            "uncommitted changes" if dirty else "",
            f"{ahead} commit(s) not in {target}" if ahead else "",
            f"{stray} commit(s) on a detached HEAD" if stray else "",
        )
        raise ConflictError(
            f"{branch} has unmerged work ({', '.join(p for p in parts if p)}): land it first, or pass --force "
            "(changes are saved as a wip: commit and the branch is kept)"
        )
    wip = save_wip(path, issue_id) if dirty else None
    if stray or (wip and _git(path, "symbolic-ref", "--quiet", "HEAD", check=False).returncode != 0):
        # Keep what only a detached HEAD reaches under a ref of its own, so it stays reachable.
        keep = f"refs/floor-wip/{safe_name(issue_id)}"
        _git(main_tree, "update-ref", keep, wip or head)
    _git(main_tree, "worktree", "remove", "--force", str(path))
    return wip
