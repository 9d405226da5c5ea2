"""The floor's pure rules: spirals and metrics."""

from __future__ import annotations

import pytest

from shopfloor.floor.metrics import AttemptRow, IssueRow, compute
from shopfloor.floor.spiral import AttemptFacts, spiral


def fail(sigs: set[str], passing: set[str] = frozenset(), diff: str = "") -> AttemptFacts:  # type: ignore[assignment]
    return AttemptFacts("fail", frozenset(sigs), frozenset(passing), diff)


def test_the_same_failure_twice_with_nothing_newly_passing_is_a_spiral() -> None:
    assert spiral([fail({"tests:1"}, {"lint"}, "d1"), fail({"tests:1"}, {"lint"}, "d2")]) is not None
    # Progress (a check newly passing) or a different failure is not a spiral.
    assert spiral([fail({"tests:1"}, {"lint"}, "d1"), fail({"tests:1"}, {"lint", "types"}, "d2")]) is None
    assert spiral([fail({"tests:1"}, set(), "d1"), fail({"tests:2"}, set(), "d2")]) is None


def test_the_same_diff_twice_is_a_spiral_and_a_pass_never_is() -> None:
    assert "same diff" in (spiral([fail({"a"}, diff="x"), fail({"b"}, diff="y"), fail({"c"}, diff="x")]) or "")
    assert spiral([fail({"a"}, diff="x"), AttemptFacts("pass", diff="x")]) is None


def test_k_attempts_without_progress_is_a_spiral() -> None:
    attempts = [fail({f"s{n}"}, {"lint"}, f"d{n}") for n in range(4)]
    assert "4 attempts without progress" in (spiral(attempts, max_attempts=4) or "")
    assert spiral(attempts[:3], max_attempts=4) is None


def test_metrics_give_yield_second_passes_failures_and_breakdowns() -> None:
    issues = [
        IssueRow("a", "claude", 3, True, cycle_time_s=10.0),
        IssueRow("b", "claude", 3, True, cycle_time_s=30.0),
        IssueRow("c", "scripted", 2, False, spiral=True),
    ]
    attempts = [
        AttemptRow("a", "claude", 3, "pass", tokens=100, cost_usd=0.1),
        AttemptRow("b", "claude", 3, "fail", ("tests",), tokens=100, cost_usd=0.1),
        AttemptRow("b", "claude", 3, "pass", tokens=50, cost_usd=0.05, handoff=True),
        AttemptRow("c", "scripted", 2, "fail", ("tests", "lint")),
        AttemptRow("c", "scripted", 2, "fail", ("tests",)),
    ]
    m = compute(issues, attempts)
    assert (m["merged"], m["attempts"], m["spirals"], m["handoffs"]) == (2, 5, 1, 1)
    assert m["first_pass_yield"] == 0.5 and m["second_pass_rate"] == 0.5
    assert m["gate_failures_by_check"] == {"lint": 1, "tests": 3}
    assert m["cycle_time_s"] == 20.0 and m["tokens"] == 250
    assert m["cost_per_merged_usd"] == pytest.approx(0.125)
    assert m["by_agent"]["scripted"]["merged"] == 0 and m["by_vibe"]["3"]["first_pass_yield"] == 0.5
    assert compute([], [])["first_pass_yield"] is None
