"""One coordinator per repository: ``shopfloor run`` holds the floor's lock while it runs.

Two coordinators on one repository gated one commit twice, and one exited with a conflict;
so a second ``run`` is refused, naming who holds the floor (pid, host, since when). The lock
is an ``flock`` on ``<git common dir>/shopfloor/floor.lock``: the kernel releases it when the
holder exits, however it exits, so a crashed coordinator never leaves the floor locked. The
file's text (who holds it) is only for the message.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import IO, Any

from shopfloor.errors import ConflictError
from shopfloor.paths import floor_lock


def holder_text(holder: dict[str, Any]) -> str:
    """Who holds the floor, in words (pure)."""
    pid, host, since = holder.get("pid", "?"), holder.get("host", "?"), holder.get("since", "?")
    return f"pid {pid} on {host} since {since}"


def acquire(state_dir: Path) -> IO[str]:
    """Take the floor's lock, or raise ConflictError naming its holder. Keep the returned file
    open for as long as the floor runs (closing it, or exiting, releases the lock)."""
    path = floor_lock(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the floor's whole run
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        try:
            holder = json.loads(handle.read() or "{}")
        except ValueError:
            holder = {}
        handle.close()
        raise ConflictError(
            f"another `shopfloor run` holds this repository's floor ({holder_text(holder)}): "
            "one coordinator runs the floor; stop that one first (Ctrl-C in its terminal)"
        ) from None
    handle.seek(0)
    handle.truncate()
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": since}))
    handle.flush()
    return handle
