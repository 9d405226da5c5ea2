"""Gather the rows ``floor.metrics`` computes from: the attempts (``floor.attempts``) and the
queue's landings (``queue.entries``). ``floor.metrics`` stays pure; this is its adapter, which
``shopfloor metrics`` and the end of ``shopfloor run`` call."""

from __future__ import annotations

import sqlite3
from typing import Any

from shopfloor.floor import attempts
from shopfloor.floor.metrics import AttemptRow, IssueRow, compute, spent
from shopfloor.floor.stopping import STOPPED
from shopfloor.queue import entries
from shopfloor.queue.entries import State
from shopfloor.tracker.clock import epoch


def metrics(conn: sqlite3.Connection) -> dict[str, Any]:
    """The floor's figures (``floor.metrics.compute``) from every attempt and every landing."""
    rows = attempts.all_attempts(conn)
    merged_at = {e.issue: epoch(e.updated_at) for e in entries.list_entries(conn, (State.MERGED,)) if e.issue}
    first: dict[str, attempts.Attempt] = {}
    for a in rows:
        first.setdefault(a.issue, a)
    spirals = {a.issue for a in rows if a.outcome == "spiral"}
    issues = [
        IssueRow(
            issue,
            a.agent,
            a.vibe,
            issue in merged_at,
            issue in spirals,
            merged_at[issue] - epoch(a.started_at) if issue in merged_at else None,
        )
        for issue, a in first.items()
    ]
    # Attempts record the worker's running totals; each row gets what its own attempt spent.
    own = spent([(a.issue, a.worker, a.generation, a.tokens, a.cost_usd) for a in rows])
    attempt_rows = [
        AttemptRow(
            a.issue,
            a.agent,
            a.vibe,
            a.verdict,
            tuple(a.as_json()["failed_checks"]),
            tokens,
            cost,
            bool(a.handoff),
            a.outcome == STOPPED,
        )
        for a, (tokens, cost) in zip(rows, own, strict=True)
    ]
    return compute(issues, attempt_rows)
