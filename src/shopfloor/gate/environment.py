"""The environment a check runs in: clean, explicit, and the same whoever calls the gate.

A check sees ``PATH``, the locale, ``HOME`` and the user's name, plus the variables the
target's ``[gate] env`` names: nothing else of the caller's. ``PYTHONPATH`` holds only a
guard directory of the gate's own, whose ``sitecustomize`` puts the checked-out tree first on
the import path. Python imports one ``sitecustomize`` only, so a candidate's
``sitecustomize.py`` is never run by a check, and ``PYTHONNOUSERSITE`` keeps
``usercustomize`` out. Bytecode committed in the candidate is removed from the checkout
before any check runs: an unchecked hash-based ``.pyc`` would stand in for its source.

The fingerprint of that environment is part of every cache key, so results computed under
another ``PATH`` or other named variables are never replayed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

ALLOWED = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR")
TREE_VAR = "SHOPFLOOR_GATE_TREE"
GUARD = '''\
"""shopfloor's gate: the checked-out tree first on the import path (and no sitecustomize of its own)."""
import os
import sys

_tree = os.environ.get("SHOPFLOOR_GATE_TREE")
if _tree:
    for _path in (_tree, os.path.join(_tree, "src")):
        if _path not in sys.path:
            sys.path.insert(0, _path)
'''


def allowed(source: dict[str, str], named: tuple[str, ...] = ()) -> dict[str, str]:
    """The caller's variables a check may see (pure)."""
    keep = set(ALLOWED) | set(named)
    return {k: v for k, v in source.items() if k in keep or k.startswith("LC_")}


def fingerprint(source: dict[str, str], named: tuple[str, ...] = ()) -> str:
    """What the results of checks depend on in the environment (pure)."""
    text = json.dumps(sorted(allowed(source, named).items()))
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def guard_dir(run_dir: Path) -> Path:
    path = run_dir / "pyguard"
    path.mkdir(parents=True, exist_ok=True)
    (path / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    return path


def check_env(worktree: Path, guard: Path, named: tuple[str, ...] = ()) -> dict[str, str]:
    env = allowed(dict(os.environ), named)
    env.update(
        PYTHONPATH=str(guard),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONNOUSERSITE="1",
        **{TREE_VAR: str(worktree)},
    )
    return env


def scrub_bytecode(worktree: Path) -> int:
    """Remove compiled Python the candidate committed; returns how many entries went."""
    gone = 0
    for root, dirs, files in os.walk(worktree):
        if ".git" in dirs:
            dirs.remove(".git")
        for name in list(dirs):
            if name == "__pycache__":
                shutil.rmtree(Path(root) / name, ignore_errors=True)
                dirs.remove(name)
                gone += 1
        for name in files:
            if name.endswith((".pyc", ".pyo")):
                (Path(root) / name).unlink(missing_ok=True)
                gone += 1
    return gone
