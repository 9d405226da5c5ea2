"""Agents reach ``shopfloor`` by name: a worker's ``PATH`` starts with the directory of the running
``shopfloor`` executable, so a floor started as ``.venv/bin/shopfloor`` gives its agents the same one."""

from __future__ import annotations

import os
import shutil
import sys

from shopfloor.errors import ShopfloorError

NAME = "shopfloor"


def own_dir(argv0: str | None = None, executable: str | None = None) -> str | None:
    """The directory of the ``shopfloor`` executable running now: the console script this process
    was started as (``sys.argv[0]``), else the one next to the interpreter (``python -m shopfloor``)."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    executable = sys.executable if executable is None else executable
    if os.path.basename(argv0) == NAME:
        found = argv0 if os.sep in argv0 else shutil.which(argv0)
        if found and os.access(found, os.X_OK):
            return os.path.dirname(os.path.abspath(found))
    if executable:
        beside = os.path.join(os.path.dirname(os.path.abspath(executable)), NAME)
        if os.path.isfile(beside) and os.access(beside, os.X_OK):
            return os.path.dirname(beside)
    return None


def path_first(path: str | None, first: str | None) -> str:
    """``path`` with ``first`` at its front (once)."""
    parts = [p for p in (path or "").split(os.pathsep) if p]
    if first is None:
        return os.pathsep.join(parts)
    return os.pathsep.join([first, *(p for p in parts if p != first)])


def require_reachable(env: dict[str, str]) -> str:
    """The ``shopfloor`` an agent with ``env`` runs; one clear error when there is none."""
    found = shutil.which(NAME, path=env.get("PATH", ""))
    if not found:
        raise ShopfloorError(
            f"the agent could not run `{NAME}`: it is not on the worker's PATH ({env.get('PATH', '')!r}), so "
            f"`shopfloor done` and `comment` would fail: start shopfloor through its installed `{NAME}` "
            "command (e.g. .venv/bin/shopfloor), not `python -m shopfloor` from an environment without it"
        )
    return found
