"""Processes: is this pid still the process we started, and stopping a process group.

A pid alone is not an identity (pids are reused), so each worker row stores the shim's
start time as the kernel reports it; a pid whose start time differs is a different process.
Zombies count as dead.
"""

from __future__ import annotations

import contextlib
import os
import signal


def start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    except OSError:
        return None
    if fields[0] in (b"Z", b"X"):  # zombie or dead: exited, not yet reaped
        return None
    return fields[19].decode()


def is_alive(pid: int | None, started: str | None) -> bool:
    if not pid:
        return False
    if os.path.isdir("/proc/self"):
        now = start_time(pid)
        return now is not None and (started is None or now == started)
    try:  # no /proc (macOS): a signal-0 probe, without the reuse check
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_group(pid: int | None, sig: signal.Signals) -> None:
    """Signal the process group led by ``pid`` (agents run in a session of their own)."""
    if not pid:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def group_alive(pgid: int) -> bool:
    """Whether any process is left in the group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True
