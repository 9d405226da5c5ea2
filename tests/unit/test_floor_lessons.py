"""When the floor asks a finished issue's agent for its lessons (``floor.lessons``): a table of
situations and the step taken, the bullets cut from an answer, and ``[flywheel] ask_agent``."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shopfloor.errors import ValidationError
from shopfloor.floor.lessons import MAX_BULLETS, Asked, Facts, Step, bullets, parse_mode, step

NOW = 1_000_000.0


def facts(**changes: object) -> Facts:
    base = Facts(mode="on-trouble", outcome="merged", attempts=2, handoffs=0, state="done", generation=3, now=NOW)
    return replace(base, **changes)  # type: ignore[arg-type]


ASKED = Asked(generation=3, at=NOW - 10, settled=False)
TABLE: list[tuple[str, Facts, Step]] = [
    ("on-trouble: a second pass is asked", facts(), Step.ASK),
    ("on-trouble: a first-pass landing is not", facts(attempts=1), Step.NONE),
    ("on-trouble: a handoff is asked", facts(attempts=1, handoffs=1), Step.ASK),
    ("on-trouble: a block is asked, even at once", facts(attempts=1, outcome="blocked"), Step.ASK),
    ("always: a first-pass landing is asked", facts(mode="always", attempts=1), Step.ASK),
    ("never: not even a block", facts(mode="never", outcome="blocked"), Step.NONE),
    ("an issue the floor did not finish (a person closed it)", facts(outcome=None), Step.NONE),
    ("a session that cannot be resumed: no lessons, and why", facts(resumable=False), Step.GIVE_UP),
    ("its lessons turn runs", facts(state="running", generation=4, asked=replace(ASKED, generation=4)), Step.WAIT),
    ("its lessons turn is starting", facts(state="starting", asked=ASKED), Step.WAIT),
    ("its lessons turn ran out of time", facts(state="running", asked=replace(ASKED, at=NOW - 300)), Step.GIVE_UP),
    ("its lessons turn ended", facts(asked=ASKED), Step.TAKE),
    ("its lessons turn crashed", facts(state="failed", asked=ASKED, error="exit 137"), Step.GIVE_UP),
    ("its lessons turn was lost", facts(state="lost", asked=ASKED), Step.GIVE_UP),
    ("already answered: the worker may go", facts(asked=replace(ASKED, settled=True)), Step.NONE),
    ("an open turn is carried on whatever the mode", facts(mode="never", asked=ASKED), Step.TAKE),
    ("someone restarted the session since", facts(state="running", generation=5, asked=ASKED), Step.GIVE_UP),
]


@pytest.mark.parametrize(("situation", "given", "expected"), TABLE, ids=[row[0] for row in TABLE])
def test_the_lessons_step(situation: str, given: Facts, expected: Step) -> None:
    assert step(given).step == expected, situation


def test_a_give_up_says_why() -> None:
    assert step(facts(resumable=False)).why == "its session cannot be resumed"
    assert step(facts(state="failed", asked=ASKED, error="exit 137")).why == "its lessons turn ended failed: exit 137"
    assert step(facts(state="running", asked=replace(ASKED, at=NOW - 300)), 300).why == "no answer within 300 s"


def test_an_answer_is_cut_to_five_one_line_bullets() -> None:
    answer = "Here is what I learnt:\n\n- one\n* two  with   space\n3. three\n• four\n- five\n- six\n"
    assert bullets(answer) == ("one", "two with space", "three", "four", "five")
    assert bullets("no markers at all\nsecond line\n") == ()  # prose, or a canned reply, is no lesson
    assert bullets("(scripted model: the scenario has no more turns)") == ()
    assert bullets("Here is what I learnt:\n1. one\n* two") == ("one", "two")
    assert bullets("") == () and bullets("  \n\n") == ()
    long = bullets("- " + "x" * 1000)[0]
    assert len(long) == 300 and long.endswith("…")
    hostile = bullets("- ok\n---\n# heading\n- ## not a heading")
    assert hostile == ("ok", "## not a heading") and len(bullets("\n".join(f"- {n}" for n in range(9)))) == MAX_BULLETS


def test_ask_agent_is_one_of_three_values() -> None:
    assert parse_mode({}, "c.toml") == "on-trouble"
    assert parse_mode({"flywheel": {"ask_agent": "never"}}, "c.toml") == "never"
    with pytest.raises(ValidationError) as raised:
        parse_mode({"flywheel": {"ask_agent": "sometimes"}}, "c.toml")
    message = str(raised.value)
    assert "flywheel.ask_agent" in message and '"always", "on-trouble", "never"' in message and "\n" not in message


def test_a_committed_retro_is_rewritten_when_its_lessons_arrive_not_otherwise() -> None:
    from shopfloor.floor.retros import _same

    old = b"---\noutcome: merged\nattempts: 2\n---\n# Retro\n"  # written before lessons existed
    assert _same(old, "merged", 2, "not-asked")  # no churn for that alone
    assert not _same(old, "merged", 2, "asked")
    asked = b"---\noutcome: merged\nattempts: 2\nlessons: asked\n---\n"
    assert _same(asked, "merged", 2, "asked") and not _same(asked, "merged", 2, "3")
    assert not _same(asked, "merged", 2, "none") and not _same(asked, "merged", 2, "not-asked")
    assert _same(b"---\noutcome: merged\nattempts: 2\nlessons: 3\n---\n", "merged", 2, "3")


def test_a_retros_lessons_ride_along_in_its_briefing_entry() -> None:
    from shopfloor.floor.retro import Facts as RetroFacts
    from shopfloor.floor.retro import Lessons, render
    from shopfloor.learn.brief import lessons_in

    base = RetroFacts("t-1", "Add c", "merged", 2, 0, None, 10, 0.0, 5.0, ("c.txt",))
    said = Lessons(("run the no-fixme check first", "c.txt is generated"), None, True, 300, 0.001)
    assert (
        lessons_in(render(replace(base, lessons=said))) == "Lessons: run the no-fixme check first / c.txt is generated"
    )
    assert (
        lessons_in(render(base)) == "" and lessons_in(render(replace(base, lessons=Lessons((), "no lessons: x")))) == ""
    )


@pytest.mark.parametrize(
    ("status", "outcomes", "expected"),
    [
        ("closed", ["failed", "merged"], "merged"),
        ("closed", ["failed"], None),  # a person closed it: the floor did not finish it
        ("blocked", ["spiral"], "blocked"),
        ("blocked", [], None),  # blocked by hand before any attempt
        ("in_progress", ["failed"], None),
        ("open", ["merged"], None),  # reopened after landing
    ],
)
def test_how_the_floor_finished_an_issue(status: str, outcomes: list[str], expected: str | None) -> None:
    from shopfloor.floor.lessons import finished

    assert finished(status, outcomes) == expected


def test_a_list_marker_is_taken_off_a_line_and_nothing_else() -> None:
    from shopfloor.floor.lessons import unmarked

    assert [unmarked(x) for x in ("- run ruff", "* run ruff", "12. run ruff", "run ruff")] == ["run ruff"] * 4
    # Promotion reads handoff-note lines with it: a flag or a sign at the start stays.
    assert unmarked("--no-verify is refused") == "--no-verify is refused" and unmarked("+1 test") == "+1 test"
