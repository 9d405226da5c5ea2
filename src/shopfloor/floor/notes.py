"""What the floor writes on an issue (pure): the attempt history an agent is briefed with, the
comment that blocks an issue, and what it says when an issue closed without the merge queue.

A blocked issue's comment must let a person act without digging: why the floor stopped, the
last gate run (``shopfloor gate show N``) and, bounded, what failed in it (the findings of
each failing check, as ``gate show`` prints them), then every attempt and its outcome.
"""

from __future__ import annotations

from collections.abc import Sequence

from shopfloor.floor.attempts import Attempt
from shopfloor.floor.reasons import STOPPED
from shopfloor.gate import verdict
from shopfloor.gate.report import check_lines
from shopfloor.gate.results import GateReport

SUMMARY_LINES = 20  # of a blocked issue's comment, for what failed in the last gate run


BRIEFING = "Earlier attempts at this issue (do not repeat what already failed):"


def history(rows: Sequence[Attempt], heading: str = BRIEFING) -> str:
    """What earlier attempts did and why they failed: so an agent does not repeat a dead end."""
    ended = [a for a in rows if a.ended_at]
    if not ended:
        return ""
    lines = [heading]
    for n, a in enumerate(ended, start=1):
        failed = ", ".join(a.as_json()["failed_checks"]) or "-"
        series = f" (try {a.series})" if a.series > 1 else ""  # after `shopfloor retry`
        lines.append(f"- attempt {n}{series}: gate {a.verdict or '?'} (failed: {failed}), outcome {a.outcome or '?'}")
    return "\n".join(lines)


def gate_summary(report: GateReport, limit: int = SUMMARY_LINES) -> list[str]:
    """The last gate run and what its failing checks found, at most ``limit`` lines in all."""

    run = report.get("id")
    lines = [f"Last gate run: {run} (`shopfloor gate show {run}`), verdict {report.get('verdict')}."]
    failing = verdict.failing_checks(report)
    share = max(2, (limit - 1) // max(1, len(failing)) - 1)  # each check's lines, besides its name
    for n, check in enumerate(failing):
        later = len(failing) - n - 1
        room = limit - len(lines) - 1 - (1 if later else 0)  # its name; a last line if more follow
        if room < 1:
            rest = ", ".join(c["name"] for c in failing[n:])
            lines.append(f"… and {len(failing) - n} more failing check(s): {rest} (see `shopfloor gate show {run}`)")
            break
        lines.append(f"{check['name']}: {check['status']}")
        body = check_lines(check, run, min(room, share))
        lines += [f"  {line}" for line in body] or ["  (no output)"]
    return lines[:limit]


def block_comment(why: str, rows: Sequence[Attempt], report: GateReport | None = None) -> str:
    """The comment that blocks an issue: why, the last gate run's failures, and the attempts."""

    parts = [f"{STOPPED}{why}."]
    if report is not None:
        parts.append("\n".join(gate_summary(report)))
    tried = history(rows, "What was tried:")
    if tried:
        parts.append(tried)
    return "\n".join(parts)


def closed_without_queue(issue: str, actor: str, branch: str, unlanded: int) -> str:
    """What the floor says when an issue it worked on was closed by someone other than the queue."""
    if unlanded:
        return (
            f"{issue}: closed by {actor} without landing; its branch {branch} is kept "
            f"({unlanded} commit(s) not on the target)"
        )
    return f"{issue}: closed by {actor}; nothing of {branch} was left to land; its worker is removed"
