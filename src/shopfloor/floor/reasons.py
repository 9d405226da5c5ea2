"""Why an issue is blocked, as ``list`` and ``blocked`` show it (one line).

The floor blocks an issue with a comment that starts with one of ``PREFIXES`` (``notes.block_comment``,
or a worker that could not start); the latest such comment is the reason. An issue whose agent
blocked it (through the worker channel) has that agent's latest comment as its reason
(``by_agent``). An issue a person set to blocked without one has no recorded reason.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from shopfloor import render
from shopfloor.actors import is_agent
from shopfloor.tracker import history
from shopfloor.tracker.issuetype import Issue
from shopfloor.tracker.schema import public

STOPPED = "The floor stopped this issue: "
NOT_STARTED = "The floor could not start a worker: "
PREFIXES = (STOPPED, NOT_STARTED)
WIDTH = 100  # characters of the reason shown on one line
NO_REASON = "no reason given"  # an agent that blocked its issue without a comment


def one_line(text: str, width: int = WIDTH) -> str:
    """The comment's first line without the floor's prefix, at most ``width`` characters (pure)."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    if line.startswith(STOPPED):
        line = line.removeprefix(STOPPED).removesuffix(".")
    elif line.startswith(NOT_STARTED):
        line = "could not start a worker: " + line.removeprefix(NOT_STARTED)
    return line if len(line) <= width else line[: width - 1] + "…"


def latest(conn: sqlite3.Connection, issue_ids: Iterable[str]) -> dict[str, str]:
    """Each issue's latest block reason, for the issues that have one."""
    wanted = list(dict.fromkeys(issue_ids))
    if not wanted:
        return {}
    out: dict[str, str] = {}
    for issue, text in history.comments_starting(conn, wanted, PREFIXES):
        out[issue] = one_line(text)  # later rows win
    return {**out, **by_agent(conn, wanted)}


def by_agent(conn: sqlite3.Connection, issue_ids: Iterable[str]) -> dict[str, str]:
    """For each issue whose latest block was its agent's (an actor ``worker/...``), the first line
    of that agent's latest comment (``NO_REASON`` without one)."""
    out: dict[str, str] = {}
    for issue in dict.fromkeys(issue_ids):
        blocker = history.last_setter(conn, issue, "status", "blocked")
        if blocker is None or not is_agent(blocker):
            continue
        said = history.last_comment(conn, issue, actor=blocker)
        out[issue] = (one_line(said) if said else "") or NO_REASON
    return out


def list_output(conn: sqlite3.Connection, issues: list[Issue], empty: str) -> tuple[list[dict[str, Any]], str]:
    """``list``'s JSON and text, a blocked issue with its reason (the CLI and the worker channel)."""
    why = latest(conn, [i["id"] for i in issues if i["status"] == "blocked"])
    shown = [{**public(i), **({"blocked_reason": why[i["id"]]} if i["id"] in why else {})} for i in issues]
    return shown, render.issue_lines(issues, empty, why)


def blocked_output(
    conn: sqlite3.Connection, found: list[tuple[Issue, list[tuple[str, str, str]]]]
) -> tuple[list[dict[str, Any]], str]:
    """``blocked``'s JSON and text: what blocks each issue, or the floor's reason."""
    why = latest(conn, [i["id"] for i, _ in found if i["status"] == "blocked"])
    shown = [
        {
            **public(issue),
            "blocked_by": [{"id": b, "status": s, "via": how} for b, s, how in blockers],
            "reason": why.get(issue["id"]),
        }
        for issue, blockers in found
    ]
    return shown, "\n".join(render.blocked_lines(found, why))
