"""The git side of gating: resolving revisions, reading the base's config and files, the diff,
and a dedicated throw-away worktree per run (never an agent's live worktree)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from shopfloor import gitlock
from shopfloor.errors import NotFoundError, ShopfloorError

CONFIG_PATH = ".shopfloor/config.toml"
# Every git command shopfloor runs on a repository a candidate can write to runs without hooks:
# a candidate's own hooks (a husky-style ``core.hooksPath=.githooks`` committed with the work)
# must never run during gating or landing (post-checkout, post-commit, post-merge,
# reference-transaction, post-rewrite ...).
NO_HOOKS = ("-c", "core.hooksPath=/dev/null")


def branch_ref(name: str) -> str:
    """The full ref of the branch ``name``: a tag or remote-tracking ref of the same name never stands in."""
    return name if name.startswith("refs/heads/") else f"refs/heads/{name}"


def git(
    repo: Path, *args: str, check: bool = True, text: bool = True, hooks_off: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run git in ``repo`` with hooks disabled (``hooks_off=False`` only to ask where hooks live)."""
    done = gitlock.run(["git", *(NO_HOOKS if hooks_off else ()), *args], repo, text=text)  # a held lock is waited out
    if check and done.returncode != 0:
        lines = (done.stderr or "").strip().splitlines() or ["no message"]
        worst = next((line for line in lines if line.startswith(("fatal:", "error:"))), lines[-1])
        raise ShopfloorError(f"git {' '.join(args[:2])} failed: {worst}")
    return done


def git_bytes(repo: Path, *args: str, data: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
    """Run git in ``repo`` with hooks disabled, on bytes (``data`` in, stdout out); a failure raises."""
    try:
        done = subprocess.run(
            ["git", *NO_HOOKS, *args], cwd=repo, input=data, env=env, capture_output=True, check=False
        )
    except FileNotFoundError:
        raise ShopfloorError("git is not installed: install git (apt-get install git)") from None
    if done.returncode != 0:
        why = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"])[-1]
        raise ShopfloorError(f"git {' '.join(args[:2])} failed: {why}")
    return done.stdout


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


def resolve_branch(repo: Path, name: str, what: str) -> tuple[str, str]:
    """(commit sha, tree sha) of the branch ``name`` (``refs/heads/<name>``), never a tag or a
    remote-tracking ref that happens to share its name."""
    if not name or name.startswith("-") or any(c in name for c in "\0\n"):
        raise NotFoundError(f"{what} {name!r} is not a branch name: give a branch")
    full = f"{branch_ref(name)}^{{commit}}"
    done = git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", full, check=False)
    if done.returncode != 0:
        raise NotFoundError(f"unknown {what} {name!r}: there is no branch of that name (git branch)")
    commit = done.stdout.strip()
    tree = git(repo, "rev-parse", f"{commit}^{{tree}}").stdout.strip()
    return commit, tree


def is_branch(repo: Path, name: str) -> bool:
    """Whether ``refs/heads/<name>`` exists."""
    if not name or name.startswith("-") or any(c in name for c in "\0\n"):
        return False
    done = git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", branch_ref(name), check=False)
    return done.returncode == 0


def resolve_named(repo: Path, rev: str, what: str) -> tuple[str, str]:
    """Like ``resolve``, but a name that is a branch is the branch (``refs/heads/<rev>``), even
    when a tag or remote-tracking ref shares it; anything else (a sha, a tag) as given."""
    if is_branch(repo, rev):
        return resolve_branch(repo, rev, what)
    return resolve(repo, rev, what)


def show(repo: Path, commit: str, path: str) -> str | None:
    """A file's text at ``commit``, or None if it does not exist there (binary content is replaced)."""
    done = subprocess.run(["git", *NO_HOOKS, "show", f"{commit}:{path}"], cwd=repo, capture_output=True, check=False)
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


def changed_sizes(repo: Path, base: str, rev: str) -> dict[str, int]:
    """The size in bytes of each file ``rev`` adds or changes since ``base``, from the objects'
    headers (``diff --raw`` and ``cat-file --batch-check``): no content is read."""
    fields = git(repo, "diff", "--raw", "-z", "--no-renames", "--no-abbrev", base, rev, "--").stdout.split("\0")
    blobs: dict[str, str] = {}  # path -> its blob at rev
    for meta, path in zip(fields[::2], fields[1::2], strict=False):
        parts = meta.lstrip(":").split()
        if len(parts) == 5 and parts[1] not in ("000000", "160000") and set(parts[3]) != {"0"}:
            blobs[path] = parts[3]
    if not blobs:
        return {}
    done = subprocess.run(
        ["git", *NO_HOOKS, "cat-file", "--batch-check=%(objectname) %(objectsize)"],
        cwd=repo,
        input="\n".join(sorted(set(blobs.values()))) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    size = {sha: int(n) for sha, n in (line.split() for line in done.stdout.splitlines()) if n.isdigit()}
    return {path: size[sha] for path, sha in blobs.items() if sha in size}


def diff(repo: Path, base: str, rev: str, skip: tuple[str, ...] = ()) -> tuple[str, str, bool]:
    """(name-status -z, unified patch with no context, truncated?) between two commits; the
    patch leaves out the files in ``skip`` (too large to read), which name-status still lists."""
    status = git(repo, *_DIFF, "--name-status", "-z", base, rev, "--").stdout
    excluded = [f":(exclude,literal){path}" for path in skip]
    proc = subprocess.Popen(
        ["git", *NO_HOOKS, *_DIFF, "-U0", base, rev, "--", *excluded],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
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
    # No hooks (``git`` adds NO_HOOKS): a candidate's post-checkout hook must not run.
    git(repo, "worktree", "add", "--quiet", "--detach", "--force", str(path), commit)


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
