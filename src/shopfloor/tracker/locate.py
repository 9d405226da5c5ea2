"""Find the repository, its shared git directory, and so the tracker's database.

One database serves every worktree of a repository: it lives in the git *common* directory
(what ``git rev-parse --git-common-dir`` prints), which all worktrees share and git never
commits. Spawning git costs several milliseconds on every command, and agents call the CLI
constantly, so the common case is resolved here the way git itself does it: walk up to the
nearest ``.git``; if it is a file (a linked worktree), follow its ``gitdir:`` line and that
directory's ``commondir`` file. Anything unusual (``GIT_DIR`` set, an unreadable layout)
falls back to asking git. The tests check that both ways agree.

This module sits on every command's start-up path, so it uses ``os.path`` rather than
``pathlib`` (which alone costs about 3 ms to import).
"""

from __future__ import annotations

import os

from shopfloor.errors import ShopfloorError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path  # lazy: pathlib is not loaded on the `ready --json` path

DB_ENV = "SHOPFLOOR_DB"
STATE_DIR = ".shopfloor"
JSONL_NAME = "issues.jsonl"
CONFIG_NAME = "config.toml"


class Location:
    """Where things are for the current working tree (all paths absolute strings)."""

    __slots__ = ("common_dir", "db_file", "worktree_dir")

    def __init__(self, worktree_dir: str, common_dir: str, db_file: str) -> None:
        self.worktree_dir = worktree_dir
        self.common_dir = common_dir
        self.db_file = db_file

    @property
    def jsonl_file(self) -> str:
        return os.path.join(self.worktree_dir, STATE_DIR, JSONL_NAME)

    @property
    def worktree(self) -> Path:
        from pathlib import Path  # lazy: pathlib is not loaded on the `ready --json` path

        return Path(self.worktree_dir)

    @property
    def db_path(self) -> Path:
        from pathlib import Path  # lazy: pathlib is not loaded on the `ready --json` path

        return Path(self.db_file)

    @property
    def state_dir(self) -> Path:
        return self.worktree / STATE_DIR

    @property
    def jsonl_path(self) -> Path:
        return self.state_dir / JSONL_NAME

    @property
    def config_path(self) -> Path:
        return self.state_dir / CONFIG_NAME


def _read_gitfile(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read().strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith("gitdir:"):
        return None
    target = text[len("gitdir:") :].strip()
    return target if os.path.isabs(target) else os.path.join(os.path.dirname(path), target)


def _common_dir_of(git_dir: str) -> str:
    commondir = os.path.join(git_dir, "commondir")
    if os.path.isfile(commondir):
        with open(commondir, encoding="utf-8") as handle:
            ref = handle.read().strip()
        return os.path.realpath(ref if os.path.isabs(ref) else os.path.join(git_dir, ref))
    return os.path.realpath(git_dir)


def _walk(start: str) -> tuple[str, str] | None:
    """Return ``(worktree, common_dir)`` by walking up from ``start``, or None if unsure."""
    directory = start
    while True:
        dotgit = os.path.join(directory, ".git")
        if os.path.isdir(dotgit):
            if not os.path.exists(os.path.join(dotgit, "HEAD")):
                return None
            return directory, _common_dir_of(dotgit)
        if os.path.isfile(dotgit):
            git_dir = _read_gitfile(dotgit)
            if git_dir is None or not os.path.exists(os.path.join(git_dir, "HEAD")):
                return None
            return directory, _common_dir_of(git_dir)
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _ask_git(start: str) -> tuple[str, str]:
    from shopfloor import git  # only here: the walk above answers without git (start-up time)

    result = git.run(start, "rev-parse", "--show-toplevel", "--git-common-dir", check=False)
    if result.returncode != 0:
        raise ShopfloorError(f"{start} is not inside a git repository: run `git init` first, or cd into one")
    top, common = result.stdout.splitlines()[:2]
    return top, os.path.realpath(os.path.join(start, common))


def find_repo(start: str | None = None) -> tuple[str, str]:
    """Return ``(worktree top, git common dir)`` for ``start`` (default: the cwd)."""
    start = os.path.realpath(start or os.getcwd())
    if not any(k in os.environ for k in ("GIT_DIR", "GIT_COMMON_DIR", "GIT_WORK_TREE")):
        found = _walk(start)
        if found is not None:
            return found
    return _ask_git(start)


def locate(start: str | None = None) -> Location:
    worktree, common_dir = find_repo(start)
    override = os.environ.get(DB_ENV)
    db_file = os.path.abspath(override) if override else os.path.join(common_dir, "shopfloor", "tracker.db")
    return Location(worktree, common_dir, db_file)
