"""The bubblewrap adapter: find ``bwrap``, check it can build a sandbox here, build the argv.

Checked once per process: ``bwrap`` is run with the same options a confinement uses, so a
kernel without unprivileged user namespaces (or a container that forbids mounts) is
reported at start-up with the fix, not as a failure of every agent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace

from shopfloor.errors import ShopfloorError
from shopfloor.sandbox.policy import Confinement, bwrap_argv

INSTALL = "install bubblewrap (apt-get install bubblewrap), or pass --no-sandbox to run agents unconfined"
_WORKS: dict[str, str | None] = {}  # bwrap path -> None when it works, else why not


BINARY_ENV = "SHOPFLOOR_BWRAP"  # the bwrap to use, when it is not the one on PATH


def locate() -> str | None:
    return shutil.which(os.environ.get(BINARY_ENV) or "bwrap")


def _probe(binary: str) -> str | None:
    argv = bwrap_argv(binary, Confinement(workdir="/tmp", hidden=("/tmp",)))
    try:
        # /bin/sh by its path: the caller's PATH may hold nothing but the tools it needs.
        done = subprocess.run([*argv, "/bin/sh", "-c", ":"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode == 0:
        return None
    return (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]


def require() -> str:
    """The path of a working ``bwrap``, or a ShopfloorError naming the fix."""
    binary = locate()
    if binary is None:
        raise ShopfloorError(f"bubblewrap is not installed: {INSTALL}")
    if binary not in _WORKS:
        _WORKS[binary] = _probe(binary)
    why = _WORKS[binary]
    if why is not None:
        raise ShopfloorError(
            f"bubblewrap cannot build a sandbox on this machine ({why}): enable unprivileged user namespaces "
            "(sysctl kernel.unprivileged_userns_clone=1), or pass --no-sandbox"
        )
    return binary


def prefix(confinement: Confinement) -> list[str]:
    """The argv prefix that runs a command confined. Writable directories are created; hidden
    directories and read-only sources that do not exist are left out (nothing to hide or show)."""
    binary = require()
    for path in (confinement.workdir, *confinement.writable):
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise ShopfloorError(f"cannot create the sandbox's writable directory {path} ({exc.strerror})") from None
    ready = replace(
        confinement,
        hidden=tuple(p for p in confinement.hidden if os.path.isdir(p)),
        readonly=tuple((s, d) for s, d in confinement.readonly if os.path.exists(s)),
    )
    return bwrap_argv(binary, ready)
