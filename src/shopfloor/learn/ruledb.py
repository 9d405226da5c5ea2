"""The rules table (``learn_rules``, ``learn.migrations``): proposals kept once per signature,
and what a person decided about each."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from shopfloor.errors import NotFoundError, ValidationError
from shopfloor.learn.rules import STATES, Proposal, Rule
from shopfloor.tracker import db

_COLUMNS = "id, text, state, signature, evidence, created_at, updated_at, accepted_by, accepted_at"


@dataclass(frozen=True)
class Row:
    id: int
    text: str
    state: str
    signature: str
    evidence: list[dict[str, Any]]
    created_at: str
    updated_at: str
    accepted_by: str | None
    accepted_at: str | None = None  # when a person last accepted it

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def rule(self) -> Rule:
        retros = [e["retro"] for e in self.evidence if e.get("retro")]
        return Rule(self.id, self.text, retros[-1] if retros else f"shopfloor rules show {self.id}")


def _row(values: tuple[Any, ...]) -> Row:
    rid, text, state, signature, evidence, created, updated, by, at = values
    return Row(int(rid), text, state, signature, json.loads(evidence), created, updated, by, at)


def refresh(conn: sqlite3.Connection, proposals: list[Proposal], now: str) -> list[int]:
    """Insert a proposal for each signature that has no rule yet (idempotent: a signature is
    proposed once, whatever a person did with it since); returns the new ids."""
    new = []
    with db.transaction(conn):
        for p in proposals:
            cur = conn.execute(
                "INSERT OR IGNORE INTO learn_rules (text, state, signature, evidence, created_at, updated_at) "
                "VALUES (?, 'proposed', ?, ?, ?, ?)",
                (p.text, p.signature, json.dumps(p.evidence, sort_keys=True), now, now),
            )
            if cur.rowcount:
                new.append(int(cur.lastrowid or 0))
    return new


def listed(conn: sqlite3.Connection, state: str | None = None) -> list[Row]:
    if state is not None and state not in STATES:
        raise ValidationError(f"unknown rule state {state!r} (known: {', '.join(STATES)})")
    where, params = ("WHERE state = ?", (state,)) if state else ("", ())
    rows = conn.execute(f"SELECT {_COLUMNS} FROM learn_rules {where} ORDER BY id", params).fetchall()
    return [_row(r) for r in rows]


def get(conn: sqlite3.Connection, rule_id: int) -> Row:
    found = conn.execute(f"SELECT {_COLUMNS} FROM learn_rules WHERE id = ?", (rule_id,)).fetchone()
    if found is None:
        raise NotFoundError(f"no rule {rule_id}: see `shopfloor rules list`")
    return _row(found)


def change(conn: sqlite3.Connection, rule_id: int, now: str, **values: Any) -> None:
    sets = ", ".join(f"{key} = ?" for key in sorted(values))
    with db.transaction(conn):
        conn.execute(
            f"UPDATE learn_rules SET {sets}, updated_at = ? WHERE id = ?",
            (*(values[k] for k in sorted(values)), now, rule_id),
        )
