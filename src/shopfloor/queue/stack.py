"""Git for the queue: stack candidates onto the target in the queue's own worktree, and move
the target by compare-and-swap.

The queue works in ``<repo>.floor/.queue``, a detached worktree nobody else uses. Each
candidate's commits (those not yet on the target) are cherry-picked onto the stack in order;
a candidate already based on the stack's tip is taken as it is (a fast-forward keeps its
commits). With the ``squash`` strategy (``queue.config``) each candidate's cherry-picked
commits are then replaced by one commit with the same tree (``squash_head``, ``commit_tree``),
authored by the candidate's author and committed by the queue. The target moves only from the
exact commit the stack was built on, so a target that moved meanwhile is never overwritten
with an untested tree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shopfloor import git
from shopfloor.errors import ConflictError, ShopfloorError
from shopfloor.paths import queue_dir
from shopfloor.tracker.trackeronly import TRACKER_PATH

QUEUE_NAME, QUEUE_EMAIL = "shopfloor queue", "queue@shopfloor.invalid"
IDENTITY = ("-c", f"user.name={QUEUE_NAME}", "-c", f"user.email={QUEUE_EMAIL}")


@dataclass(frozen=True)
class Person:
    """A commit's author: a name and an email, as git writes them."""

    name: str
    email: str


@dataclass(frozen=True)
class Conflict:
    files: tuple[str, ...]


class StuckTarget(ShopfloorError):
    """The target cannot be moved (its checkout has local changes in the way)."""


def queue_worktree(repo: Path, root: Path, onto: str) -> Path:
    path = queue_dir(root)
    if not (path / ".git").exists():
        git.run(repo, "worktree", "prune", check=False)
        git.add_worktree(repo, path, onto)
    return path


def reset_to(worktree: Path, commit: str) -> None:
    git.run(worktree, "cherry-pick", "--abort", check=False)
    git.run(worktree, "checkout", "--quiet", "--force", "--detach", commit)  # no hooks: git.run adds NO_HOOKS
    git.run(worktree, "clean", "-ffdxq")


def apply(worktree: Path, target: str, head: str, landed: Sequence[str] = ()) -> str | Conflict:
    """Put the candidate ``head`` on top of the worktree's HEAD; returns the new tip or the conflict.

    ``landed``: earlier heads of the same branch that already landed (squashed, so they are not
    ancestors of the target): their commits are not replayed again."""
    tip = git.run(worktree, "rev-parse", "HEAD").stdout.strip()
    if git.run(worktree, "merge-base", "--is-ancestor", tip, head, check=False).returncode == 0:
        git.run(worktree, "checkout", "--quiet", "--detach", head)
        return head  # already on top of the stack: its own commits land as they are
    on_target = git.branch_ref(target)
    merges = git.run(worktree, "rev-list", "--merges", head, "--not", on_target, tip, *landed).stdout.split()
    if merges:  # replaying only the non-merge commits would drop what the merges hold
        return Conflict((f"merge commit {merges[0][:10]} (rebase the branch onto {target} without merges)",))
    commits = git.run(worktree, "rev-list", "--reverse", head, "--not", on_target, tip, *landed).stdout.split()
    for commit in commits:
        done = git.run(
            worktree, *IDENTITY, "cherry-pick", "--allow-empty", "--keep-redundant-commits", commit, check=False
        )
        if done.returncode != 0:
            files = git.run(worktree, "diff", "--name-only", "--diff-filter=U").stdout.split()
            git.run(worktree, "cherry-pick", "--abort", check=False)
            git.run(worktree, "reset", "--quiet", "--hard", tip, check=False)
            return Conflict(
                tuple(files) or ("(no file named: " + (done.stderr.strip().splitlines() or ["?"])[-1] + ")",)
            )
    return git.run(worktree, "rev-parse", "HEAD").stdout.strip()


def tree_of(repo: Path, commit: str) -> str:
    return git.output(repo, "rev-parse", f"{commit}^{{tree}}")


def commit_tree(repo: Path, tree: str, parent: str, message: str, author: Person) -> str:
    """A new commit of ``tree`` on ``parent``: authored by ``author``, committed by the queue
    (the message through stdin, the names through the environment: see ``git.commit_tree``)."""
    return git.commit_tree(repo, tree, parent, message, (author.name, author.email), (QUEUE_NAME, QUEUE_EMAIL))


def squash_head(worktree: Path, parent: str, message: str, author: Person) -> str:
    """Replace the commits between ``parent`` and the worktree's HEAD by one commit of HEAD's tree."""
    squashed = commit_tree(worktree, tree_of(worktree, "HEAD"), parent, message, author)
    git.run(worktree, "reset", "--quiet", "--soft", squashed)  # the same tree: index and files stay
    return squashed


def move_target(repo: Path, target: str, new: str, expected: str) -> None:
    """Compare-and-swap: the target moves to ``new`` only if it is still at ``expected``.

    When the target is checked out in a worktree, that worktree is fast-forwarded with
    ``merge --ff-only`` (which refuses rather than touching local changes), so its files
    follow the branch.
    """
    checked_out = _checkout_of(repo, target)
    if checked_out is None:
        done = git.run(
            repo, "update-ref", "-m", "shopfloor queue: land", git.branch_ref(target), new, expected, check=False
        )
        if done.returncode != 0:
            raise ConflictError(f"{target} moved while the queue was testing: testing again")
        return
    current = git.run(checked_out, "rev-parse", "HEAD").stdout.strip()
    if current != expected:
        raise ConflictError(f"{target} moved while the queue was testing: testing again")
    kept = _keep_tracker_edit(checked_out, new)
    done = git.run(checked_out, "merge", "--quiet", "--ff-only", new, check=False)
    if done.returncode != 0:
        if kept is not None:  # as it was: the person's edit, unstaged
            git.run(checked_out, "update-index", "--cacheinfo", kept)

        why = (done.stderr.strip().splitlines() or ["merge --ff-only refused"])[0]
        raise StuckTarget(
            f"cannot fast-forward {target} in {checked_out} ({why}): commit, stash or remove its local changes; "
            "the entries stay queued"
        )


def _blob(checkout: Path, spec: str) -> tuple[str, str] | None:
    """(mode, blob) of ``TRACKER_PATH`` in the index (``spec`` ""), or in commit ``spec``."""
    if spec:
        found = git.run(checkout, "ls-tree", spec, "--", TRACKER_PATH, check=False).stdout.split()
    else:
        found = git.run(checkout, "ls-files", "-s", "--", TRACKER_PATH, check=False).stdout.split()
    return (found[0], found[2] if spec else found[1]) if len(found) >= 3 else None


def _keep_tracker_edit(checkout: Path, new: str) -> str | None:
    """The tracker file in the target's checkout belongs to the floor: a person's unstaged edit
    of it (a ``shopfloor export`` run there) must not stop a landing that changes it. When that
    is the case, its index entry is set to the landing's blob, so ``merge --ff-only`` moves the
    branch and leaves the person's file as it is (then shown as their change on top). Returns
    the old index entry (``mode,blob,path``) to put back if the merge fails anyway, or None."""
    head, index, landing = _blob(checkout, "HEAD"), _blob(checkout, ""), _blob(checkout, new)
    if head is None or index != head or landing is None or landing == head:
        return None  # no file, a staged change (the person's to commit), or a landing that leaves it alone
    if not git.run(checkout, "diff", "--quiet", "--", TRACKER_PATH, check=False).returncode:
        return None  # no unstaged edit: the fast-forward writes the file as usual
    git.run(checkout, "update-index", "--cacheinfo", f"{landing[0]},{landing[1]},{TRACKER_PATH}")
    return f"{head[0]},{head[1]},{TRACKER_PATH}"


def _checkout_of(repo: Path, branch: str) -> Path | None:
    where = git.checked_out(repo).get(branch.removeprefix("refs/heads/"))
    return Path(where) if where else None


def is_ancestor(repo: Path, commit: str, of: str) -> bool:
    return git.run(repo, "merge-base", "--is-ancestor", commit, of, check=False).returncode == 0


def tip(repo: Path, branch: str) -> str:
    """The commit the branch ``branch`` (``refs/heads/<branch>``, never a tag of that name) points at."""
    return git.resolve_branch(repo, branch, "branch")[0]
