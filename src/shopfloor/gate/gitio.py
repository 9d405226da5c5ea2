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


MAX_DIFF_BYTES = 64 * 1024 * 1024
# Attributes in the checked-out tree must not hide a change (`* -diff`, textconv drivers):
# --text and --no-textconv make git show every change as text, whatever .gitattributes says.
_DIFF = ["-c", "core.quotePath=false", "diff", "--no-color", "--no-ext-diff", "--no-textconv", "--text", "-M"]


def diff(repo: Path, base: str, rev: str) -> tuple[str, str, bool]:
    """(name-status -z, unified patch with no context, truncated?) between two commits."""
    status = git(repo, *_DIFF, "--name-status", "-z", base, rev, "--").stdout
    proc = subprocess.Popen(
        ["git", *_DIFF, "-U0", base, rev, "--"], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert proc.stdout is not None
    data = proc.stdout.read(MAX_DIFF_BYTES + 1)
    truncated = len(data) > MAX_DIFF_BYTES
    if truncated:
        proc.kill()
        data = data[:MAX_DIFF_BYTES]
    proc.stdout.close()
    proc.wait()
    return status, data.decode("utf-8", "replace"), truncated


def add_worktree(repo: Path, path: Path, commit: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # No hooks: a candidate's post-checkout hook (core.hooksPath inside the tree) must not run.
    git(repo, "-c", "core.hooksPath=/dev/null", "worktree", "add", "--quiet", "--detach", "--force", str(path), commit)


def remove_worktree(repo: Path, path: Path) -> None:
    git(repo, "worktree", "remove", "--force", str(path), check=False)
    if path.exists():
        import shutil

        shutil.rmtree(path, ignore_errors=True)
    git(repo, "worktree", "prune", check=False)


def default_branch(repo: Path) -> str:
    """The branch a clone would check out: origin's HEAD, else init.defaultBranch, else master."""
    remote = git(repo, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD", check=False).stdout.strip()
    if remote:
        return remote.removeprefix("origin/")
    configured = git(repo, "config", "--get", "init.defaultBranch", check=False).stdout.strip()
    return configured or "master"
