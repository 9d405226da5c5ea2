"""Attempt rows (migration 7): every pass of an agent at an issue, and how it ended."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from shopfloor.floor.spiral import AttemptFacts
from shopfloor.tracker import db


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

    def facts(self) -> AttemptFacts:
        return AttemptFacts(
            verdict=self.verdict or "fail",
            signatures=frozenset(json.loads(self.signatures or "[]")),
            passing=frozenset(json.loads(self.passing or "[]")),
            diff=self.diff_fingerprint or "",
        )

    def as_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("signatures", "passing", "failed_checks"):
            out[key] = json.loads(out[key] or "[]")
        out["handoff"] = bool(out["handoff"])
        return out


COLUMNS = tuple(Attempt.__dataclass_fields__)
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM attempts"


def begin(
    conn: sqlite3.Connection,
    issue: str,
    worker: str,
    generation: int,
    agent: str,
    vibe: int,
    now: str,
    handoff: bool = False,
) -> None:
    with db.transaction(conn):
        conn.execute(
            "INSERT OR IGNORE INTO attempts (issue, worker, generation, agent, vibe, started_at, handoff) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (issue, worker, generation, agent, vibe, now, int(handoff)),
        )


def of_worker(conn: sqlite3.Connection, worker: str, generation: int) -> Attempt | None:
    row = conn.execute(f"{_SELECT} WHERE worker = ? AND generation = ?", (worker, generation)).fetchone()
    return Attempt(*row) if row else None


def of_issue(conn: sqlite3.Connection, issue: str) -> list[Attempt]:
    return [Attempt(*r) for r in conn.execute(f"{_SELECT} WHERE issue = ? ORDER BY id", (issue,))]


def all_attempts(conn: sqlite3.Connection) -> list[Attempt]:
    return [Attempt(*r) for r in conn.execute(f"{_SELECT} ORDER BY id")]


def finish(conn: sqlite3.Connection, attempt_id: int, **changes: Any) -> None:
    for key in ("signatures", "passing", "failed_checks"):
        if key in changes and not isinstance(changes[key], str):
            changes[key] = json.dumps(sorted(changes[key]))
    sets = ", ".join(f"{key} = ?" for key in changes)
    with db.transaction(conn):
        conn.execute(f"UPDATE attempts SET {sets} WHERE id = ?", [*changes.values(), attempt_id])
