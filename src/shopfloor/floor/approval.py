"""A person's approval of a change that needs one (vibe 1-2, protected files, a large diff):
``shopfloor approve`` and the dashboard's Approve both call ``approve``."""

from __future__ import annotations

from shopfloor.actors import is_agent
from shopfloor.errors import ConflictError
from shopfloor.gate.gating import APPROVED_LABEL
from shopfloor.tracker import writes
from shopfloor.tracker.service import Tracker


def approve(tracker: Tracker, issue_id: str) -> bool:
    """Label the issue approved (the queue then lands it) with a comment saying who; False when it
    already was. An agent may not approve."""
    if is_agent(tracker.actor):
        raise ConflictError(f"{tracker.actor} is an agent: only a person approves a change for merge")
    with tracker.write() as conn:
        added = writes.add_labels(conn, issue_id, [APPROVED_LABEL], tracker.actor, tracker.now())
        if added:
            writes.add_comment(conn, issue_id, f"approved for merge by {tracker.actor}", tracker.actor, tracker.now())
    return bool(added)
