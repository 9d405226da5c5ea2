"""Which learnings brief a worker (``learn.brief``): ranked, boosted by shared files, within a budget."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shopfloor.errors import ValidationError
from shopfloor.learn.brief import (
    HEADER,
    Briefing,
    Candidate,
    entry,
    front_files,
    named_files,
    parse,
    query_words,
    select,
    tokens,
)


def cand(source: str, score: float, snippet: str = "a lesson", files: frozenset[str] = frozenset()) -> Candidate:
    return Candidate(source, source.partition(":")[0], f"title of {source}", snippet, score, files)


def test_an_empty_corpus_or_a_zero_budget_gives_no_block() -> None:
    assert select([], 1500) == Briefing([], "")
    assert select([cand("retro:t-1", 3.0)], 0) == Briefing([], "")


def test_the_best_scores_come_first_and_each_entry_names_its_source() -> None:
    chosen = select([cand("research:b.md", 1.0), cand("retro:t-1", 5.0), cand("gate:3:tests", 2.5)], 1500)
    assert chosen.sources == ["retro:t-1", "gate:3:tests", "research:b.md"]
    lines = chosen.text.splitlines()
    assert lines[0] == HEADER and "shopfloor learn show ID" in lines[0]
    assert lines[1] == "- retro:t-1 (retro) title of retro:t-1: a lesson"


def test_the_block_never_exceeds_the_budget_and_a_shorter_entry_fills_the_room_left() -> None:
    long = cand("retro:t-1", 9.0, "x" * 2000)
    short = [cand(f"research:n{i}.md", 5.0 - i, "short lesson") for i in range(200)]
    for budget in (40, 100, 300, 1500):
        chosen = select([long, *short], budget)
        assert tokens(chosen.text) <= budget
        assert len(chosen.text) <= budget * 4
    small = select([long, *short], 300)
    assert "retro:t-1" not in small.sources and small.sources[0] == "research:n0.md"  # passed over, not a stop
    assert len(small.sources) < len(short)  # never the whole corpus
    assert "retro:t-1" in select([long, *short], 1500).sources
    # A budget too small for the header and one entry: no block at all.
    assert select(short, len(HEADER) // 4) == Briefing([], "")


def test_a_learning_from_work_on_a_file_the_issue_names_is_boosted() -> None:
    plain = cand("research:other.md", 3.0)
    touched = cand("retro:t-9", 2.0, files=frozenset({"src/app/parser.py"}))
    assert select([plain, touched], 1500).sources == ["research:other.md", "retro:t-9"]
    assert select([plain, touched], 1500, frozenset({"src/app/parser.py"})).sources == [
        "retro:t-9",
        "research:other.md",
    ]
    assert select([plain, touched], 1500, frozenset({"src/app/other.py"})).sources[0] == "research:other.md"


def test_front_matter_files_in_each_spelling() -> None:
    assert front_files("---\nissue: t-1\nfiles: a.py, src/b.py\n---\n# Retro\n") == {"a.py", "src/b.py"}
    assert front_files('---\nfiles: ["a.py", "b.py"]\n---\n') == {"a.py", "b.py"}
    assert front_files('---\nfiles: ["my dir/a.py", "b,c.py"]\n---\n') == {"my dir/a.py", "b,c.py"}  # JSON
    assert front_files("---\nfiles:\n  - a.py\n  - b/c.py\nother: 1\n- d.py\n---\n") == {"a.py", "b/c.py"}
    assert front_files("# Retro\nfiles: a.py\n") == frozenset()  # no front matter
    assert front_files("---\nfiles: []\n---\n") == frozenset()


def test_the_floors_own_retros_front_matter_is_read() -> None:
    from shopfloor.floor import retro  # the writer of .agents/retros/<id>.md (issue 15, section 2)

    facts = retro.Facts("t-1", "Export", "merged", 1, 0, None, 10, 0.0, 5.0, ("src/export.py", "docs/my notes.md"))
    assert front_files(retro.render(facts)) == {"src/export.py", "docs/my notes.md"}


def test_the_files_an_issue_names() -> None:
    text = "Fix the crash in `src/app/parser.py` (see src/app/lexer.py.)"
    known = {"src/app/parser.py", "src/app/lexer.py", "src/app/p.py", "parser.py"}
    assert named_files(text, known) == {"src/app/parser.py", "src/app/lexer.py"}


def test_query_words_are_the_issues_distinct_words_title_first() -> None:
    words = query_words("Fix the Parser crash", "The parser crashes on empty input. See #12.", ["bug", "ux"])
    assert words == ["fix", "parser", "crash", "bug", "crashes", "empty", "input", "see"]
    assert len(query_words(" ".join(f"word{i}" for i in range(500)), "", [])) == 48


def test_an_entry_is_one_line() -> None:
    assert (
        entry(cand("gate:2:tests", 1.0, "line one\n  line two"))
        == "- gate:2:tests (gate) title of gate:2:tests: line one line two"
    )


def test_brief_tokens_is_parsed_strictly() -> None:
    assert parse({}, "c.toml") == 1500
    assert parse({"flywheel": {"brief_tokens": 0}}, "c.toml") == 0
    assert parse({"flywheel": {"brief_tokens": 20000}}, "c.toml") == 20000
    for bad in (-1, 20001, "900", 1.5, True):
        with pytest.raises(ValidationError, match="brief_tokens must be a whole number from 0 to 20000"):
            parse({"flywheel": {"brief_tokens": bad}}, "c.toml")
    with pytest.raises(ValidationError) as unknown:
        parse({"flywheel": {"brief_token": 10}}, "c.toml")
    assert str(unknown.value).count("\n") == 0 and "unknown key(s) in [flywheel]: brief_token" in str(unknown.value)
    with pytest.raises(ValidationError, match=r"\[flywheel\] must be a table"):
        parse({"flywheel": 3}, "c.toml")


def test_a_retros_failures_are_folded_into_one_line_for_its_briefing_entry() -> None:
    from shopfloor.floor.retro import Facts, Failure, render
    from shopfloor.learn.brief import failures_in

    facts = Facts("t-1", "Write the FAQ", "merged", 3, 0, None, 100, 0.1, 5.0, ("faq.md",))
    assert failures_in(render(facts)) == ""  # "None: every gate run passed."
    met = (Failure("no-fixme:75b1f443", 1, 2, "1 file changed"), Failure("odd`name:ab12", 2, None))
    assert failures_in(render(replace(facts, failures=met))) == (
        "Failed: no-fixme:75b1f443, fixed by attempt 2 / odd`name:ab12, never fixed"
    )
    many = tuple(Failure(f"check-{n}:{'f' * 16}", 1, 2) for n in range(20))
    folded = failures_in(render(replace(facts, failures=many)))
    assert len(folded) == 300 and folded.endswith("…")
