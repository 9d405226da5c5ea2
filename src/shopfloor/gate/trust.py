"""What the gate may believe about an issue: only what a person set, never an agent.

Agents act in the tracker as ``worker/<name>`` (the worker sets ``SHOPFLOOR_ACTOR`` so). An
agent that labels its own issue ``allow-test-changes`` or ``approved``, or raises its vibe
level, gets nothing from it: the gate reads each label and the vibe as they were after the
last change a non-agent made.
"""

from __future__ import annotations

import sqlite3

from shopfloor.actors import is_agent
from shopfloor.tracker import store

DEFAULT_VIBE = 3


def trusted_facts(conn: sqlite3.Connection, issue_id: str) -> tuple[int, set[str]]:
    """(vibe, labels) of the issue, ignoring every change an agent made."""
    vibe = DEFAULT_VIBE
    labels: set[str] = set()
    rows = [(e["actor"], e["kind"], e["field"], e["old"], e["new"]) for e in store.events(conn, issue_id)]
    created_vibe = store.peek(conn, issue_id, "vibe")
    changed_vibe = [r for r in rows if r[2] == "vibe"]
    if changed_vibe:
        first_old = changed_vibe[0][3]
        vibe = int(first_old) if first_old and first_old.isdigit() else DEFAULT_VIBE
    elif created_vibe:
        vibe = int(created_vibe[0] or DEFAULT_VIBE)
    for actor, kind, field, _old, new in rows:
        if is_agent(actor):
            continue
        if field == "vibe" and new and new.isdigit():
            vibe = int(new)
        elif kind == "label_added" and new:
            labels.add(new)
        elif kind == "label_removed" and new:
            labels.discard(new)
    # Labels that came with the issue (created or imported) carry no event: trust them as they are,
    # unless an agent's event added them.
    current = store.labels_of(conn, issue_id)
    by_agent = {r[4] for r in rows if r[1] == "label_added" and is_agent(r[0])}
    labels |= {label for label in current if label not in by_agent and not _evented(rows, label)}
    return vibe, labels & current


def _evented(rows: list[tuple[str, str, str, str, str]], label: str) -> bool:
    return any(r[1] in ("label_added", "label_removed") and r[4] == label for r in rows)
