"""Run git, waiting out a lock another git process holds for a moment.

Parallel workers, the gate and the queue all run git on one repository. A command that finds
``.git/config.lock`` or a ref's ``.lock`` held fails at once ("could not lock config file",
"cannot lock ref", "Unable to create '...lock': File exists") and changes nothing, so running
it again a little later is safe; blocking an issue over it is not. Every other failure comes
back at once, for the caller to report.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from shopfloor.errors import ShopfloorError

LOCK_RETRIES = 6  # waits of 0.05 s doubling: about 3 s in all


def locked(stderr: str) -> bool:
    """Pure: git failed because another process holds one of its lock files. A compare-and-swap
    that lost ("cannot lock ref ...: is at X but expected Y") is no held lock: it fails at once."""
    text = stderr.lower()
    return "could not lock config file" in text or (".lock" in text and "file exists" in text)


# A repository an agent wrote (its workspace) can declare itself a partial clone whose promisor
# remote's upload-pack is a program of its choosing: then any git command that looks up a missing
# object (rev-parse, rev-list, the upload-pack of a fetch) runs it, outside the agent's sandbox.
# shopfloor never needs lazy fetching: it is off for every git it runs (and their children).
NO_LAZY_FETCH = {"GIT_NO_LAZY_FETCH": "1"}


def run(argv: list[str], cwd: Path, *, text: bool = True) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(argv)`` with output captured, run again while it fails on a held lock."""
    env = {**os.environ, **NO_LAZY_FETCH}
    attempt = 0
    while True:
        try:
            done = subprocess.run(argv, cwd=cwd, capture_output=True, text=text, check=False, env=env)
        except FileNotFoundError:
            raise ShopfloorError("git is not installed: install git (apt-get install git)") from None
        stderr = done.stderr if isinstance(done.stderr, str) else (done.stderr or b"").decode("utf-8", "replace")
        if done.returncode == 0 or attempt == LOCK_RETRIES or not locked(stderr):
            return done
        time.sleep(0.05 * 2**attempt)
        attempt += 1
