"""The floor's yield, like a factory's (pure): computed from attempt and landing rows.

- first-pass yield: merged issues whose first attempt passed the gate, over merged issues (a
  change that passed every check and waited for a person counts, unless the person sent it back
  with a review);
- second-pass rate: merged issues that needed exactly two attempts, over merged issues;
- gate failures by check: how often each check failed an attempt;
- spirals and handoffs; cycle time (claim to merged, median); tokens and cost per merged issue;
- reviews: attempts that began with a person's review (``floor.review``), and review rounds per
  merged issue.
Each figure is also broken down by agent and by vibe level.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AttemptRow:
    issue: str
    agent: str
    vibe: int
    verdict: str | None
    failed_checks: tuple[str, ...] = ()
    tokens: int = 0
    cost_usd: float = 0.0
    handoff: bool = False
    stopped: bool = False  # ended by `shopfloor stop`: its tokens count, but it is no pass of its own
    reviewed: bool = False  # it began with a person's review (``attempts.input``)


@dataclass(frozen=True)
class IssueRow:
    issue: str
    agent: str
    vibe: int
    merged: bool
    spiral: bool = False
    cycle_time_s: float | None = None  # claim to merged


@dataclass
class _Totals:
    issues: list[IssueRow] = field(default_factory=list)
    attempts: list[AttemptRow] = field(default_factory=list)


def spent(totals: list[tuple[str, str, int, int, float]]) -> list[tuple[int, float]]:
    """What each attempt spent itself, from (issue, worker, generation, tokens, cost) in attempt
    order, where tokens and cost are the worker's running totals when the attempt ended (a
    worker carries its totals over its generations: a resumed or fresh session adds to them).
    A worker made again for the issue starts at generation 1 and from zero; a total that did not
    grow (an attempt ended before its agent reported anything) spent nothing."""
    last: dict[tuple[str, str], tuple[int, int, float]] = {}
    out = []
    for issue, worker, generation, tokens, cost in totals:
        before = last.get((issue, worker))
        base_tokens, base_cost = (before[1], before[2]) if before and generation > before[0] else (0, 0.0)
        out.append((max(tokens - base_tokens, 0), max(cost - base_cost, 0.0)))
        last[(issue, worker)] = (generation, max(tokens, base_tokens), max(cost, base_cost))
    return out


def _right_first_time(passes: list[AttemptRow]) -> bool:
    """The first pass passed the gate: ``pass``, or ``needs-approval`` that a person approved
    without a review asking for more (vibe 1-2 changes always wait for a person)."""
    if not passes:
        return False
    verdict = passes[0].verdict
    return verdict == "pass" or (verdict == "needs-approval" and not any(a.reviewed for a in passes[1:]))


def _figures(issues: list[IssueRow], attempts: list[AttemptRow]) -> dict[str, Any]:
    merged = [i for i in issues if i.merged]
    by_issue: dict[str, list[AttemptRow]] = defaultdict(list)
    passes = [a for a in attempts if not a.stopped]  # a person stopping the floor made no pass
    for attempt in passes:
        by_issue[attempt.issue].append(attempt)
    first = sum(1 for i in merged if _right_first_time(by_issue[i.issue]))
    second = sum(1 for i in merged if len(by_issue[i.issue]) == 2)
    failures = Counter(check for a in attempts for check in a.failed_checks)
    cycle = [i.cycle_time_s for i in merged if i.cycle_time_s is not None]
    tokens = sum(a.tokens for a in attempts)
    cost = sum(a.cost_usd for a in attempts)
    landed = {i.issue for i in merged}
    rounds = sum(1 for a in attempts if a.reviewed and a.issue in landed)
    return {
        "merged": len(merged),
        "attempts": len(passes),
        "first_pass_yield": first / len(merged) if merged else None,
        "second_pass_rate": second / len(merged) if merged else None,
        "spirals": sum(1 for i in issues if i.spiral),
        "handoffs": sum(1 for a in attempts if a.handoff),
        "gate_failures_by_check": dict(sorted(failures.items())),
        "cycle_time_s": statistics.median(cycle) if cycle else None,
        "tokens": tokens,
        "cost_usd": round(cost, 6),
        "tokens_per_merged": tokens / len(merged) if merged else None,
        "cost_per_merged_usd": round(cost / len(merged), 6) if merged else None,
        "reviews": sum(1 for a in attempts if a.reviewed),
        "reviews_per_merged": rounds / len(merged) if merged else None,
    }


def compute(issues: list[IssueRow], attempts: list[AttemptRow]) -> dict[str, Any]:
    """The figures overall, and by agent and by vibe level."""
    out = _figures(issues, attempts)
    for key, name in ((lambda r: r.agent, "by_agent"), (lambda r: str(r.vibe), "by_vibe")):
        groups: dict[str, _Totals] = defaultdict(_Totals)
        for issue in issues:
            groups[key(issue)].issues.append(issue)
        for attempt in attempts:
            groups[key(attempt)].attempts.append(attempt)
        out[name] = {group: _figures(t.issues, t.attempts) for group, t in sorted(groups.items())}
    return out
