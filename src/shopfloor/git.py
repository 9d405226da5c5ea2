"""The one way shopfloor runs git, and the helpers every package shares.

Every git command goes through ``run`` (text) or ``run_bytes`` (bytes): an argv list, never a
shell string, run in a directory with one environment:

- **no hooks, no fsmonitor**: a candidate's or an agent's repository may name hooks
  (``core.hooksPath`` committed with the work) or an fsmonitor program; neither ever runs for
  shopfloor (``hooks=True`` only to ask git where hooks live, or to run git as its user would);
- **no lazy fetching**: a workspace can declare itself a partial clone whose promisor remote's
  upload-pack is a program of its choosing, which a missing-object lookup would run, outside
  the agent's sandbox (``GIT_NO_LAZY_FETCH``, inherited by git's children);
- **no prompts, no pager**.

Parallel workers, the gate and the queue all run git on one repository: a command that finds a
lock file held (``.git/config.lock``, a ref's ``.lock``) fails at once and changes nothing, so it
is run again a little later. Any other failure raises ``GitError``, one line naming the command
and git's own message. Names built from text shopfloor did not write (a target, a branch in a
config) pass ``branch_ref`` or ``ref_problem`` first: a name git would refuse, or one that reads
as an option, never reaches git.

This module sits below the tracker, whose commands start often: it imports no more than
``os``, ``subprocess`` and ``time``, and the tracker's start-up path does not import it.
"""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any

from shopfloor.errors import NotFoundError, ShopfloorError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    StrPath = str | os.PathLike[str]

NO_HOOKS = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false")
ENV = {"GIT_NO_LAZY_FETCH": "1", "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat"}
LOCK_RETRIES = 6  # waits of 0.05 s doubling: about 3 s in all
NOT_INSTALLED = "git is not installed: install git (apt-get install git)"


class GitError(ShopfloorError):
    """A git command failed: the message names the command and git's own line."""

    def __init__(self, command: str, stderr: str, returncode: int) -> None:
        super().__init__(f"git {command} failed: {stderr_line(stderr)}")
        self.command = command
        self.stderr = stderr
        self.returncode = returncode


def locked(stderr: str) -> bool:
    """Pure: git failed because another process holds one of its lock files. A compare-and-swap
    that lost ("cannot lock ref ...: is at X but expected Y") is no held lock: it fails at once."""
    text = stderr.lower()
    return "could not lock config file" in text or (".lock" in text and "file exists" in text)


def stderr_line(stderr: str) -> str:
    """Pure: the line of git's stderr that says what went wrong (its first ``fatal:`` or
    ``error:``, else its last line)."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()] or ["no message"]
    return next((line for line in lines if line.startswith(("fatal:", "error:"))), lines[-1]).strip()


def command_name(args: Sequence[str]) -> str:
    """Pure: the git command ``args`` run, for a message: its subcommand and first argument,
    after any ``-c key=value``; control characters and long values are cut."""
    rest = list(args)
    while rest[:1] in (["-c"], ["-C"]):
        rest = rest[2:]
    shown = [_printable(arg) for arg in rest[:2]]
    return " ".join(shown) or "(no command)"


def _printable(arg: str) -> str:
    clean = "".join(c if c.isprintable() else "?" for c in arg)
    return clean if len(clean) <= 80 else clean[:77] + "..."


def environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every git runs with: ``base`` (default: this process's) plus ``ENV``."""
    return {**(os.environ if base is None else base), **ENV}


def _run(
    cwd: StrPath,
    args: Sequence[str],
    *,
    text: bool,
    data: str | bytes | None,
    env: Mapping[str, str] | None,
    hooks: bool,
    confine: Sequence[str],
) -> subprocess.CompletedProcess[Any]:
    argv = [*confine, "git", *(() if hooks else NO_HOOKS), *args]
    full_env = environment(env)
    attempt = 0
    while True:
        try:
            done = subprocess.run(argv, cwd=cwd, input=data, env=full_env, capture_output=True, text=text, check=False)
        except FileNotFoundError:
            if not os.path.isdir(cwd):
                raise ShopfloorError(f"the directory {os.fspath(cwd)} is gone: cannot run git there") from None
            missing = f"{confine[0]} is not installed: cannot run git in its sandbox" if confine else NOT_INSTALLED
            raise ShopfloorError(missing) from None
        if done.returncode == 0 or attempt == LOCK_RETRIES or not locked(_text(done.stderr)):
            return done
        time.sleep(0.05 * 2**attempt)  # a held lock is waited out
        attempt += 1


def _text(out: str | bytes | None) -> str:
    return out.decode("utf-8", "replace") if isinstance(out, bytes) else (out or "")


def run(
    cwd: StrPath,
    *args: str,
    check: bool = True,
    data: str | None = None,
    env: Mapping[str, str] | None = None,
    hooks: bool = False,
    confine: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """git ``args`` in ``cwd``, text in and out; a failure raises ``GitError`` unless not ``check``.

    ``data`` goes to stdin; ``env`` replaces this process's environment (``ENV`` is still added);
    ``confine`` (a sandbox's argv prefix) runs git with no more power than an agent had."""
    done = _run(cwd, args, text=True, data=data, env=env, hooks=hooks, confine=confine)
    if check and done.returncode != 0:
        raise GitError(command_name(args), done.stderr or "", done.returncode)
    return done


def run_bytes(
    cwd: StrPath, *args: str, data: bytes | None = None, env: Mapping[str, str] | None = None, hooks: bool = False
) -> bytes:
    """git ``args`` in ``cwd`` on bytes (``data`` in, stdout out); a failure raises ``GitError``."""
    done = _run(cwd, args, text=False, data=data, env=env, hooks=hooks, confine=())
    if done.returncode != 0:
        raise GitError(command_name(args), _text(done.stderr), done.returncode)
    out: bytes = done.stdout
    return out


def output(cwd: StrPath, *args: str, hooks: bool = False) -> str:
    """git ``args``'s stdout, stripped; a failure raises ``GitError``."""
    return run(cwd, *args, hooks=hooks).stdout.strip()


# -- names ------------------------------------------------------------------------------------

_FORBIDDEN = set(" ~^:?*[\\\x7f")


def ref_problem(name: str) -> str | None:
    """Pure: why git would refuse ``name`` as a branch name (``git check-ref-format --branch``'s
    rules), or why shopfloor does (it reads as an option); None when it is fine."""
    if not name:
        return "it is empty"
    if name.startswith("-"):
        return "it starts with '-'"
    if name == "@" or "@{" in name:
        return "it contains '@{' or is '@'"
    if any(c in _FORBIDDEN or ord(c) < 0x20 for c in name):
        return "it contains a space, a control character or one of ~ ^ : ? * [ \\"
    if ".." in name or "//" in name or name.startswith("/") or name.endswith(("/", ".")):
        return "it contains '..' or '//', or starts or ends with '/' or ends with '.'"
    if any(part.startswith(".") or part.endswith(".lock") for part in name.split("/")):
        return "a part of it starts with '.' or ends with '.lock'"
    return None


def branch_ref(name: str) -> str:
    """The full ref of the branch ``name`` (a tag or remote-tracking ref of the same name never
    stands in); a name git would refuse is a usage error, and never reaches git."""
    short = name.removeprefix("refs/heads/")
    problem = ref_problem(short)
    if problem:
        raise UsageError(f"{_printable(name)!r} is not a branch name ({problem}): give a branch name")
    return f"refs/heads/{short}"


def named_ref(name: str) -> str:
    """``name`` as a branch (``refs/heads/<name>``), except HEAD, full ref names and full commit
    ids, which stay as they are."""
    full_sha = len(name) in (40, 64) and all(c in "0123456789abcdef" for c in name)
    if name == "HEAD" or full_sha or (name.startswith("refs/") and not ref_problem(name)):
        return name
    return branch_ref(name)


def _not_a_rev(rev: str) -> bool:
    return not rev or rev.startswith("-") or any(c in rev for c in "\0\n")


def hooks_dir(worktree: StrPath) -> str:
    """Where git looks for the hooks of the working tree ``worktree`` (its top), following
    ``core.hooksPath`` (the one question asked with the repository's hooks settings standing);
    a relative path is taken from the top of the working tree, where hooks run."""
    where = output(worktree, "rev-parse", "--git-path", "hooks", hooks=True)
    return where if os.path.isabs(where) else os.path.join(worktree, where)


# -- revisions --------------------------------------------------------------------------------


def sha(cwd: StrPath, rev: str) -> str | None:
    """The commit ``rev`` names, or None when it names none."""
    if _not_a_rev(rev):
        return None
    done = run(cwd, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def resolve(repo: StrPath, rev: str, what: str) -> tuple[str, str]:
    """(commit sha, tree sha) of ``rev``; an unknown revision is a not-found error."""
    if _not_a_rev(rev):
        raise NotFoundError(f"{what} {_printable(rev)!r} is not a revision: give a branch, tag or commit")
    commit = sha(repo, rev)
    if commit is None:
        raise NotFoundError(f"unknown {what} {_printable(rev)!r}: check the branch or commit name (git branch -a)")
    return commit, output(repo, "rev-parse", f"{commit}^{{tree}}")


def resolve_branch(repo: StrPath, name: str, what: str) -> tuple[str, str]:
    """(commit sha, tree sha) of the branch ``name`` (``refs/heads/<name>``), never a tag or a
    remote-tracking ref that happens to share its name."""
    if ref_problem(name.removeprefix("refs/heads/")):
        raise NotFoundError(f"{what} {_printable(name)!r} is not a branch name: give a branch")
    commit = sha(repo, branch_ref(name))
    if commit is None:
        raise NotFoundError(f"unknown {what} {_printable(name)!r}: there is no branch of that name (git branch)")
    return commit, output(repo, "rev-parse", f"{commit}^{{tree}}")


def is_branch(repo: StrPath, name: str) -> bool:
    """Whether ``refs/heads/<name>`` exists (a name git would refuse is no branch)."""
    if ref_problem(name.removeprefix("refs/heads/")):
        return False
    done = run(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", branch_ref(name), check=False)
    return done.returncode == 0


def resolve_named(repo: StrPath, rev: str, what: str) -> tuple[str, str]:
    """Like ``resolve``, but a name that is a branch is the branch (``refs/heads/<rev>``), even
    when a tag or remote-tracking ref shares it; anything else (a sha, a tag) as given."""
    if is_branch(repo, rev):
        return resolve_branch(repo, rev, what)
    return resolve(repo, rev, what)


def merge_base(repo: StrPath, base: str, rev: str) -> str:
    """The best common ancestor of ``base`` and ``rev``; ``base`` itself when they have none."""
    if _not_a_rev(base) or _not_a_rev(rev):
        return base
    done = run(repo, "merge-base", "--end-of-options", base, rev, check=False)
    return done.stdout.strip() or base


def default_branch(repo: StrPath) -> str:
    """The branch a clone would check out: origin's HEAD, else init.defaultBranch, else master."""
    remote = run(repo, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD", check=False).stdout.strip()
    if remote:
        return remote.removeprefix("origin/")
    configured = run(repo, "config", "--get", "init.defaultBranch", check=False).stdout.strip()
    return configured or "master"


# -- content ----------------------------------------------------------------------------------


def show_bytes(repo: StrPath, rev: str, path: str) -> bytes | None:
    """A file's bytes at ``rev``, or None if it does not exist there."""
    if _not_a_rev(rev):
        return None
    done = _run(repo, ("show", f"{rev}:{path}"), text=False, data=None, env=None, hooks=False, confine=())
    return done.stdout if done.returncode == 0 else None


def show(repo: StrPath, rev: str, path: str) -> str | None:
    """A file's text at ``rev``, or None if it does not exist there (binary content is replaced)."""
    data = show_bytes(repo, rev, path)
    return None if data is None else data.decode("utf-8", "replace")


MAX_DIFF_BYTES = 64 * 1024 * 1024
# Attributes in the checked-out tree must not hide a change (`* -diff`, textconv drivers):
# --text and --no-textconv make git show every change as text, whatever .gitattributes says.
_DIFF = ["-c", "core.quotePath=false", "diff", "--no-color", "--no-ext-diff", "--no-textconv", "--text", "-M"]


def changed_sizes(repo: StrPath, base: str, rev: str) -> dict[str, int]:
    """The size in bytes of each file ``rev`` adds or changes since ``base``, from the objects'
    headers (``diff --raw`` and ``cat-file --batch-check``): no content is read."""
    fields = run(repo, "diff", "--raw", "-z", "--no-renames", "--no-abbrev", base, rev, "--").stdout.split("\0")
    blobs: dict[str, str] = {}  # path -> its blob at rev
    for meta, path in zip(fields[::2], fields[1::2], strict=False):
        parts = meta.lstrip(":").split()
        if len(parts) == 5 and parts[1] not in ("000000", "160000") and set(parts[3]) != {"0"}:
            blobs[path] = parts[3]
    if not blobs:
        return {}
    wanted = "\n".join(sorted(set(blobs.values()))) + "\n"
    done = run(repo, "cat-file", "--batch-check=%(objectname) %(objectsize)", data=wanted, check=False)
    size = {sha: int(n) for sha, n in (line.split() for line in done.stdout.splitlines()) if n.isdigit()}
    return {path: size[sha] for path, sha in blobs.items() if sha in size}


def diff(repo: StrPath, base: str, rev: str, skip: tuple[str, ...] = ()) -> tuple[str, str, bool]:
    """(name-status -z, unified patch with no context, truncated?) between two commits; the
    patch leaves out the files in ``skip`` (too large to read), which name-status still lists.
    The patch is read as a stream and cut at ``MAX_DIFF_BYTES``."""
    status = run(repo, *_DIFF, "--name-status", "-z", base, rev, "--").stdout
    excluded = [f":(exclude,literal){path}" for path in skip]
    proc = subprocess.Popen(
        ["git", *NO_HOOKS, *_DIFF, "-U0", base, rev, "--", *excluded],
        cwd=repo,
        env=environment(),
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


def commit_tree(
    repo: StrPath, tree: str, parent: str, message: str, author: tuple[str, str], committer: tuple[str, str]
) -> str:
    """A new commit of ``tree`` on ``parent`` by ``author`` and ``committer`` (name, email).

    The message goes through stdin and the names through the environment, never a shell; git
    writes the message as given (no comment stripping, no hooks). Identities set in this
    process's environment do not leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_"))}
    env.update(
        GIT_AUTHOR_NAME=author[0],
        GIT_AUTHOR_EMAIL=author[1],
        GIT_COMMITTER_NAME=committer[0],
        GIT_COMMITTER_EMAIL=committer[1],
    )
    out = run_bytes(repo, "commit-tree", tree, "-p", parent, "-F", "-", data=message.encode("utf-8"), env=env)
    return out.decode().strip()


# -- worktrees --------------------------------------------------------------------------------


def add_worktree(repo: StrPath, path: StrPath, commit: str) -> None:
    """A detached worktree of ``commit`` at ``path`` (no post-checkout hook runs)."""
    os.makedirs(os.path.dirname(os.fspath(path)), exist_ok=True)
    run(repo, "worktree", "add", "--quiet", "--detach", "--force", os.fspath(path), commit)


def remove_worktree(repo: StrPath, path: StrPath) -> None:
    """Remove the worktree at ``path``, whatever it holds, and forget it."""
    run(repo, "worktree", "remove", "--force", os.fspath(path), check=False)
    if os.path.lexists(path):
        import shutil  # only when git left the directory behind

        shutil.rmtree(path, ignore_errors=True)
    run(repo, "worktree", "prune", check=False)


def checked_out(repo: StrPath) -> dict[str, str]:
    """The branches checked out in ``repo``'s worktrees: each branch's short name -> its worktree."""
    found: dict[str, str] = {}
    for block in run(repo, "worktree", "list", "--porcelain").stdout.split("\n\n"):
        lines = block.splitlines()
        path = next((line.removeprefix("worktree ") for line in lines if line.startswith("worktree ")), None)
        head = next((line[18:] for line in lines if line.startswith("branch refs/heads/")), None)
        if path and head:
            found[head] = path
    return found
