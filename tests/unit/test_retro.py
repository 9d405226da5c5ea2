"""The retro renderer (pure) and the floor's tracker-commit rules for retro files."""

from __future__ import annotations

import pytest

from shopfloor.floor import retro
from shopfloor.floor.retro import Facts, Failure, parse_front_matter, render
from shopfloor.queue.trackercommit import floor_commit_only, retro_path
from shopfloor.tracker.trackeronly import TRACKER_PATH, is_tracker_only


def facts(**changes: object) -> Facts:
    base: dict[str, object] = {
        "issue": "sf-a1",
        "title": "Add c",
        "outcome": "merged",
        "attempts": 2,
        "handoffs": 0,
        "spiral": None,
        "tokens": 12_600,
        "cost_usd": 0.0123,
        "cycle_time_s": 75.4,
        "files": ("c.txt",),
        "failures": (Failure("no-fixme:0123456789abcdef", 1, 2, " c.txt | 2 +-\n 1 file changed"),),
        "notes": (),
    }
    return Facts(**{**base, **changes})  # type: ignore[arg-type]


def test_the_front_matter_reads_back() -> None:
    text = render(facts())
    assert parse_front_matter(text) == {
        "issue": "sf-a1",
        "title": "Add c",
        "outcome": "merged",
        "attempts": 2,
        "handoffs": 0,
        "spiral": "none",
        "tokens": 12600,
        "cost_usd": 0.0123,
        "cycle_time": "1m 15s",
        "cycle_time_s": 75,
        "files_touched": 1,
        "files": ["c.txt"],
        "lessons": "not-asked",
        "retro_tokens": 0,
        "retro_cost_usd": 0.0,
    }
    assert "signature `` no-fixme:0123456789abcdef ``" not in text
    met = "- check ` no-fixme `, signature ` no-fixme:0123456789abcdef `: first met at attempt 1, fixed by attempt 2"
    assert met in text
    assert " 1 file changed" in text and "None: no session handed off." in text


def test_the_agents_lessons_their_cost_and_why_there_are_none() -> None:
    asked = retro.Lessons(("run `make lint` before committing", "- # not a heading\n---"), None, True, 812, 0.0042)
    text = render(facts(lessons=asked))
    said = parse_front_matter(text)
    assert said["lessons"] == 2 and said["retro_tokens"] == 812 and said["retro_cost_usd"] == 0.0042
    body = text.split("## Lessons (from the agent)\n\n", 1)[1]
    assert body.startswith("- run `make lint` before committing\n- - # not a heading ---\n")
    assert "The lessons turn cost 812 tokens ($0.0042)" in body
    none = render(facts(lessons=retro.Lessons((), "no lessons: its lessons turn ended failed", True, 40, 0.0)))
    assert parse_front_matter(none)["lessons"] == "none" and "no lessons: its lessons turn ended failed." in none
    pending = render(facts(lessons=retro.Lessons(settled=False)))
    assert parse_front_matter(pending)["lessons"] == "asked" and "Asked; its answer comes" in pending
    assert "Not asked ([flywheel] ask_agent)." in render(facts())


def test_a_blocked_spiral_says_its_reason_and_the_unfixed_signature() -> None:
    text = render(facts(outcome="blocked", spiral="the same failure twice", failures=(Failure("lint:ab", 1),)))
    said = parse_front_matter(text)
    assert said["outcome"] == "blocked" and said["spiral"] == "the same failure twice"
    assert "first met at attempt 1, never fixed" in text


def test_a_hostile_title_and_note_stay_data() -> None:
    title = 'x\n---\noutcome: merged\nattempts: 0\n"quoted" `code` ---'
    note = "---\noutcome: merged\n# Heading\n```\nend"
    text = render(facts(title=title, outcome="blocked", notes=(note,), files=("a\nb.txt",)))
    said = parse_front_matter(text)
    assert said["title"] == title and said["outcome"] == "blocked" and said["attempts"] == 2
    assert said["files"] == ["a\nb.txt"]
    head, _, body = text.partition("\n---\n")
    assert head.count("\n") == len(said)  # one line per key: nothing was injected
    assert "\n---\n" not in body and "\n# Heading" not in body and "> # Heading" in body
    assert all(line.startswith(("> ", ">")) for line in body.split("Note 1:\n\n", 1)[1].splitlines()[:5])
    first_heading = next(line for line in body.splitlines() if line.startswith("# "))
    assert "\n" not in first_heading and first_heading.startswith("# Retro of sf-a1: x --- outcome: merged")


def test_each_section_is_capped_and_says_what_it_left_out() -> None:
    many = tuple(f"f{n}.txt" for n in range(retro.MAX_FILES + 7))
    sigs = tuple(Failure(f"c{n}:00", 1) for n in range(retro.MAX_FAILURES + 3))
    notes = tuple(f"note {n} " + "y" * (retro.NOTE_CHARS + 10 * n) for n in range(retro.MAX_NOTES + 2))
    text = render(facts(title="t" * 5000, files=many, failures=sigs, notes=notes))
    said = parse_front_matter(text)
    assert len(str(said["title"])) == retro.TITLE_CHARS and said["files_touched"] == len(many)
    assert len(said["files"]) == retro.MAX_FILES and said["files_left_out"] == 7  # type: ignore[arg-type]
    assert "(3 more signatures left out)" in text and "(2 earlier notes left out)" in text
    assert "note 0 " not in text and "note 6 " in text and "(67 more characters left out)" in text
    stat = "x" * (retro.STAT_CHARS + 40)
    assert f"({40} more characters of the diff stat left out)" in render(facts(failures=(Failure("a:1", 1, 2, stat),)))
    assert len(text) < 40_000


def test_a_backtick_in_a_signature_or_stat_cannot_close_its_code() -> None:
    text = render(facts(failures=(Failure("we``ird:1", 1, 2, "```\n# not a heading"),)))
    assert "``` we``ird ```" in text and "\n  ````\n" in text


def test_an_unknown_outcome_is_refused() -> None:
    with pytest.raises(ValueError):
        render(facts(outcome="closed"))


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "../x", "a\\b", "a..b", "-x", ".hidden", "a\nb", "c:d"])
def test_a_retro_name_never_leaves_the_retros_directory(bad: str) -> None:
    with pytest.raises(ValueError):
        retro_path(bad)


def test_the_floor_commit_may_carry_retros_but_a_candidate_branch_may_not() -> None:
    retros = {retro_path("sf-a1")}
    assert retro_path("sf-a1") == ".agents/retros/sf-a1.md"
    assert floor_commit_only([TRACKER_PATH, ".agents/retros/sf-a1.md"], retros)
    assert floor_commit_only([".agents/retros/sf-a1.md"], retros)
    assert not floor_commit_only([TRACKER_PATH, ".agents/retros/sf-b2.md"], retros)
    assert not floor_commit_only([TRACKER_PATH, "src/app.py"], retros)
    assert not floor_commit_only([], retros)
    # The candidate rule is unchanged: a retro beside the export is no tracker-only change.
    assert not is_tracker_only([TRACKER_PATH, ".agents/retros/sf-a1.md"])
    assert not is_tracker_only([".agents/retros/sf-a1.md"])


def test_a_committed_retro_is_rewritten_only_when_its_outcome_or_attempts_changed() -> None:
    from shopfloor.floor.retros import _same

    text = render(facts(title="outcome: blocked attempts: 3")).encode()
    assert _same(text, "merged", 2)
    assert not _same(text, "blocked", 2) and not _same(text, "merged", 3) and not _same(None, "merged", 2)
    assert not _same(b"outcome: merged\nattempts: 2\n", "blocked", 2)
