"""``shopfloor init --hooks``: a git pre-commit hook that exports the tracker first, so that a
person's commits carry ``.shopfloor/issues.jsonl`` as the database holds it.

The hook goes where git looks for hooks (``git rev-parse --git-path hooks``, which follows
``core.hooksPath``). An existing pre-commit hook that is not shopfloor's is never replaced
without ``--force``; with it, the old hook is kept beside it. Inside a floor worker
(``$SHOPFLOOR_WORKER`` set) the hook does nothing: the floor commits the tracker itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from shopfloor import git
from shopfloor.errors import ConflictError
from shopfloor.tracker.locate import Location
from shopfloor.tracker.trackeronly import TRACKER_PATH

MARKER = "# shopfloor pre-commit hook"
KEPT_SUFFIX = ".before-shopfloor"


def hook_text(shopfloor: str) -> str:
    """The hook script; ``shopfloor`` is the shell-quoted command that runs this shopfloor."""
    return f"""#!/bin/sh
{MARKER} (installed by `shopfloor init --hooks`): export the tracker so that this
# commit carries it. Skip it once with `git commit --no-verify`.
[ -n "$SHOPFLOOR_WORKER" ] && exit 0  # inside a floor worker the floor commits the tracker
[ -f .shopfloor/config.toml ] || exit 0
if ! {shopfloor} export >/dev/null; then
    echo "shopfloor pre-commit hook: \\`shopfloor export\\` failed (above): fix that, or commit with --no-verify" >&2
    exit 1
fi
exec git add -- {TRACKER_PATH}
"""


def hooks_dir(location: Location) -> Path:
    return Path(git.hooks_dir(location.worktree))


def pre_commit_path(location: Location) -> Path:
    return hooks_dir(location) / "pre-commit"


def installed(location: Location) -> bool:
    try:
        return MARKER in pre_commit_path(location).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def check(location: Location, force: bool) -> None:
    """Refuse, before anything is written, to replace a pre-commit hook that is not shopfloor's."""
    path = pre_commit_path(location)
    if not (path.exists() or path.is_symlink()) or force or installed(location):
        return
    raise ConflictError(
        f"{path} already exists and is not shopfloor's: add `shopfloor export && git add {TRACKER_PATH}` to it "
        f"yourself, or re-run with --hooks --force to replace it (it is kept as pre-commit{KEPT_SUFFIX})"
    )


def install(location: Location, shopfloor: str, force: bool) -> str | None:
    """Install (or bring up to date) the pre-commit hook; returns what was done, or None."""
    check(location, force)
    path = pre_commit_path(location)
    text = hook_text(shopfloor)
    shown = os.path.relpath(path, location.worktree)
    kept, verb = "", "installed"
    if path.exists() or path.is_symlink():
        if installed(location):
            if path.read_text(encoding="utf-8", errors="replace") == text:
                return None
            verb = "updated"
        else:
            aside = path.with_name(f"pre-commit{KEPT_SUFFIX}")
            path.replace(aside)
            kept = f"; the old hook is kept as {os.path.relpath(aside, location.worktree)}"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".pre-commit.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o755)
    tmp.replace(path)
    return f"{verb} the pre-commit hook {shown} (runs `shopfloor export` and stages {TRACKER_PATH}){kept}"
