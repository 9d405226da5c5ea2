"""The sandbox a gate's checks run in: they execute the candidate's code, so they are confined.

A check may write only its run directory (the throw-away checkout, its junit files) and a
private TMPDIR, plus what the target's ``[sandbox] writable`` names and the checkout's own
administrative directory in the repository's git dir (its HEAD and index; never the shared
refs). It cannot see the tracker's database or the workers' workspaces. Everything else is
read-only, so a test that runs ``git update-ref refs/heads/main`` on the main repository fails
instead of moving main.
``--no-sandbox`` (``SHOPFLOOR_SANDBOX=off``) runs checks unconfined; the mode is part of the
cache key, so results of the two never stand in for each other.
"""

from __future__ import annotations

import os
from pathlib import Path

from shopfloor.paths import workspace_root
from shopfloor.sandbox import bwrap
from shopfloor.sandbox.config import enabled
from shopfloor.sandbox.policy import Confinement


def mode() -> str:
    return "bwrap" if enabled() else "none"


def _admin_dir(checkout: Path) -> str | None:
    """The worktree's own directory in the git dir (``.git`` is a file ``gitdir: <path>``)."""
    try:
        text = (checkout / ".git").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text.removeprefix("gitdir:").strip() if text.startswith("gitdir:") else None


def check_confinement(repo: Path, checkout: Path, run_dir: Path, writable: tuple[str, ...] = ()) -> Confinement:
    common = repo / ".git"
    admin = _admin_dir(checkout)
    return Confinement(
        workdir=str(checkout),
        writable=(str(run_dir), *((admin,) if admin else ()), *writable),
        hidden=(str(common / "shopfloor"), str(workspace_root(repo))),
    )


def prefix(repo: Path, checkout: Path, run_dir: Path, env: dict[str, str], writable: tuple[str, ...] = ()) -> list[str]:
    """The bwrap prefix for the checks on ``checkout`` (empty with --no-sandbox); ``env`` gets TMPDIR."""
    if not enabled():
        return []
    tmp = run_dir / "tmp"
    os.makedirs(tmp, exist_ok=True)
    env["TMPDIR"] = str(tmp)
    return bwrap.prefix(check_confinement(repo, checkout, run_dir, writable))
