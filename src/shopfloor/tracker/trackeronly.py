"""The tracker's file in git, as pure rules: what a tracker-only change is, and which issues
the database holds in no committed copy of the file.

A *tracker commit* (or range) is one whose diff touches ``.shopfloor/issues.jsonl`` and no
other path. The floor writes such commits itself (``queue.trackercommit``), and checks its own
commit with this rule before moving the target; the gate lets a candidate through without
running checks only when this rule holds *and* the candidate's file would import as a no-op
(``gate.trackerskip``). This module is the one definition of the rule.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from shopfloor.tracker.syncstate import line_id

TRACKER_PATH = ".shopfloor/issues.jsonl"


def is_tracker_only(paths: Iterable[str]) -> bool:
    """True when the changed ``paths`` (both sides of a rename included) are exactly the tracker file.

    An empty change is not a tracker change: there is nothing to let through.
    """
    return set(paths) == {TRACKER_PATH}


def line_ids(content: bytes) -> dict[str, str]:
    """The canonical lines of a JSONL file by issue id (a canonical line starts with its id)."""

    found = {}
    for line in content.decode("utf-8", "replace").splitlines():
        issue_id = line_id(line)
        if issue_id is not None:
            found[issue_id] = line
    return found


LEASE_FIELD = "lease_until"


def without_lease(line: str) -> str:
    """A JSONL line with its lease left out (renewals alone are no change git needs); a line
    that is not a JSON object is returned as it is."""

    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict):
        return line
    record.pop(LEASE_FIELD, None)
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def leases_only(old: bytes, new: bytes) -> bool:
    """Do the files ``old`` and ``new`` differ, and only in the issues' ``lease_until``?"""
    if old == new:
        return False
    before = old.decode("utf-8", "replace").splitlines()
    after = new.decode("utf-8", "replace").splitlines()
    return len(before) == len(after) and all(
        a == b or without_lease(a) == without_lease(b) for a, b in zip(before, after, strict=True)
    )


def uncommitted(database: Mapping[str, str], committed: Iterable[bytes]) -> list[str]:
    """The ids whose line in the database's export (``database``: id -> canonical line) is in
    none of the ``committed`` file contents, leases aside: changes that exist only in the
    database (a renewed lease is not one: the tracker commit never commits leases alone)."""
    known: dict[str, set[str]] = {}
    for content in committed:
        for issue_id, line in line_ids(content).items():
            known.setdefault(issue_id, set()).add(line)

    def missing(issue_id: str, line: str) -> bool:
        lines = known.get(issue_id, set())
        if line in lines:  # the common case, without parsing
            return False
        return without_lease(line) not in {without_lease(other) for other in lines}

    return sorted(i for i, line in database.items() if missing(i, line))


def adds_only_known_lines(old: bytes, new: bytes, database: Mapping[str, str]) -> bool:
    """Does the file change ``old`` -> ``new`` bring only what the database holds now?

    Every line of ``new`` must be canonical, and either unchanged from ``old`` or the
    database's current line for that issue (``database``: id -> canonical line); no issue of
    ``old`` may go missing. Such a change cannot put anything into git, or into a clone, that
    the tracker did not write itself.
    """
    lines = [line for line in new.decode("utf-8", "replace").splitlines() if line]
    after = line_ids(new)
    if len(after) != len(lines):  # a line that is not canonical, or an id twice
        return False
    before = line_ids(old)
    if set(before) - set(after):
        return False
    return all(line == before.get(i) or line == database.get(i) for i, line in after.items())


def due(now: float, last_at: float, interval_s: float, changed: bool, final: bool) -> bool:
    """Debouncing the floor's tracker commits: commit a change at most once every
    ``interval_s``, and always once more when the floor goes idle (``final``)."""
    return changed and (final or now - last_at >= interval_s)
