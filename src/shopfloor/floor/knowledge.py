"""What the floor's attempts leave for the memory (``learn``): each handoff note an ending
session wrote, and the excerpt of each check that failed an attempt's gate run.

An attempt is read once it has an outcome (not while its session is still writing its note),
and again only if its outcome or gate run changes: its stamp is both."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from shopfloor.actors import of_worker
from shopfloor.errors import ShopfloorError
from shopfloor.floor import attempts
from shopfloor.floor.outcomes import Outcome
from shopfloor.gate import runlog, verdict
from shopfloor.gate.report import check_lines
from shopfloor.learn.docs import Document
from shopfloor.tracker import store

ATTEMPT = "attempt:"  # the origin of an attempt's documents: attempt:<id>
EXCERPT_LINES = 60


def sources(conn: sqlite3.Connection) -> tuple[dict[str, str], Callable[[str], list[Document]]]:
    """The attempts that have something to say (origin -> stamp), and the reader of one."""
    final = {
        f"{ATTEMPT}{a.id}": a
        for a in attempts.all_attempts(conn)
        if a.outcome and a.outcome != Outcome.WRITING_NOTE and (a.gate_run or a.outcome == Outcome.HANDOFF_NOTE)
    }

    def read(origin: str) -> list[Document]:
        attempt = final.get(origin)
        return documents(conn, attempt) if attempt is not None else []

    return {o: f"{a.outcome}:{a.gate_run}" for o, a in final.items()}, read


def documents(conn: sqlite3.Connection, attempt: attempts.Attempt) -> list[Document]:
    found = []
    if attempt.outcome == Outcome.HANDOFF_NOTE:
        note = own_note(conn, attempt)
        if note:
            title = f"{attempt.issue}: handoff note of attempt {attempt.id}"
            found.append(Document(f"handoff:{attempt.id}", "handoff", title, attempt.issue, note))
    if attempt.gate_run is not None and attempt.verdict and attempt.verdict != "pass":
        try:
            report = runlog.get_run(conn, attempt.gate_run)
        except ShopfloorError:  # a run that is gone has nothing to teach
            return found
        for check in verdict.failing_checks(report):
            name = check["name"]
            body = "\n".join(check_lines(check, attempt.gate_run, EXCERPT_LINES)) or "(no output)"
            title = f"{attempt.issue}: gate check {name} {check['status']} (gate run {attempt.gate_run})"
            found.append(Document(f"gate:{attempt.gate_run}:{name}", "gate", title, attempt.issue, body))
    return found


def own_note(conn: sqlite3.Connection, attempt: attempts.Attempt) -> str | None:
    """The note the attempt's session wrote: its agent's last comment on the issue since it began."""
    agent = of_worker(attempt.worker)
    try:
        comments = store.get(conn, attempt.issue).get("comments") or []
    except ShopfloorError:  # the issue is gone
        return None
    written = [
        str(c["text"])
        for c in comments
        if c.get("author") == agent and str(c.get("created_at", "")) >= attempt.started_at
    ]
    return written[-1] if written else None
