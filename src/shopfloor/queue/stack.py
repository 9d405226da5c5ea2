"""Git for the queue: stack candidates onto the target in the queue's own worktree, and move
the target by compare-and-swap.

The queue works in ``<repo>.floor/.queue``, a detached worktree nobody else uses. Each
candidate's commits (those not yet on the target) are cherry-picked onto the stack in order;
a candidate already based on the stack's tip is taken as it is (a fast-forward keeps its
commits). The target moves only from the exact commit the stack was built on, so a target
that moved meanwhile is never overwritten with an untested tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shopfloor.errors import ConflictError
from shopfloor.gate import gitio

IDENTITY = ("-c", "user.name=shopfloor queue", "-c", "user.email=queue@shopfloor.invalid")


@dataclass(frozen=True)
class Conflict:
    files: tuple[str, ...]


def queue_worktree(repo: Path, root: Path, onto: str) -> Path:
    path = root / ".queue"
    if not (path / ".git").exists():
        gitio.git(repo, "worktree", "prune", check=False)
        gitio.add_worktree(repo, path, onto)
    return path


def reset_to(worktree: Path, commit: str) -> None:
    gitio.git(worktree, "cherry-pick", "--abort", check=False)
    gitio.git(worktree, "-c", "core.hooksPath=/dev/null", "checkout", "--quiet", "--force", "--detach", commit)
    gitio.git(worktree, "clean", "-ffdxq")


def apply(worktree: Path, target: str, head: str) -> str | Conflict:
    """Put the candidate ``head`` on top of the worktree's HEAD; returns the new tip or the conflict."""
    tip = gitio.git(worktree, "rev-parse", "HEAD").stdout.strip()
    if gitio.git(worktree, "merge-base", "--is-ancestor", tip, head, check=False).returncode == 0:
        gitio.git(worktree, "-c", "core.hooksPath=/dev/null", "checkout", "--quiet", "--detach", head)
        return head  # already on top of the stack: its own commits land as they are
    merges = gitio.git(worktree, "rev-list", "--merges", head, "--not", target, tip).stdout.split()
    if merges:  # replaying only the non-merge commits would drop what the merges hold
        return Conflict((f"merge commit {merges[0][:10]} (rebase the branch onto {target} without merges)",))
    commits = gitio.git(worktree, "rev-list", "--reverse", head, "--not", target, tip).stdout.split()
    for commit in commits:
        done = gitio.git(
            worktree, *IDENTITY, "cherry-pick", "--allow-empty", "--keep-redundant-commits", commit, check=False
        )
        if done.returncode != 0:
            files = gitio.git(worktree, "diff", "--name-only", "--diff-filter=U").stdout.split()
            gitio.git(worktree, "cherry-pick", "--abort", check=False)
            gitio.git(worktree, "reset", "--quiet", "--hard", tip, check=False)
            return Conflict(
                tuple(files) or ("(no file named: " + (done.stderr.strip().splitlines() or ["?"])[-1] + ")",)
            )
    return gitio.git(worktree, "rev-parse", "HEAD").stdout.strip()


def move_target(repo: Path, target: str, new: str, expected: str) -> None:
    """Compare-and-swap: the target moves to ``new`` only if it is still at ``expected``.

    When the target is checked out in a worktree, that worktree is fast-forwarded with
    ``merge --ff-only`` (which refuses rather than touching local changes), so its files
    follow the branch.
    """
    checked_out = _checkout_of(repo, target)
    if checked_out is None:
        done = gitio.git(
            repo, "update-ref", "-m", "shopfloor queue: land", f"refs/heads/{target}", new, expected, check=False
        )
        if done.returncode != 0:
            raise ConflictError(f"{target} moved while the queue was testing: testing again")
        return
    current = gitio.git(checked_out, "rev-parse", "HEAD").stdout.strip()
    if current != expected:
        raise ConflictError(f"{target} moved while the queue was testing: testing again")
    done = gitio.git(checked_out, "-c", "core.hooksPath=/dev/null", "merge", "--quiet", "--ff-only", new, check=False)
    if done.returncode != 0:
        from shopfloor.queue.service import StuckTarget

        why = (done.stderr.strip().splitlines() or ["merge --ff-only refused"])[0]
        raise StuckTarget(
            f"cannot fast-forward {target} in {checked_out} ({why}): commit, stash or remove its local changes; "
            "the entries stay queued"
        )


def _checkout_of(repo: Path, branch: str) -> Path | None:
    listing = gitio.git(repo, "worktree", "list", "--porcelain").stdout.split("\n\n")
    for block in listing:
        lines = block.splitlines()
        if f"branch refs/heads/{branch}" in lines:
            return Path(next(line for line in lines if line.startswith("worktree ")).removeprefix("worktree "))
    return None


def is_ancestor(repo: Path, commit: str, of: str) -> bool:
    return gitio.git(repo, "merge-base", "--is-ancestor", commit, of, check=False).returncode == 0


def tip(repo: Path, target: str) -> str:
    return gitio.resolve(repo, target, "target")[0]
