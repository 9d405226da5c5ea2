"""``shopfloor status`` and ``status --watch``: one snapshot of the floor, its lines, and the refresh loop.

``take`` reads the tracker; ``lines`` and ``as_json`` are pure functions of a snapshot, so what a
person sees is testable without a terminal. ``watch`` redraws in place on a terminal (ANSI home,
erase), and elsewhere (a pipe, a file) prints one snapshot per interval after a blank line.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from shopfloor.queue.entries import Entry
from shopfloor.workers.progress import printable
from shopfloor.workers.records import Worker

LAST_EVENT_WIDTH = 72  # the last event's share of a status line; the stored one is longer
HOME, ERASE_LINE, ERASE_BELOW = "\x1b[H", "\x1b[K", "\x1b[J"


@dataclass(frozen=True)
class Snapshot:
    at: str  # when it was taken (ISO 8601, UTC)
    workers: tuple[Worker, ...]
    queue: tuple[Entry, ...]  # every entry: live, stuck and merged are told apart when shown
    counts: dict[str, int]  # issues by status
    unconfined: tuple[str, ...]  # workers whose agent runs without a sandbox
    admission: dict[str, Any] | None = None  # why the running floor's free slots stay idle (floor.admission)
    lanes: dict[str, Any] | None = None  # the running floor's gate jobs and queue lane (floor.lanes)


def take(tracker: Any) -> Snapshot:
    """The floor now: workers (their liveness reconciled), the queue, issue counts."""
    from shopfloor.floor import lanes
    from shopfloor.floor.admission import waiting
    from shopfloor.paths import state_dir
    from shopfloor.queue import entries
    from shopfloor.tracker import store
    from shopfloor.workers import lifecycle

    listed = lifecycle.list_workers(tracker)
    counts = store.status_counts(tracker.conn)
    return Snapshot(
        at=tracker.now(),
        workers=tuple(listed),
        queue=tuple(entries.list_entries(tracker.conn, None)),
        counts=counts,
        unconfined=tuple(w.name for w in listed if not _sandboxed(w.log_dir)),
        admission=waiting(state_dir(tracker)),
        lanes=lanes.read(state_dir(tracker)),
    )


def as_json(snap: Snapshot) -> dict[str, Any]:
    from shopfloor.queue import entries

    queue = list(snap.queue)
    return {
        "at": snap.at,
        "workers": [w.as_json() for w in snap.workers],
        "queue": [e.as_json() for e in entries.live(queue)],
        "queue_stuck": [e.as_json() for e in entries.stuck(queue)],
        "issues": snap.counts,
        "unconfined": list(snap.unconfined),
        "slots_idle": None if snap.admission is None else {k: snap.admission.get(k) for k in ("reason", "since")},
        "lanes": None if snap.lanes is None else {k: snap.lanes.get(k) for k in ("gate_jobs", "gating", "landing")},
    }


def _short(text: str | None, width: int) -> str:
    line = printable(" ".join((text or "-").split()))  # the agent's words: no escape sequence reaches a terminal
    return line if len(line) <= width else line[: width - 1] + "…"


def lines(snap: Snapshot) -> list[str]:
    """What ``status`` prints for ``snap``: workers, the queue (live entries only), issue counts."""
    from shopfloor.cli.worker_cmds import _bar
    from shopfloor.queue import entries

    out = []
    if snap.unconfined:
        out.append(f"warning: running without a sandbox (--no-sandbox): {', '.join(snap.unconfined)}")
    out.append("workers:" if snap.workers else "workers: none")
    if snap.admission is not None:
        out.append(f"slots idle: {snap.admission.get('reason')} (since {str(snap.admission.get('since'))[11:19]})")
    for w in snap.workers:
        last = _short(w.last_event, LAST_EVENT_WIDTH)
        out.append(f"  {w.name:<14} {w.issue:<12} {w.agent:<8} {w.state:<8} {_bar(w.context_used):<17} {last}")
    queue = list(snap.queue)
    waiting, stuck = entries.live(queue), entries.stuck(queue)
    merged = sum(1 for e in queue if e.state == "merged")
    if snap.lanes is not None:
        from shopfloor.floor.lanes import describe
        from shopfloor.tracker.clock import epoch

        out.extend(describe(snap.lanes, epoch(snap.at)))
    out.append(f"queue: {len(waiting)} waiting" + (f", {len(stuck)} stuck" if stuck else "") + f", {merged} merged")
    out.extend(f"  {e.id:>4} {e.state:<14} {e.branch}" for e in waiting + stuck)
    out.append("issues: " + ", ".join(f"{k} {v}" for k, v in sorted(snap.counts.items())))
    return out


def header(snap: Snapshot, interval: float) -> str:
    return f"shopfloor status at {snap.at[11:19]} (every {interval:g}s; Ctrl-C ends)"


def frame(snap: Snapshot, interval: float, terminal: bool, width: int = 0) -> str:
    """One refresh as text: on a terminal it redraws the screen from the top, each line cut to
    ``width`` (a wrapped line would push the next refresh down), elsewhere it follows the
    previous snapshot after a blank line."""
    body = [header(snap, interval), *lines(snap)]
    if terminal:
        cut = [line[:width] if width > 0 else line for line in body]
        return HOME + "".join(line + ERASE_LINE + "\n" for line in cut) + ERASE_BELOW
    return "\n".join(body) + "\n"


def watch(
    snapshot: Callable[[], Snapshot],
    out: IO[str],
    interval: float,
    count: int | None,
    *,
    terminal: bool,
    json_lines: bool = False,
) -> int:
    """Show a snapshot every ``interval`` seconds, ``count`` times (None: until Ctrl-C, which ends it quietly)."""
    import json

    shown = 0
    try:
        while count is None or shown < count:
            started = time.monotonic()
            snap = snapshot()
            if json_lines:
                text = json.dumps(as_json(snap), ensure_ascii=False) + "\n"
            else:
                width = shutil.get_terminal_size().columns if terminal else 0
                text = ("" if terminal or shown == 0 else "\n") + frame(snap, interval, terminal, width)
            out.write(text)
            out.flush()
            shown += 1
            if count is None or shown < count:
                time.sleep(max(0.0, interval - (time.monotonic() - started)))
    except KeyboardInterrupt:
        pass
    return 0


def _sandboxed(log_dir: str) -> bool:
    """Whether the worker's agent was started in a sandbox (its launch spec holds the bwrap prefix)."""
    from pathlib import Path

    from shopfloor.errors import ShopfloorError
    from shopfloor.workers.spec import SPEC_NAME, read

    try:
        return bool(read(Path(log_dir) / SPEC_NAME).sandbox)
    except ShopfloorError:
        return True  # no spec (yet): nothing runs unconfined from it
