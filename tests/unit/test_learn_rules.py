"""Promotion to rules (learn.rules, pure): when a recurring failure or near-identical lessons become
a proposed rule, with what evidence, and what is never proposed twice."""

from __future__ import annotations

import pytest

from shopfloor.errors import ValidationError
from shopfloor.learn.rules import (
    LESSON,
    MAX_TEXT,
    Rule,
    Said,
    Seen,
    apply,
    check_text,
    jaccard,
    near,
    over_budget,
    propose,
    propose_lessons,
    section,
    words,
)

SIG = "ruff:0123abcd"


def seen(*issues: str, signature: str = SIG) -> list[Seen]:
    return [Seen(i, signature, 2, "1 file changed") for i in issues]


# (what was seen, promote_after, the signatures proposed)
THRESHOLD = [
    pytest.param(seen("a", "b"), 3, [], id="2 issues under a threshold of 3: nothing"),
    pytest.param(seen("a", "b", "c"), 3, [SIG], id="3 issues: proposed"),
    pytest.param(seen("a", "a", "b", "b"), 3, [], id="the same issue twice counts once"),
    pytest.param(seen("a", "b"), 2, [SIG], id="promote_after 2"),
    pytest.param(
        [*seen("a", "b", "c"), *seen("a", "b", signature="mypy:ff")], 3, [SIG], id="each signature counted on its own"
    ),
]


@pytest.mark.parametrize(("found", "after", "expected"), THRESHOLD)
def test_a_signature_is_proposed_once_promote_after_distinct_issues_met_it(
    found: list[Seen], after: int, expected: list[str]
) -> None:
    assert [p.signature for p in propose(found, after)] == expected


def test_a_proposal_carries_its_evidence_one_entry_per_issue_in_order() -> None:
    found = [Seen("c", SIG, None), Seen("a", SIG, 2, "1 file changed, 3 insertions(+)"), Seen("b", SIG, 3, None)]
    found.append(Seen("a", SIG, 5, "later"))  # a second sighting in a: the first one is the evidence
    [p] = propose(found, 3, {"a": ".agents/retros/a.md", "b": ".agents/retros/b.md"})
    assert p.evidence == [
        {"issue": "a", "fixed_by": 2, "fix_stat": "1 file changed, 3 insertions(+)", "retro": ".agents/retros/a.md"},
        {"issue": "b", "fixed_by": 3, "fix_stat": None, "retro": ".agents/retros/b.md"},
        {"issue": "c", "fixed_by": None, "fix_stat": None, "retro": None},
    ]
    assert "`ruff` check" in p.text and SIG in p.text and "3 issues" in p.text


def test_a_signature_already_proposed_accepted_or_rejected_is_not_proposed_again() -> None:
    found = [*seen("a", "b", "c"), *seen("a", "b", "c", signature="mypy:ff")]
    assert [p.signature for p in propose(found, 3, known=[SIG])] == ["mypy:ff"]
    assert propose(found, 3, known=[SIG, "mypy:ff"]) == []


# (a, b, near-identical?): the threshold is a Jaccard of 0.6 over normalised words.
NEAR_CASES = [
    ("Run ruff format before ruff check.", "run `ruff format` before running ruff check", True),
    ("The fixtures live in tests/conftest.py; reuse them.", "Reuse the fixtures in tests/conftest.py", True),
    ("Mock the clock with freezegun in tests", "Mocks of the clock: use freezegun in the tests", True),
    # A near miss: 3 of 6 words shared (0.5), under the threshold.
    ("Run the migrations before the integration tests", "Run the migrations after changing models", False),
    ("Do not run the whole suite", "Run the whole suite", False),  # 0.75, but one is a negation
    ("Don't run the whole suite", "Never run the whole suite", True),
    ("Use pytest.ini markers", "Use pytest ini markers", False),  # pytest.ini is one word
]


@pytest.mark.parametrize(("a", "b", "expected"), NEAR_CASES)
def test_near_identical_is_a_jaccard_of_normalised_words_at_or_over_the_threshold(
    a: str, b: str, expected: bool
) -> None:
    assert near(words(a), words(b)) is expected
    assert near(words(b), words(a)) is expected  # symmetric


def test_words_are_lower_case_without_stop_words_or_plural_s() -> None:
    assert words("The Tests use ruff-format and pytest.ini, not mocks!") == {
        "test",
        "use",
        "ruff-format",
        "pytest.ini",
        "not",
        "mock",
    }
    assert jaccard(frozenset("ab"), frozenset("bc")) == pytest.approx(1 / 3)
    assert jaccard(frozenset(), frozenset()) == 0.0
    assert jaccard(words("Run the migrations before the integration tests"), words("Run migrations after models")) < 0.6


def said(issue: str, text: str, source: str | None = None) -> Said:
    return Said(issue, text, source or f"retro:{issue}")


RUFF = [
    said("a", "Run ruff format before ruff check."),
    said("b", "run `ruff format` before running ruff check"),
    said("c", "Always run ruff format before the ruff check", "handoff:7"),
]


def test_near_identical_lessons_from_promote_after_issues_are_proposed_with_their_evidence() -> None:
    [p] = propose_lessons(RUFF, 3, retro_of={"a": ".agents/retros/a.md"})
    assert p.signature.startswith(LESSON) and len(p.signature) == len(LESSON) + 16
    assert p.text == "Run ruff format before ruff check."  # the shortest of them
    assert p.evidence == [
        {"issue": "a", "lesson": RUFF[0].text, "source": "retro:a", "retro": ".agents/retros/a.md"},
        {"issue": "b", "lesson": RUFF[1].text, "source": "retro:b", "retro": None},
        {"issue": "c", "lesson": RUFF[2].text, "source": "handoff:7", "retro": None},
    ]
    # The same lessons in another order: the same proposal (the groups do not depend on order).
    assert propose_lessons(list(reversed(RUFF)), 3) == propose_lessons(RUFF, 3)


LESSON_CASES = [
    pytest.param(RUFF[:2], 3, 0, id="two issues under a threshold of 3"),
    pytest.param([*RUFF[:2], said("b", "Run ruff format before ruff check!", "handoff:9")], 3, 0, id="one issue twice"),
    pytest.param(
        [*RUFF[:2], said("c", "Run the migrations before the integration tests")], 3, 0, id="a near miss does not count"
    ),
    pytest.param([said(i, "Run tests.") for i in "abc"], 3, 0, id="under MIN_WORDS: says too little"),
    pytest.param(
        [*RUFF, *(said(i, "Reuse the fixtures in tests/conftest.py") for i in "def")], 3, 2, id="two groups, two"
    ),
]


@pytest.mark.parametrize(("lessons", "after", "count"), LESSON_CASES)
def test_lessons_recur_only_across_distinct_issues_and_only_when_near_identical(
    lessons: list[Said], after: int, count: int
) -> None:
    assert len(propose_lessons(lessons, after)) == count


def test_lessons_near_a_known_rules_lesson_are_not_proposed_again() -> None:
    assert propose_lessons(RUFF, 3, known=["run ruff format before the ruff check"]) == []
    assert len(propose_lessons(RUFF, 3, known=["Reuse the fixtures in tests/conftest.py"])) == 1


def test_a_lessons_text_becomes_one_safe_line() -> None:
    long = [said(i, "Run ruff format <!-- x --> before ruff check " + "and more words " * 40) for i in "abc"]
    [p] = propose_lessons(long, 3)
    assert len(p.text) == MAX_TEXT and "<!--" not in p.text and "\n" not in p.text
    assert check_text(p.text) == p.text


@pytest.mark.parametrize("bad", ["", "  ", "two\nlines", "x" * (MAX_TEXT + 1), "a <!-- comment -->"])
def test_a_rules_text_is_one_short_line_without_comments(bad: str) -> None:
    with pytest.raises(ValidationError):
        check_text(bad)


def test_the_section_renders_rules_by_id_and_apply_keeps_the_rest_of_the_file() -> None:
    rules = [Rule(2, "Second.", "x"), Rule(1, "First.", ".agents/retros/a.md")]
    body = section(rules)
    assert body.index("- First. (rule 1; evidence: .agents/retros/a.md)") < body.index("- Second.")
    own = "# Ours\n"
    written = apply(own, rules)
    assert written is not None and written.startswith(own) and written.endswith(body)
    assert apply(written, []) == own  # the section removed, the blank line it added too
    assert apply(None, []) is None and section([]) == ""
    assert over_budget(rules, len(body.encode())) == [] and over_budget(rules, len(body.encode()) - 1) == [rules[0]]


@pytest.mark.parametrize("seed", range(5))
def test_the_prefix_filter_finds_the_same_groups_as_comparing_every_pair(seed: int) -> None:
    import itertools
    import random

    from shopfloor.learn.rules import NEAR, _groups

    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(40)] + ["not"]
    sets = [frozenset(rng.sample(vocab, rng.randint(3, 9))) for _ in range(300)]
    sets += [s | {f"extra{n}"} for n, s in enumerate(sets[:40])]  # near-identical pairs for sure
    parent = list(range(len(sets)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i, j in itertools.combinations(range(len(sets)), 2):
        if near(sets[i], sets[j]) and root(i) != root(j):
            parent[root(i)] = root(j)
    every_pair: dict[int, list[int]] = {}
    for i in range(len(sets)):
        every_pair.setdefault(root(i), []).append(i)
    assert _groups(sets, NEAR) == sorted(every_pair.values())
