"""Spiral detection (pure): an issue whose attempts repeat themselves is stopped.

An attempt is one pass of an agent at an issue, ending in a gate verdict. The issue spirals
when:
- the same failure signatures come back twice in a row, with no check newly passing;
- the same diff is produced twice (the agent is going round in circles);
- ``max_attempts`` attempts in a row made no progress (no new check passing, no pass).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AttemptFacts:
    verdict: str  # pass, fail, needs-approval
    signatures: frozenset[str] = field(default_factory=frozenset)  # of the failing checks
    passing: frozenset[str] = field(default_factory=frozenset)  # names of the checks that passed
    diff: str = ""  # a fingerprint of the attempt's diff


def spiral(attempts: list[AttemptFacts], max_attempts: int = 4) -> str | None:
    """Why the issue should stop, or None while its attempts still make progress."""
    if not attempts or attempts[-1].verdict == "pass":
        return None
    last = attempts[-1]
    if len(attempts) >= 2:
        before = attempts[-2]
        if last.signatures and last.signatures == before.signatures and not (last.passing - before.passing):
            return f"the same failure twice in a row ({', '.join(sorted(last.signatures))}), nothing newly passing"
    seen: dict[str, int] = {}
    for n, attempt in enumerate(attempts, start=1):
        if attempt.diff and attempt.diff in seen:
            return f"attempt {n} produced the same diff as attempt {seen[attempt.diff]}"
        if attempt.diff:
            seen[attempt.diff] = n
    if len(attempts) >= max_attempts:
        window = attempts[-max_attempts:]
        best = set(window[0].passing)
        progressed = False
        for attempt in window[1:]:
            if attempt.passing - best:
                progressed = True
            best |= attempt.passing
        if not progressed:
            return f"{max_attempts} attempts without progress"
    return None
