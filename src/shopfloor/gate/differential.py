"""The differential rule (pure): a change is blamed only for the findings it added.

Findings are compared by key as multisets: if the base has two ``F401`` in ``a.py`` with the
same message and the candidate three, one is new. Which one is new matters only for the
report; the ones on lines the change added are taken first.

The same rule serves the floor (the base is the branch's merge base) and the queue (the
base is the target's tip), so a target that is red by itself never blames an entry for the
findings it already had.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from shopfloor.gate.findings import Finding, mark


@dataclass(frozen=True)
class Split:
    new: list[Finding]
    preexisting: list[Finding]
    fixed: list[Finding]  # on the base, gone from the candidate


def split(candidate: list[Finding], base: list[Finding], added: dict[str, set[int]] | None = None) -> Split:
    """Partition the candidate's findings into new and pre-existing ones, and list what it fixed."""
    added = added or {}
    allowance = Counter(f.key for f in base)

    def on_added_line(f: Finding) -> bool:
        return bool(f.path and f.line and f.line in added.get(f.path, set()))

    # Findings on lines the change added are the first to be called new.
    order = sorted(range(len(candidate)), key=lambda i: (on_added_line(candidate[i]), i))
    new_ids: set[int] = set()
    for i in order:
        key = candidate[i].key
        if allowance[key] > 0:
            allowance[key] -= 1
        else:
            new_ids.add(i)
    new = [f for i, f in enumerate(candidate) if i in new_ids]
    old = [f for i, f in enumerate(candidate) if i not in new_ids]
    left = Counter(f.key for f in candidate)
    fixed = []
    for f in base:
        if left[f.key] > 0:
            left[f.key] -= 1
        else:
            fixed.append(f)
    return Split(mark(new, True), mark(old, False), fixed)
