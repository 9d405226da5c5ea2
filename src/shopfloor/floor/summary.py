"""What one ``shopfloor run`` did, read back from the tracker's events: what landed, what it
blocked and why, what waits for a person's approval, and what a person runs next. ``mark``
before the run, ``of_run`` after it."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from shopfloor.floor.reasons import by_agent
from shopfloor.queue import entries
from shopfloor.queue.entries import State
from shopfloor.tracker import history, store

BLOCK_PREFIX = "The floor stopped this issue: "


@dataclass(frozen=True)
class RunOutcome:
    landed: list[dict[str, str]]  # {id, title, commit reason}
    blocked: list[dict[str, str]]  # {id, title, reason}
    waiting: list[dict[str, str]] = field(default_factory=list)  # {id, title, reason}: for `shopfloor approve`

    def as_json(self) -> dict[str, Any]:
        return {"landed": self.landed, "blocked": self.blocked, "waiting_for_approval": self.waiting}


def mark(conn: sqlite3.Connection) -> int:
    """The last event before the run: everything after it is the run's."""
    return history.last_seq(conn)


def reason_of(comment: str | None) -> str:
    """A block reason from the comment that blocked the issue: its first line, without the preamble."""
    if not comment:
        return "no reason recorded"
    line = comment.strip().splitlines()[0] if comment.strip() else ""
    if line.startswith(BLOCK_PREFIX):
        line = line[len(BLOCK_PREFIX) :]
    return line.rstrip(".") or "no reason recorded"


def of_run(conn: sqlite3.Connection, since: int) -> RunOutcome:
    """Issues closed by a landing, and issues blocked (and still blocked), after event ``since``."""
    landed = [
        {"id": issue_id, "title": title, "reason": reason}
        for issue_id, title, reason in history.closed_since(conn, since, "merged to ")
    ]
    blocked = []
    for issue_id, title, at in history.set_to_since(conn, since, "blocked"):
        # The comment made with the block (the floor comments, then blocks, in one transaction).
        said = history.last_comment(conn, issue_id, before=at)
        blocked.append({"id": issue_id, "title": title, "reason": reason_of(said)})

    agents = by_agent(conn, [b["id"] for b in blocked])  # an agent's block: its own latest comment
    blocked = [{**b, "reason": agents.get(b["id"], b["reason"])} for b in blocked]
    return RunOutcome(landed, blocked, waiting(conn))


def waiting(conn: sqlite3.Connection) -> list[dict[str, str]]:
    """The changes that wait in the merge queue for a person's approval, whenever they were queued."""
    out = []
    for entry in entries.list_entries(conn, (State.NEEDS_APPROVAL,)):
        found = store.peek(conn, entry.issue, "title") if entry.issue else None
        if found is None:
            continue  # an entry of no issue (or of one since deleted) is not a change to approve here
        why = (entry.detail or "").split(": waits for ", 1)[0] or "needs approval"
        out.append({"id": entry.issue or "", "title": str(found[0]), "reason": why})
    return out


def lines(outcome: RunOutcome) -> list[str]:
    """The summary a person reads at the end of the run."""
    out = [f"landed {len(outcome.landed)}" + (":" if outcome.landed else "")]
    out += [f"  {i['id']}  {i['title']}  ({i['reason']})" for i in outcome.landed]
    if outcome.blocked:
        out.append(f"blocked {len(outcome.blocked)}:")
        out += [f"  {i['id']}  {i['title']}: {i['reason']}" for i in outcome.blocked]
        first = outcome.blocked[0]["id"]
        out.append(
            f"next: `shopfloor show {first}` for what was tried, then `shopfloor retry {first}` "
            "(with --note to guide the agent) to give it another series of attempts"
        )
    if outcome.waiting:
        out.append(f"waiting for approval {len(outcome.waiting)}:")
        out += [f"  {i['id']}  {i['title']}  ({i['reason']})" for i in outcome.waiting]
        first = outcome.waiting[0]["id"]
        others = " (and each one above)" if len(outcome.waiting) > 1 else ""
        out.append(f"next: `shopfloor approve {first}`{others} to let it land")
    return out
