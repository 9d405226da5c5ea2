"""Server-sent events: the floor page's live updates.

A stream checks a cheap fingerprint every ``STEP_S``: SQLite's ``PRAGMA data_version`` on a
connection of its own (it moves whenever another connection commits: a shim recording an event,
the floor, the queue, a person's command) and the lanes record's modification time, plus a slow
tick so that a process that died without writing is still noticed. Only when the fingerprint
moved does it render the floor again and send it; the page's script swaps it in.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from shopfloor.floor.wake import version

STEP_S = 0.2  # how often the fingerprint is read
SLOW_TICK_S = 5.0  # a re-read even when nothing committed (liveness, the lanes' ages)
KEEPALIVE_S = 15.0  # a comment line, so proxies and the browser keep the stream open


def fingerprint(conn: sqlite3.Connection, lanes: Path, now: float) -> tuple[int, int, int]:
    try:
        mtime = lanes.stat().st_mtime_ns
    except OSError:
        mtime = 0
    return version(conn), mtime, int(now // SLOW_TICK_S)


def event(name: str, data: str, event_id: int | None = None) -> str:
    """One server-sent event; every line of ``data`` is its own ``data:`` line."""
    head = f"event: {name}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    return head + "".join(f"data: {line}\n" for line in data.split("\n")) + "\n"


async def stream(
    check: Callable[[], tuple[int, int, int]],
    render: Callable[[], str],
    disconnected: Callable[[], Awaitable[bool]],
    step_s: float = STEP_S,
) -> AsyncIterator[str]:
    """The floor's events: the current fragment at once, then each one that differs."""
    yield "retry: 1000\n\n"
    last: tuple[int, int, int] | None = None
    shown = ""
    sent = 0
    quiet_since = time.monotonic()
    while True:
        now = check()
        if now != last:
            last = now
            html = render()
            if html != shown:
                shown = html
                sent += 1
                yield event("floor", html, sent)
                quiet_since = time.monotonic()
        if time.monotonic() - quiet_since > KEEPALIVE_S:
            yield ": keepalive\n\n"
            quiet_since = time.monotonic()
        await asyncio.sleep(step_s)
        if await disconnected():
            return
