"""Attempt rows (table ``attempts``, ``floor.migrations``): every pass of an agent at an issue, and how it ended."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Protocol

from shopfloor.floor.migrations import migrations
from shopfloor.floor.spiral import AttemptFacts
from shopfloor.queue.hooks import Hooks, Tried
from shopfloor.tracker import db, store, writes
from shopfloor.tracker.rows import Rows


@dataclass
class Attempt:
    id: int
    issue: str
    worker: str
    generation: int
    agent: str
    vibe: int
    session_id: str | None
    started_at: str
    ended_at: str | None
    tokens: int
    cost_usd: float
    diff_stat: str | None
    diff_fingerprint: str | None
    gate_run: int | None
    verdict: str | None
    signatures: str | None
    passing: str | None
    failed_checks: str | None
    handoff: int
    outcome: str | None
    sandbox: str = "none"  # "bwrap", or "none": the agent ran unconfined (--no-sandbox)
    refused: str | None = None  # JSON list: what the floor's channel refused the agent
    series: int = 1  # which series of attempts (table ``retries``): `shopfloor retry` starts the next
    learnings: str | None = None  # JSON list: the memory's source ids its worker was briefed with
    input: str | None = None  # what a person sent it to begin with: "review" (``floor.review``)

    def facts(self) -> AttemptFacts:
        return AttemptFacts(
            verdict=self.verdict or "fail",
            signatures=frozenset(json.loads(self.signatures or "[]")),
            passing=frozenset(json.loads(self.passing or "[]")),
            diff=self.diff_fingerprint or "",
        )

    def as_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("signatures", "passing", "failed_checks", "refused", "learnings"):
            out[key] = json.loads(out[key] or "[]")
        out["handoff"] = bool(out["handoff"])
        return out


ROWS = Rows(Attempt, "attempts", owner=migrations)
# The issue's current series: 1, or the latest `shopfloor retry` started (table ``retries``).
_CURRENT = "(SELECT COALESCE(MAX(series), 1) FROM retries WHERE retries.issue = attempts.issue)"


def current_series(conn: sqlite3.Connection, issue: str) -> int:
    row = conn.execute("SELECT COALESCE(MAX(series), 1) FROM retries WHERE issue = ?", (issue,)).fetchone()
    return int(row[0])


def begin(
    conn: sqlite3.Connection,
    issue: str,
    worker: str,
    generation: int,
    agent: str,
    vibe: int,
    now: str,
    handoff: bool = False,
    sandbox: str = "bwrap",
    learnings: list[str] | None = None,
) -> None:
    """Record an attempt's start; ``learnings``: the source ids its briefing included (in order)."""
    values = {"issue": issue, "worker": worker, "generation": generation, "agent": agent, "vibe": vibe}
    if learnings is not None:
        values["learnings"] = json.dumps(list(learnings))
    with db.transaction(conn):
        series = current_series(conn, issue)
        ROWS.insert(
            conn,
            {**values, "started_at": now, "handoff": int(handoff), "sandbox": sandbox, "series": series},
            or_ignore=True,
        )


def of_worker(conn: sqlite3.Connection, worker: str, generation: int) -> Attempt | None:
    """The worker generation's attempt in its issue's current series (an old series' attempt of a
    worker with the same name and generation is history, never this worker's)."""
    return ROWS.first(conn, f"worker = ? AND generation = ? AND series = {_CURRENT}", (worker, generation))


def of_issue(conn: sqlite3.Connection, issue: str) -> list[Attempt]:
    """Every attempt at the issue, of every series: its whole history."""
    return ROWS.select(conn, "issue = ?", (issue,), order="id")


def of_series(conn: sqlite3.Connection, issue: str) -> list[Attempt]:
    """The attempts of the issue's current series: what spiral detection and crash counts judge."""
    return ROWS.select(conn, f"issue = ? AND series = {_CURRENT}", (issue,), order="id")


def all_attempts(conn: sqlite3.Connection) -> list[Attempt]:
    return ROWS.select(conn, order="id")


def issues_tried(conn: sqlite3.Connection) -> set[str]:
    """Every issue with at least one attempt (read from the index on ``attempts(issue, id)``)."""
    return {str(issue) for (issue,) in conn.execute("SELECT DISTINCT issue FROM attempts")}


def finish(conn: sqlite3.Connection, attempt_id: int, **changes: Any) -> None:
    for key in ("signatures", "passing", "failed_checks"):
        if key in changes and not isinstance(changes[key], str):
            changes[key] = json.dumps(sorted(changes[key]))
    if "refused" in changes and not isinstance(changes["refused"], str):
        changes["refused"] = json.dumps(list(changes["refused"]))  # in the order they happened
    ROWS.update(conn, "id = ?", (attempt_id,), **changes)


class Spent(Protocol):
    """What a worker row says its agent has spent (``workers.records.Worker`` is one)."""

    @property
    def tokens(self) -> int: ...
    @property
    def cost_usd(self) -> float: ...
    @property
    def session_id(self) -> str | None: ...


def end(conn: sqlite3.Connection, attempt_id: int, now: str, outcome: str, spent: Spent) -> None:
    """End an attempt with ``outcome`` and what its worker had spent by then."""
    finish(
        conn,
        attempt_id,
        ended_at=now,
        outcome=outcome,
        tokens=spent.tokens,
        cost_usd=spent.cost_usd,
        session_id=spent.session_id,
    )


def discard(conn: sqlite3.Connection, attempt_id: int) -> None:
    """Forget an attempt that never happened (its worker never launched): a later worker of the
    same name and generation must begin a pass of its own, not find this one ended."""
    ROWS.delete(conn, "id = ? AND ended_at IS NULL", (attempt_id,))


def mark_merged(conn: sqlite3.Connection, issue: str) -> None:
    """The issue landed: its pass that waited in the queue (outcome ``queued``) is ``merged``.
    Runs inside the caller's transaction (the queue's, as it closes the issue)."""
    ROWS.update(conn, "issue = ? AND outcome = 'queued'", (issue,), outcome="merged")


def tried(conn: sqlite3.Connection, issue: str) -> Tried:
    """What a squashed landing says of the issue's attempts (``queue.squash``)."""
    rows = of_issue(conn, issue)
    return Tried(ended=sum(1 for a in rows if a.ended_at), last_worker=rows[-1].worker if rows else None)


# What every queue pass is given (``queue.hooks``): the queue sits below the floor.
QUEUE_HOOKS = Hooks(merged=mark_merged, tried=tried)

SUMMARY_KEY = "floor"  # the issue's metadata key that carries its attempts into the JSONL


def summary(rows: list[Attempt]) -> list[dict[str, Any]]:
    """The ended attempts of one issue as the JSONL carries them (pure): the ``attempts`` table
    stays in the database, so a clone learns how each pass went from the issue's metadata."""
    return [
        {
            "agent": a.agent,
            "verdict": a.verdict,
            "outcome": a.outcome,
            "failed_checks": json.loads(a.failed_checks or "[]"),
            "tokens": a.tokens,
            "cost_usd": round(a.cost_usd, 6),
            "handoff": bool(a.handoff),
        }
        for a in rows
        if a.ended_at
    ]


def record_summaries(conn: sqlite3.Connection, actor: str, now: str) -> list[str]:
    """Write each issue's attempt summary into its metadata (``metadata.floor.attempts``)
    where it changed; returns the ids written. Other metadata keys are kept."""

    by_issue: dict[str, list[Attempt]] = {}
    for attempt in all_attempts(conn):
        by_issue.setdefault(attempt.issue, []).append(attempt)
    written = []
    with db.transaction(conn):
        for issue_id, rows in sorted(by_issue.items()):
            wanted = summary(rows)
            if not wanted or not store.exists(conn, issue_id):
                continue
            metadata = dict(store.get(conn, issue_id)["metadata"] or {})
            if metadata.get(SUMMARY_KEY) == {"attempts": wanted}:
                continue
            metadata[SUMMARY_KEY] = {"attempts": wanted}
            writes.update(conn, issue_id, {"metadata": metadata}, actor, now)
            written.append(issue_id)
    return written
