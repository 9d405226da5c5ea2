"""What the dashboard's pages read, through each package's own read functions (never SQL on
another package's tables: tests/unit/test_rows.py).

Every function takes an open ``Tracker`` and returns plain rows; turning them into what a page
shows is ``viewmodels``' job.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopfloor.errors import ShopfloorError
from shopfloor.floor import attempts, lanes
from shopfloor.floor.coordinator import FloorConfig, limit_for
from shopfloor.paths import state_dir
from shopfloor.queue import entries
from shopfloor.queue.entries import Entry
from shopfloor.tracker import store
from shopfloor.tracker.service import Tracker
from shopfloor.workers import lifecycle
from shopfloor.workers.records import Worker

DEFAULT_LIMIT = 0.40  # the 40% rule (agents.base.AgentOptions)


@dataclass(frozen=True)
class FloorRows:
    now: float  # epoch seconds when read
    workers: list[Worker]
    queue: list[Entry]
    counts: dict[str, int]
    lanes: dict[str, Any] | None  # the running floor's gate jobs and queue lane, or None
    limits: dict[str, float]  # each worker's agent's context limit (the 40% rule by default)
    titles: dict[str, str]  # the workers' issues' titles
    tries: dict[str, int]  # the workers' issues' attempts so far (this one included)


def floor_rows(tracker: Tracker) -> FloorRows:
    workers = lifecycle.list_workers(tracker)
    limits: dict[str, float] = {}
    config = FloorConfig()
    for agent in {w.agent for w in workers}:
        try:
            limits[agent] = limit_for(tracker, config, agent)
        except ShopfloorError:  # a config the floor itself would refuse: show the default line
            limits[agent] = DEFAULT_LIMIT
    return FloorRows(
        now=time.time(),
        workers=workers,
        queue=entries.list_entries(tracker.conn, None),
        counts=store.status_counts(tracker.conn),
        lanes=lanes.read(state_dir(tracker)),
        limits=limits,
        titles={i["id"]: i["title"] for i in store.fetch(tracker.conn, sorted({w.issue for w in workers}))},
        tries={w.issue: len(attempts.of_issue(tracker.conn, w.issue)) for w in workers},
    )


def lanes_file(tracker: Tracker) -> Path:
    return state_dir(tracker) / lanes.RECORD_NAME
