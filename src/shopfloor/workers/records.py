"""Worker rows in the tracker database (table ``workers``, declared in ``workers.migrations``).

The row is the worker's whole story: who started it, where it runs, what its agent has
reported so far. The shim writes it as events arrive; CLI commands read it. Every update is
guarded by ``generation`` so a shim from before a restart cannot overwrite its successor.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from typing import Any

from shopfloor.errors import NotFoundError
from shopfloor.tracker.rows import Rows
from shopfloor.workers.migrations import migrations

STATES = ("starting", "running", "done", "failed", "killed", "lost")
FINAL_STATES = frozenset({"done", "failed", "killed", "lost"})


@dataclass
class Worker:
    name: str
    issue: str
    actor: str
    branch: str
    worktree: str
    agent: str
    state: str
    terminal: str  # "tmux:<session>" or "detached"
    log_dir: str
    started_at: str
    generation: int = 1
    session_id: str | None = None
    context_tokens: int = 0
    context_window: int | None = None
    context_used: float | None = None
    tokens: int = 0
    cost_usd: float = 0.0
    pid: int | None = None  # the shim's
    pid_start: str | None = None  # the shim's start time, so a reused pid is not mistaken for it
    agent_pid: int | None = None  # leads the agent's process group
    agent_pid_start: str | None = None
    exit_code: int | None = None
    error: str | None = None
    wip_commit: str | None = None
    last_event: str | None = None
    last_event_at: str | None = None
    ended_at: str | None = None
    port_base: int | None = None  # the first of its own TCP ports (workspace.ports), held until it is removed
    port_count: int = 0

    @property
    def tmux_session(self) -> str | None:
        return self.terminal.removeprefix("tmux:") if self.terminal.startswith("tmux:") else None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


ROWS = Rows(Worker, "workers", owner=migrations)


def insert(conn: sqlite3.Connection, worker: Worker) -> None:
    """Insert the row, in the caller's transaction (it goes with the issue's claim)."""
    ROWS.insert(conn, asdict(worker))


def not_found(name: str) -> NotFoundError:
    return NotFoundError(
        f"no worker {name!r}: list them with `shopfloor worker list` (a removed worker's logs: `shopfloor logs ISSUE`)"
    )


def get(conn: sqlite3.Connection, name: str) -> Worker:
    worker = find(conn, name)
    if worker is None:
        raise not_found(name)
    return worker


def find(conn: sqlite3.Connection, name: str) -> Worker | None:
    return ROWS.first(conn, "name = ?", (name,))


def all_workers(conn: sqlite3.Connection) -> list[Worker]:
    return ROWS.select(conn, order="started_at, name")


def update(conn: sqlite3.Connection, name: str, generation: int, **changes: Any) -> bool:
    """Write ``changes`` if the row is still of ``generation``; False if a restart replaced it."""
    return ROWS.update(conn, "name = ? AND generation = ?", (name, generation), **changes) == 1


def restart(conn: sqlite3.Connection, name: str, generation: int, now: str, *, fresh: bool) -> bool:
    """Make the row of ``generation`` the next generation's, starting again: what its last run
    reported is cleared. A fresh session starts with an empty context; a resumed one keeps its
    last reading. False if another process changed the row meanwhile."""
    cleared = dict.fromkeys(("pid", "pid_start", "agent_pid", "agent_pid_start", "exit_code", "error"))
    cleared.update(wip_commit=None, ended_at=None, last_event=None)
    if fresh:
        cleared.update(context_used=None, context_tokens=0)
    started = {"generation": generation + 1, "state": "starting", "terminal": "detached", "started_at": now}
    return ROWS.update(conn, "name = ? AND generation = ?", (name, generation), **started, **cleared) == 1


def held_ports(conn: sqlite3.Connection) -> list[tuple[int, int]]:
    """The (first, count) port range of every worker that holds one (``workspace.ports``)."""
    return [(w.port_base, w.port_count) for w in ROWS.select(conn, "port_base IS NOT NULL") if w.port_base is not None]


def issues(conn: sqlite3.Connection) -> list[str]:
    """The issues that have a worker row."""
    return [str(row[0]) for row in conn.execute("SELECT issue FROM workers")]


def delete(conn: sqlite3.Connection, name: str) -> None:
    ROWS.delete(conn, "name = ?", (name,))
