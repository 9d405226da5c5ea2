"""Counting tests in junit XML (what pytest, jest, go-junit-report and cargo2junit write)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Counts:
    collected: int
    failed: int
    skipped: int

    @property
    def passed(self) -> int:
        return self.collected - self.failed - self.skipped


def read_counts(path: Path) -> Counts | None:
    """Counts from the ``testcase`` elements (more reliable than the summary attributes)."""
    try:
        if path.stat().st_size > MAX_BYTES:
            return None
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    collected = failed = skipped = 0
    for case in root.iter("testcase"):
        collected += 1
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            failed += 1
        elif "skipped" in tags:
            skipped += 1
    return Counts(collected, failed, skipped)


def fewer(base: Counts, candidate: Counts) -> list[str]:
    """Evidence that the candidate runs fewer tests than its base, or skips (or xfails) more.

    Fewer tests *passing* is not weakening: a test that now fails is the test check's failure,
    reported there with its id; counting it here too would blame one defect twice."""
    out = []
    if candidate.collected < base.collected:
        out.append(f"fewer tests collected: {candidate.collected} (base {base.collected})")
    if candidate.skipped > base.skipped:
        out.append(f"more tests skipped or xfailed: {candidate.skipped} (base {base.skipped})")
    return out
