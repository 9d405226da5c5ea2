"""The memory's measured effect (floor.effect, pure): accepted rules before and after, briefed
learnings that came back, from tables of attempts."""

from __future__ import annotations

import pytest

from shopfloor.floor.effect import Accepted, Tried, accepted_rules, briefed, carried, learning, lines, section

A, B = "tests:aaaa", "lint:bbbb"


def t(
    id: int,
    issue: str,
    started: float,
    sigs: set[str] = frozenset(),  # type: ignore[assignment]
    learned: tuple[str, ...] = (),
    gated: bool = True,
    gate_run: int | None = None,
) -> Tried:
    return Tried(id, issue, started, started + 1, gated, gate_run, frozenset(sigs), learned)


# (attempts, accepted at, before (met, gated), after (met, gated))
RULE_CASES = [
    pytest.param([], 10.0, (0, 0), (0, 0), id="no attempts: no rate, n = 0"),
    pytest.param(
        [t(1, "a", 1, {A}), t(2, "b", 2, {A, B}), t(3, "c", 3, {B}), t(4, "d", 20, {B}), t(5, "e", 21)],
        10.0,
        (2, 3),
        (0, 2),
        id="met by 2 of 3 before, none of 2 after",
    ),
    pytest.param(
        [t(1, "a", 1, {A}), t(2, "a", 2, gated=False), t(3, "b", 10, {A}), t(4, "c", 11)],
        10.0,
        (1, 1),
        (1, 2),
        id="an ungated attempt counts in neither window; one started at acceptance is after",
    ),
]


@pytest.mark.parametrize(("tried", "at", "before", "after"), RULE_CASES)
def test_an_accepted_rule_has_its_signature_rate_before_and_after_with_counts(
    tried: list[Tried], at: float, before: tuple[int, int], after: tuple[int, int]
) -> None:
    [row] = accepted_rules([Accepted(7, A, at)], tried)
    assert (row["id"], row["signature"]) == (7, A)
    assert (row["before"]["met"], row["before"]["gated"]) == before
    assert (row["after"]["met"], row["after"]["gated"]) == after
    for window, (met, gated) in (("before", before), ("after", after)):
        assert row[window]["rate"] == (met / gated if gated else None)


def test_rules_are_listed_by_id() -> None:
    rows = accepted_rules([Accepted(3, B, 0.0), Accepted(1, A, 0.0)], [t(1, "a", 1, {A})])
    assert [(r["id"], r["after"]["met"]) for r in rows] == [(1, 1), (3, 0)]


# What each source id teaches about: (source, its issue, its signatures), or None.
HISTORY = [
    t(1, "a", 1, {A}, gate_run=11),
    t(2, "a", 2, {A, B}, gate_run=12),
    t(3, "a", 3, gate_run=13),
    t(4, "b", 4, {B}, gate_run=14),
]
LEARNING_CASES = [
    ("retro:a", ("a", {A, B})),
    ("handoff:1", ("a", {A})),  # what its issue met up to that attempt, not after
    ("gate:12:lint", ("a", {B})),  # that check's signature in that run
    ("gate:12:types", None),  # the run met nothing of that check
    ("retro:zz", None),  # no attempts of that issue
    ("research:notes.md", None),  # a note names no signature
    ("handoff:x", None),
]


@pytest.mark.parametrize(("source", "expected"), LEARNING_CASES)
def test_a_learning_teaches_about_the_signatures_its_source_met(
    source: str, expected: tuple[str, set[str]] | None
) -> None:
    found = learning(source, HISTORY)
    assert (None if found is None else (found.issue, set(found.signatures))) == expected


def test_a_briefed_learning_that_came_back_against_attempts_not_briefed_with_it() -> None:
    tried = [
        *HISTORY,  # issue a met A (ended at 3 + 1 = 4): the retro of a exists from then on
        t(5, "c", 5, {A}, ("retro:a",)),  # briefed, came back
        t(6, "d", 6, set(), ("retro:a", "research:x.md")),  # briefed, did not
        t(7, "e", 7, {A}),  # not briefed, met it
        t(8, "f", 8),  # not briefed, did not
        t(9, "g", 9, set(), ("retro:a",), gated=False),  # briefed but never gated: not counted
    ]
    b = briefed(tried)
    [row] = b["learnings"]
    assert row["source"] == "retro:a" and row["signatures"] == sorted({A, B})
    assert (row["briefed"]["met"], row["briefed"]["gated"], row["briefed"]["rate"]) == (1, 2, 0.5)
    # Not briefed: e and f, and b (issue b's attempt 4 started at 4, when a's retro existed); not
    # issue a's own attempts, nor c, d, g (briefed).
    assert (row["not_briefed"]["met"], row["not_briefed"]["gated"]) == (2, 3)
    assert b["unmeasured"] == ["research:x.md"]
    # Over all learnings, per attempt: c and d briefed (1 came back); b, e, f the baseline.
    assert (b["briefed"]["met"], b["briefed"]["gated"]) == (1, 2)
    assert (b["not_briefed"]["met"], b["not_briefed"]["gated"]) == (2, 3)


def test_the_passes_after_a_briefed_first_attempt_count_as_briefed() -> None:
    tried = [
        *HISTORY,
        t(5, "c", 5, {A}, ("retro:a",)),  # the briefed first prompt
        t(6, "c", 6, {A}),  # its second pass: the same session, no briefing of its own
        t(7, "c", 7),  # the third: fixed
    ]
    assert carried(tried)[7] == {"retro:a"} and carried(tried)[4] == frozenset()
    [row] = briefed(tried)["learnings"]
    assert (row["briefed"]["met"], row["briefed"]["gated"]) == (2, 3)
    assert (row["not_briefed"]["met"], row["not_briefed"]["gated"]) == (1, 1)  # issue b's attempt


def test_nothing_briefed_nothing_accepted_prints_nothing_and_the_lines_show_the_counts() -> None:
    assert lines(section([], [])) == []
    tried = [t(1, "a", 1, {A}), t(2, "b", 5, set(), ("retro:a",))]
    text = "\n".join(lines(section([Accepted(1, A, 3.0)], tried)))
    assert "rule 1 tests:aaaa: 100% (1/1) -> 0% (0/1)" in text
    assert "retro:a: 0% (0/1) briefed, - (0/0) not briefed" in text


def test_the_lines_show_the_most_briefed_learnings_and_say_how_many_more() -> None:
    tried = [t(n, f"i{n}", n, {A}) for n in range(12)]
    tried += [t(100 + n, f"x{n}", 50 + n, set(), tuple(f"retro:i{m}" for m in range(n + 1))) for n in range(12)]
    text = lines(section([], tried))
    assert text[1].startswith("  retro:i0: 0% (0/12) briefed") and len(text) == 12
    assert text[-1] == "  and 2 more learning(s): see --json"
