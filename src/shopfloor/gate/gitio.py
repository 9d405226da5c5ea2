"""The git side of gating: resolving revisions, reading the base's config and files, the diff,
and a dedicated throw-away worktree per run (never an agent's live worktree)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from shopfloor.errors import NotFoundError, ShopfloorError

CONFIG_PATH = ".shopfloor/config.toml"


def git(repo: Path, *args: str, check: bool = True, text: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=text, check=False)
    except FileNotFoundError:
        raise ShopfloorError("git is not installed: install git (apt-get install git)") from None
    if check and done.returncode != 0:
        lines = (done.stderr or "").strip().splitlines() or ["no message"]
        worst = next((line for line in lines if line.startswith(("fatal:", "error:"))), lines[-1])
        raise ShopfloorError(f"git {' '.join(args[:2])} failed: {worst}")
    return done


def resolve(repo: Path, rev: str, what: str) -> tuple[str, str]:
    """(commit sha, tree sha) of ``rev``; an unknown revision is a not-found error."""
    if rev.startswith("-") or not rev or any(c in rev for c in "\0\n"):
        raise NotFoundError(f"{what} {rev!r} is not a revision: give a branch, tag or commit")
    done = git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", check=False)
    if done.returncode != 0:
        raise NotFoundError(f"unknown {what} {rev!r}: check the branch or commit name (git branch -a)")
    commit = done.stdout.strip()
    tree = git(repo, "rev-parse", f"{commit}^{{tree}}").stdout.strip()
    return commit, tree


def show(repo: Path, commit: str, path: str) -> str | None:
    """A file's text at ``commit``, or None if it does not exist there (binary content is replaced)."""
    done = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=repo, capture_output=True, check=False)
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "replace")


def merge_base(repo: Path, base: str, rev: str) -> str:
    done = git(repo, "merge-base", base, rev, check=False)
    return done.stdout.strip() or base


def diff(repo: Path, base: str, rev: str) -> str:
    done = subprocess.run(
        ["git", "diff", "--no-color", "--no-ext-diff", "-U0", "-M", base, rev, "--"],
        cwd=repo,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise ShopfloorError(f"git diff failed: {done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout.decode("utf-8", "replace")


def add_worktree(repo: Path, path: Path, commit: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    git(repo, "worktree", "add", "--quiet", "--detach", "--force", str(path), commit)


def remove_worktree(repo: Path, path: Path) -> None:
    git(repo, "worktree", "remove", "--force", str(path), check=False)
    if path.exists():
        import shutil

        shutil.rmtree(path, ignore_errors=True)
    git(repo, "worktree", "prune", check=False)
