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
    # An attempt ended by `shopfloor stop` is no pass: its tokens count, the yield does not change.
    stopped = [AttemptRow("a", "claude", 3, None, tokens=7, stopped=True), *attempts]
    again = compute(issues, stopped)
    assert (again["attempts"], again["first_pass_yield"], again["tokens"]) == (5, 0.5, 257)
    # A vibe 1-2 change waits for a person: approved as it was, it was right first time; sent
    # back with a review, it was not.
    waited = [IssueRow("d", "claude", 1, True), IssueRow("e", "claude", 1, True)]
    asked = [
        AttemptRow("d", "claude", 1, "needs-approval"),
        AttemptRow("e", "claude", 1, "needs-approval"),
        AttemptRow("e", "claude", 1, "needs-approval", reviewed=True),
    ]
    approved = compute(waited, asked)
    assert approved["first_pass_yield"] == 0.5 and approved["by_vibe"]["1"]["reviews"] == 1


def test_each_attempt_counts_what_it_spent_not_its_workers_running_total() -> None:
    from shopfloor.floor.metrics import spent

    # A worker resumed twice records 6,380 / 12,760 / 19,140 (its running total): 6,380 each.
    # Then the worker is made again (generation 1: from zero), and one attempt reported nothing.
    totals = [
        ("a", "a", 1, 6380, 0.5),
        ("a", "a", 2, 12760, 1.0),
        ("a", "a", 3, 19140, 1.5),
        ("a", "a", 1, 100, 0.25),
        ("a", "a", 2, 0, 0.0),
        ("a", "a", 3, 150, 0.5),
        ("b", "b", 1, 7, 0.0),
    ]
    assert spent(totals) == [(6380, 0.5), (6380, 0.5), (6380, 0.5), (100, 0.25), (0, 0.0), (50, 0.25), (7, 0.0)]


def test_a_lease_is_renewed_only_when_less_than_half_of_it_is_left() -> None:
    from shopfloor.tracker.clock import iso, renewal_due

    now, lease = 1_800_000_000.0, 1800.0
    assert renewal_due(None, now, lease)  # no lease at all
    assert not renewal_due(iso(now + lease), now, lease)  # just claimed: the floor's next polls leave it alone
    assert not renewal_due(iso(now + lease / 2 + 1), now, lease)
    assert renewal_due(iso(now + lease / 2 - 1), now, lease)
    assert renewal_due(iso(now - 5), now, lease)  # expired


def test_a_blocked_issues_comment_names_the_gate_run_and_what_failed() -> None:
    from shopfloor.floor.attempts import Attempt
    from shopfloor.floor.notes import SUMMARY_LINES, block_comment, gate_summary

    def attempt(n: int, outcome: str) -> Attempt:
        return Attempt(
            n, "t-1", "w", n, "scripted", 3, None, "s", "e", 0, 0.0, None, None, 7, "fail", None, None,
            '["pytest"]', 0, outcome,
        )  # fmt: skip

    failing = {
        "check": "pytest", "message": "assert 1 == 2", "test": "tests/test_calc.py::test_add",
        "detail": ["AssertionError: assert 1 == 2"], "new": True,
    }  # fmt: skip
    report = {
        "id": 7,
        "verdict": "fail",
        "checks": [
            {"name": "lint", "status": "pass", "excerpt": "all good"},
            {"name": "pytest", "status": "fail", "findings": [failing]},
            {"name": "no-fixme", "status": "fail", "excerpt": "./d.txt:1:d FIXME"},
        ],
    }
    text = block_comment("spiral: the same failure twice", [attempt(1, "failed"), attempt(2, "spiral")], report)
    assert text.startswith("The floor stopped this issue: spiral: the same failure twice.\nLast gate run: 7")
    assert "`shopfloor gate show 7`" in text
    assert "FAILED tests/test_calc.py::test_add - assert 1 == 2" in text and "E AssertionError" in text
    assert "./d.txt:1:d FIXME" in text and "lint" not in text  # only the failing checks
    assert "- attempt 2: gate fail (failed: pytest), outcome spiral" in text
    # Bounded, however much the checks printed.
    noisy = {"id": 8, "verdict": "fail", "checks": [
        {"name": f"c{n}", "status": "fail", "excerpt": "\n".join(f"line {k}" for k in range(500))} for n in range(9)
    ]}  # fmt: skip
    lines = gate_summary(noisy)
    assert len(lines) <= SUMMARY_LINES and "more failing check(s)" in lines[-1] and "gate show 8" in lines[-1]


def test_a_close_by_anyone_but_the_queue_is_not_called_merged() -> None:
    from shopfloor.floor.notes import closed_without_queue

    kept = closed_without_queue("t-1", "alice", "floor/t-1", 2)
    assert kept.startswith("t-1: closed by alice without landing; its branch floor/t-1 is kept")
    assert "merged" not in kept
    assert "merged" not in closed_without_queue("t-1", "alice", "floor/t-1", 0)


def test_a_start_in_flight_keeps_the_floor_up_when_nothing_else_does() -> None:
    from shopfloor.floor.waiting import keeps_busy

    idle = dict(working=0, in_flight=0, started=0, queued=0, held=False, pools_busy=False, start_failures=False)
    assert keeps_busy(**idle) is False  # type: ignore[arg-type]
    # The race seen in CI: the start ended between reading the starts in flight (its worker left
    # out of the working ones) and asking the pools, which were idle by then.
    assert keeps_busy(**{**idle, "in_flight": 1}) is True  # type: ignore[arg-type]
    for key, value in (("working", 1), ("queued", 1), ("held", True), ("pools_busy", True), ("start_failures", True)):
        assert keeps_busy(**{**idle, key: value}) is True  # type: ignore[arg-type]
