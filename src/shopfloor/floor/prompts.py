"""The words the floor sends an agent besides its issue: the briefing, the attempt history, a
gate report as a follow-up prompt, the nudge after a silence, the handoff request."""

from __future__ import annotations

from typing import Any

from shopfloor.floor import attempts, notes
from shopfloor.tracker.service import Tracker


def history(tracker: Tracker, issue_id: str) -> str:
    """What earlier attempts did and why they failed: so an agent does not repeat a dead end."""
    return notes.history(attempts.of_issue(tracker.conn, issue_id))


def report_text(report: dict[str, Any]) -> str:
    """The gate's findings as a follow-up prompt for the agent."""
    from shopfloor.gate.report import for_agent

    return for_agent(report)


NUDGE = (
    "shopfloor: your session went quiet for a long time and was stopped. Carry on with the issue from where you "
    "are: check `git status`, finish the work, commit it on your branch, and end your turn."
)


HANDOFF_REQUEST = (
    "shopfloor: your context window is nearly full, so this session ends now. Write a handoff note for the next "
    "session with `shopfloor comment {issue} -` (the note on stdin): what is done, the next step, and the dead "
    "ends to avoid. Commit any work first. Then end your turn."
)

MAX_AGENTS_MD = 20_000


def briefing(tracker: Tracker, issue_id: str) -> str:
    """What a worker is told besides its issue: the attempt history, the repository's AGENTS.md,
    and how to use the tracker: ``shopfloor prime``'s worker form, the one set of instructions."""
    from shopfloor.floor import retry
    from shopfloor.instructions import WORKER

    parts = [retry.briefing_note(tracker.conn, issue_id), history(tracker, issue_id)]  # a person's note first
    agents_md = tracker.location.worktree / "AGENTS.md"
    try:
        text = agents_md.read_text(encoding="utf-8", errors="replace")[:MAX_AGENTS_MD]
        parts.append(f"The repository's AGENTS.md says:\n{text}")
    except OSError:
        pass
    parts.append(WORKER)
    return "\n\n".join(p for p in parts if p.strip())
