"""An issue's agent logs, readable: every run of its agents, archived or live (``shopfloor logs``).

Runs are numbered in the order they happened (archived runs first, then the live worker's);
on the floor each run is one attempt (an attempt row carries the worker and generation).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shopfloor.agents import registry
from shopfloor.agents.base import SessionState
from shopfloor.errors import ShopfloorError
from shopfloor.tracker import store
from shopfloor.tracker.clock import epoch
from shopfloor.tracker.service import Tracker
from shopfloor.workers import archive, records
from shopfloor.workers.archive import Range, Run
from shopfloor.workers.progress import describe, printable
from shopfloor.workspace.naming import safe_name

MAX_READ = 8 << 20  # the last 8 MiB of a log is shown
PROMPT_CHARS = 160
STDERR_LINES = 20


def runs_of(tracker: Tracker, issue_id: str) -> list[Run]:
    name = safe_name(issue_id)
    runs = archive.archived_runs(archive.root_of(tracker.location.db_file), name)
    worker = records.find(tracker.conn, name)
    if worker is not None and Path(worker.log_dir).is_dir():
        meta = {"issue": worker.issue, "worker": worker.name, "agent": worker.agent}
        runs += archive.live_runs(Path(worker.log_dir), worker.generation, meta)
    return runs


def read_range(path: Path, span: Range) -> str:
    try:
        with path.open("rb") as source:
            end = span[1] if span[1] is not None else source.seek(0, 2)
            start = max(span[0], end - MAX_READ)
            source.seek(start)
            return source.read(max(0, end - start)).decode("utf-8", "replace")
    except OSError:
        return ""


def _event_lines(run: Run) -> list[str]:
    """The run's events.jsonl told through its agent's adapter, as the pane shows them."""

    try:
        adapter = registry.get(str(run.meta.get("agent") or ""))
    except ShopfloorError:
        return []
    state = SessionState()
    lines = []
    for line in read_range(run.path / "events.jsonl", run.ranges["events.jsonl"]).splitlines():
        for event in adapter.parse_line(line):
            state.apply(event)
            text = describe(event, state)
            if text:
                lines.append(text)
    return lines


def last_text(worker: records.Worker) -> str:
    """The final text its agent said in the run of its current generation (the answer of a
    one-question turn), read from the live events log through its adapter; '' if none."""
    meta = {"issue": worker.issue, "worker": worker.name, "agent": worker.agent}
    runs = [
        r for r in archive.live_runs(Path(worker.log_dir), worker.generation, meta) if r.generation == worker.generation
    ]
    try:
        adapter = registry.get(worker.agent)
    except ShopfloorError:
        return ""
    state = SessionState()
    for run in runs[-1:]:
        for line in read_range(run.path / "events.jsonl", run.ranges["events.jsonl"]).splitlines():
            for event in adapter.parse_line(line):
                state.apply(event)
    return state.last_text


def lines_of(run: Run) -> list[str]:
    """What the agent did and said in this run: the prompts it was sent, its progress lines
    (pane.log, or its events when the pane is empty), and the end of its stderr."""
    lines = []
    if run.meta.get("failed_start"):  # the start failed in its setup: what the setup printed
        setup = read_range(run.path / "setup.log", (0, None)).splitlines()
        lines += [f"setup  {line}" for line in setup[-STDERR_LINES:]]
    for prompt in run.prompts:
        text = " ".join(str(prompt.get("prompt") or "").split())
        short = text if len(text) <= PROMPT_CHARS else text[: PROMPT_CHARS - 1] + "…"
        lines.append(f"prompt ({prompt.get('how') or '?'}, {str(prompt.get('at') or '?')[:19]}): {short}")
    pane = read_range(run.path / "pane.log", run.ranges["pane.log"]).splitlines()
    lines += pane or _event_lines(run)
    stderr = read_range(run.path / "stderr.log", run.ranges["stderr.log"]).splitlines()
    lines += [f"stderr {line}" for line in stderr[-STDERR_LINES:]]
    for line in read_range(run.path / "refused.jsonl", run.ranges["refused.jsonl"]).splitlines():
        try:
            lines.append(f"refused {json.loads(line).get('refused', '')}")
        except (ValueError, AttributeError):
            continue
    return [printable(line) for line in lines]


def header(number: int, run: Run) -> str:
    where = "live" if run.live else "archived"
    if run.meta.get("failed_start"):
        where = "its start failed, archived"
    agent = run.meta.get("agent") or "?"
    if run.prompts and run.prompts[0].get("how") == "lessons":  # the floor's question once the issue was done
        return f"== run {number}, the lessons turn: {agent} gen {run.generation} ({where}) {run.path}"
    return f"== attempt {number}: {agent} gen {run.generation} ({where}) {run.path}"


def as_json(number: int, run: Run) -> dict[str, Any]:
    return {
        "attempt": number,
        "generation": run.generation,
        "worker": run.meta.get("worker"),
        "agent": run.meta.get("agent"),
        "live": run.live,
        "path": str(run.path),
        "lines": lines_of(run),
    }


def match(attempt_keys: Sequence[tuple[str, int]], runs: Sequence[Run]) -> list[Run | None]:
    """Each attempt's run (pure): the first run not yet taken of the same worker and generation."""
    taken: set[int] = set()
    found: list[Run | None] = []
    for worker, generation in attempt_keys:
        pick = next(
            (
                i
                for i, run in enumerate(runs)
                if i not in taken
                and not run.meta.get("failed_start")  # never an attempt
                and run.meta.get("worker") == worker
                and run.generation == generation
            ),
            None,
        )
        if pick is not None:
            taken.add(pick)
        found.append(None if pick is None else runs[pick])
    return found


def _epoch(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        return epoch(stamp)
    except ValueError:
        return None


def prune(tracker: Tracker, keep: float) -> list[str]:
    """Drop the archives of issues closed for longer than ``keep`` days (``[floor] keep_logs_days``)."""
    root = archive.root_of(tracker.location.db_file)
    if not root.is_dir():
        return []

    def closed(issue_id: str) -> tuple[bool, float | None]:
        row = store.peek(tracker.conn, issue_id, "status", "closed_at")
        if row is None:
            return False, None
        return True, _epoch(row[1]) if row[0] == "closed" else None

    return archive.prune(root, closed, keep, time.time())
