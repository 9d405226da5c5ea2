"""``gate install``: a git pre-push hook that gates what is pushed.

The hook is a fixed two-line script calling this shopfloor by absolute path; it reads git's
pre-push lines (``<local ref> <local sha> <remote ref> <remote sha>``) and refuses:
- a push from a worker branch (``floor/...``) to the target branch: work lands through the queue;
- a push of anything whose gate verdict is not ``pass``.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from shopfloor import git
from shopfloor.errors import ConflictError

MARKER = "# installed by shopfloor gate install"
ZERO = "0" * 40


@dataclass(frozen=True)
class Push:
    local_ref: str
    local_sha: str
    remote_ref: str


def parse_lines(text: str) -> list[Push]:
    pushes = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[1].strip("0"):  # a deletion pushes the zero sha: nothing to gate
            pushes.append(Push(parts[0], parts[1], parts[2]))
    return pushes


def refusal(push: Push, target: str, worker_tips: dict[str, str]) -> str | None:
    """Why a push is refused outright, before any gating (pure). ``worker_tips`` maps each
    ``floor/...`` branch's tip commit to its name: a push of ``HEAD:main`` from a worker branch
    is recognised by its commit, not by the ref name git reports."""
    if push.remote_ref != f"refs/heads/{target}":
        return None
    branch = push.local_ref.removeprefix("refs/heads/") if push.local_ref.startswith("refs/heads/floor/") else None
    branch = branch or worker_tips.get(push.local_sha)
    if branch:
        return f"refusing to push worker branch {branch} to {target}: finished work lands through `shopfloor queue`"
    return None


def worker_tips(repo: Path) -> dict[str, str]:
    out = git.run(repo, "for-each-ref", "--format=%(objectname) %(refname:short)", "refs/heads/floor/").stdout
    return {sha: name for sha, name in (line.split(" ", 1) for line in out.splitlines() if " " in line)}


def script(executable: str) -> str:
    return f'#!/bin/sh\n{MARKER}\nexec {shlex.quote(executable)} gate pre-push "$@"\n'


def install(repo: Path, *, force: bool) -> Path:
    hooks = Path(git.hooks_dir(repo))
    hook = hooks / "pre-push"
    if hook.exists() and MARKER not in hook.read_text(encoding="utf-8", errors="replace") and not force:
        raise ConflictError(f"{hook} already exists and is not shopfloor's: merge it by hand, or pass --force")
    hooks.mkdir(parents=True, exist_ok=True)
    executable = os.path.abspath(sys.argv[0]) if os.path.basename(sys.argv[0]) == "shopfloor" else "shopfloor"
    temp = hook.with_name(f".pre-push.{os.getpid()}.tmp")
    temp.write_text(script(executable), encoding="utf-8")
    temp.chmod(0o755)
    os.replace(temp, hook)
    return hook
