"""Gather the rows ``floor.metrics`` computes from: the attempts (``floor.attempts``) and the
queue's landings (``queue.entries``); and those of its "rules" section (``floor.effect``): the
accepted rules (``learn.ruledb``) and what each attempt met and was briefed with.
``floor.metrics`` and ``floor.effect`` stay pure; this is their adapter, which ``shopfloor
metrics`` and the end of ``shopfloor run`` call."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from shopfloor.floor import attempts, effect
from shopfloor.floor.metrics import AttemptRow, IssueRow, compute, spent
from shopfloor.floor.stopping import STOPPED
from shopfloor.learn import ruledb
from shopfloor.queue import entries
from shopfloor.queue.entries import State
from shopfloor.tracker.clock import epoch


@dataclass(frozen=True)
class Rows:
    """What the figures are computed from: every attempt (in order), each as an ``AttemptRow``
    (the same order), each issue as an ``IssueRow``, and when each issue settled (landed, or its
    spiral ended): the dashboard's yield page splits these by day or by run."""

    attempts: list[attempts.Attempt]
    attempt_rows: list[AttemptRow]
    issues: list[IssueRow]
    settled: dict[str, float]


def rows(conn: sqlite3.Connection) -> Rows:
    """The rows of every attempt and every landing."""
    tried = attempts.all_attempts(conn)
    merged_at = {e.issue: epoch(e.updated_at) for e in entries.list_entries(conn, (State.MERGED,)) if e.issue}
    first: dict[str, attempts.Attempt] = {}
    ended: dict[str, float] = {}
    for a in tried:
        first.setdefault(a.issue, a)
        if a.ended_at:
            ended[a.issue] = max(ended.get(a.issue, 0.0), epoch(a.ended_at))
    spirals = {a.issue for a in tried if a.outcome == "spiral"}
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
    own = spent([(a.issue, a.worker, a.generation, a.tokens, a.cost_usd) for a in tried])
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
            a.input == "review",
        )
        for a, (tokens, cost) in zip(tried, own, strict=True)
    ]
    settled = {**{i: ended[i] for i in spirals if i in ended}, **merged_at}
    return Rows(tried, attempt_rows, issues, settled)


def metrics(conn: sqlite3.Connection) -> dict[str, Any]:
    """The floor's figures (``floor.metrics.compute``) from every attempt and every landing."""
    found = rows(conn)
    return {**compute(found.issues, found.attempt_rows), "rules": rules_section(conn, found.attempts)}


def rules_section(conn: sqlite3.Connection, rows: list[attempts.Attempt]) -> dict[str, Any]:
    """The accepted rules' rates before and after, and how often a briefed learning came back."""
    tried = [
        effect.Tried(
            a.id,
            a.issue,
            epoch(a.started_at),
            epoch(a.ended_at) if a.ended_at else None,
            a.verdict is not None,
            a.gate_run,
            a.facts().signatures,
            tuple(json.loads(a.learnings or "[]")),
        )
        for a in rows
    ]
    accepted = [
        effect.Accepted(r.id, r.signature, epoch(r.accepted_at or r.updated_at))
        for r in ruledb.listed(conn, "accepted")
    ]
    return effect.section(accepted, tried)
