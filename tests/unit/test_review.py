"""A person's review (issue 16): its comments read and checked, the follow-up prompt they make,
the diff they are checked against, and the floor's rule that sends it to the same session. Pure."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shopfloor.errors import ValidationError
from shopfloor.floor import reviews
from shopfloor.floor.decide import Current, Do, Facts, Prompt, QueueFacts, Rules, decide
from shopfloor.floor.highlight import highlight_lines
from shopfloor.floor.outcomes import Outcome
from shopfloor.floor.review import comments_from_form, refusal
from shopfloor.floor.reviews import Comment, parse_comment, parse_patch
from shopfloor.workers.records import Worker

PATCH = """\
diff --git a/app.py b/app.py
index 1111111..2222222 100644
--- a/app.py
+++ b/app.py
@@ -1,4 +1,5 @@
 import os
-x = 1
+x = 2
+y = x + 1
{blank}
 def main():
diff --git a/old.txt b/old.txt
deleted file mode 100644
index 3333333..0000000
--- a/old.txt
+++ /dev/null
@@ -1,2 +0,0 @@
-gone 1
-gone 2
diff --git a/new dir/n.md b/new dir/n.md
new file mode 100644
index 0000000..4444444
--- /dev/null
+++ b/new dir/n.md\t
@@ -0,0 +1 @@
+# title
""".format(blank=" ")  # a context line that is empty in the file is one space in the patch
STATUSES = {"app.py": ("M", None), "old.txt": ("D", None), "new dir/n.md": ("A", None), "logo.png": ("A", None)}


def files() -> dict[str, reviews.FileDiff]:
    return parse_patch(PATCH, STATUSES, {"logo.png"})


def test_a_patch_reads_as_hunks_with_both_sides_line_numbers() -> None:
    found = files()
    assert list(found) == ["app.py", "old.txt", "new dir/n.md", "logo.png"]
    app = found["app.py"]
    assert app.hunks[0].header == "@@ -1,4 +1,5 @@"
    assert [(ln.kind, ln.old, ln.new, ln.text) for ln in app.hunks[0].lines] == [
        ("ctx", 1, 1, "import os"),
        ("del", 2, None, "x = 1"),
        ("add", None, 2, "x = 2"),
        ("add", None, 3, "y = x + 1"),
        ("ctx", 3, 4, ""),
        ("ctx", 4, 5, "def main():"),
    ]
    assert app.line(3) == "y = x + 1" and app.line(9) is None
    assert found["old.txt"].status == "D" and found["old.txt"].line(2) == "gone 2"  # the old side's numbers
    assert found["new dir/n.md"].line(1) == "# title"
    assert found["logo.png"].binary and found["logo.png"].hunks == ()
    shown = found["app.py"].as_json()
    assert shown["hunks"][0]["lines"][2] == {"kind": "add", "old": None, "new": 2, "text": "x = 2"}


def test_a_comment_is_file_line_text_and_its_text_may_hold_colons() -> None:
    assert parse_comment("src/a.py:12:why: this?") == Comment("src/a.py", 12, "why: this?")
    assert parse_comment(" a.py : 3 :  tidy  ") == Comment("a.py", 3, "tidy")
    assert parse_comment("a.py:3:two\nlines") == Comment("a.py", 3, "two\nlines")


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("a.py", "is not FILE:LINE:TEXT"),
        ("a.py:12", "is not FILE:LINE:TEXT"),
        ("a.py:x:text", "positive whole number"),
        ("a.py:0:text", "positive whole number"),
        ("a.py:-3:text", "positive whole number"),
        ("a.py:3:   ", "is empty"),
        (":3:text", "is not FILE:LINE:TEXT"),
        ("a.py:3:bad\0byte", "NUL"),
        ("a.py:3:" + "x" * (reviews.MAX_TEXT + 1), "the limit is 4000"),
    ],
)
def test_a_bad_comment_is_refused_in_one_line(spec: str, said: str) -> None:
    with pytest.raises(ValidationError, match=said) as err:
        parse_comment(spec)
    assert "\n" not in str(err.value)


def test_a_review_needs_a_comment_or_a_note_and_holds_each_comment_once_in_file_order() -> None:
    with pytest.raises(ValidationError, match="at least one comment"):
        reviews.review([], "  ")
    assert reviews.review([], "overall fine").note == "overall fine"
    b, a = Comment("b.py", 1, "one"), Comment("a.py", 9, "two")
    assert reviews.review([b, a, b]).comments == (a, b)
    with pytest.raises(ValidationError, match="at most 100 comments"):
        reviews.review([Comment("a.py", n, "x") for n in range(1, 102)])
    with pytest.raises(ValidationError, match="note is 8001 characters"):
        reviews.review([a], "n" * 8001)


def test_a_review_file_is_checked_like_the_command_line() -> None:
    data = {"comments": [{"path": "a.py", "line": 2, "text": "why?"}], "note": "and tests"}
    assert reviews.from_json(data) == reviews.Review((Comment("a.py", 2, "why?"),), "and tests")
    for bad, said in [
        ([], "holds a JSON object"),
        ({"comments": [], "extra": 1}, "unknown keys: extra"),
        ({"comments": "a.py:1:x"}, "is a list"),
        ({"comments": [{"path": "a.py", "line": True, "text": "x"}]}, "positive whole number"),
        ({"comments": [{"path": "a.py", "line": 1.5, "text": "x"}]}, "positive whole number"),
        ({"comments": [{"path": 3, "line": 1, "text": "x"}]}, "needs a file path"),
        ({"comments": [], "note": 7}, "note must be text"),
    ]:
        with pytest.raises(ValidationError, match=said):
            reviews.from_json(bad)


def test_a_form_reads_as_the_command_line_does() -> None:
    found = comments_from_form([("comment", "app.py:3:why y?"), ("note", "thanks"), ("csrf", "t"), ("note", "")])
    assert found == reviews.Review((Comment("app.py", 3, "why y?"),), "thanks")
    with pytest.raises(ValidationError):
        comments_from_form([("comment", "app.py:zero:x")])


def test_each_comment_must_be_on_a_file_and_a_line_of_the_change() -> None:
    lengths = {"app.py": 5, "old.txt": 2, "new dir/n.md": 1}
    reviews.check(reviews.review([Comment("app.py", 5, "ok"), Comment("old.txt", 2, "ok")]), files(), lengths)
    with pytest.raises(ValidationError, match=r"README\.md is not a file this change touches \(its files: app\.py"):
        reviews.check(reviews.review([Comment("README.md", 1, "x")]), files(), lengths)
    with pytest.raises(ValidationError, match=r"app\.py has 5 lines: there is no line 6"):
        reviews.check(reviews.review([Comment("app.py", 6, "x")]), files(), lengths)
    with pytest.raises(ValidationError, match=r"logo\.png is a binary file"):
        reviews.check(reviews.review([Comment("logo.png", 1, "x")]), files(), lengths)


def test_the_prompt_names_each_comment_s_file_and_line_and_quotes_its_code() -> None:
    found = reviews.review(
        [Comment("app.py", 3, "why add y?\nit is unused"), Comment("app.py", 2, "keep x = 1")], "Also add a test."
    )
    text = reviews.prompt("sf-1", "ann", found, {("app.py", 2): "x = 2", ("app.py", 3): "y = x + 1"})
    assert text.startswith("A person (ann) reviewed your change for sf-1 and asks for changes before it can land: 2 ")
    assert "1. app.py:2\n   code: x = 2\n   > keep x = 1" in text
    assert "2. app.py:3\n   code: y = x + 1\n   > why add y?\n   > it is unused" in text
    assert text.index("app.py:2") < text.index("app.py:3")
    assert text.endswith("Overall:\n> Also add a test.")
    assert "gated" in text and "shopfloor comment sf-1 -" in text
    assert reviews.summary(found) == "2 comments on app.py and a note"


def test_a_pending_review_resumes_the_same_session_when_the_change_waits_or_is_ungated() -> None:
    waiting = Facts(
        issue="sf-1",
        state="done",
        now=100.0,
        last_event_at=90.0,
        current=Current(7, Outcome.QUEUED, True, 3, "needs-approval"),
        queue=QueueFacts("needs-approval", "h1"),
        review=4,
    )
    rules = Rules()
    act = decide(waiting, rules)
    assert (act.do, act.prompt, act.record) == (Do.RESUME, Prompt.REVIEW, Outcome.REVIEWED)
    assert decide(replace(waiting, review=None), rules).do == Do.WAIT  # without it: waits for approval
    ungated = replace(waiting, current=Current(7, None, False), queue=None)
    assert decide(ungated, rules).prompt == Prompt.REVIEW
    assert decide(replace(waiting, gating=True), rules).do == Do.WAIT
    assert decide(replace(ungated, state="running"), rules).do == Do.WAIT  # its turn ends first
    assert decide(replace(ungated, state="starting"), rules).do == Do.WAIT
    landing = replace(waiting, queue=QueueFacts("testing", "h1"))
    assert decide(landing, rules).prompt != Prompt.REVIEW
    assert decide(replace(waiting, slot_free=False), rules).do == Do.WAIT
    gone = decide(replace(waiting, resumable=False), rules)  # a session that cannot resume: a fresh one gets it
    assert (gone.do, gone.prompt) == (Do.FRESH, Prompt.REVIEW)


def worker(state: str, session: str | None = "s-1") -> Worker:
    fields = {f: None for f in Worker.__dataclass_fields__}
    return Worker(**{**fields, "name": "sf-1", "issue": "sf-1", "state": state, "session_id": session})  # type: ignore[arg-type]


def test_a_review_is_refused_without_a_session_to_send_it_to() -> None:
    assert refusal("sf-1", "in_progress", worker("done"), False, None, "needs-approval") is None
    assert "is closed" in (refusal("sf-1", "closed", worker("done"), False, None, None) or "")
    assert "has no worker" in (refusal("sf-1", "in_progress", None, False, None, None) or "")
    assert "still working (running)" in (refusal("sf-1", "in_progress", worker("running"), True, None, None) or "")
    assert "being landed" in (refusal("sf-1", "in_progress", worker("done"), False, None, "testing") or "")
    assert refusal("sf-1", "in_progress", worker("done"), False, "cannot resume", None) == "cannot resume"


def test_diff_lines_highlight_to_escaped_html_one_fragment_per_line() -> None:
    lines = highlight_lines("app.py", ['s = """<b>', 'x</b>"""', "def f(): pass"])
    assert len(lines) == 3
    assert "<b>" not in "".join(lines) and "&lt;b&gt;" in lines[0]
    assert lines[1].startswith('<span class="s2">')  # still inside the string that began a line above
    assert '<span class="k">def</span>' in lines[2]
    assert highlight_lines("notes.unknown-kind", ["<i>"]) == ["&lt;i&gt;"]
    assert highlight_lines("a.py", []) == []


def test_metrics_count_reviews_and_review_rounds_per_merged_issue() -> None:
    from shopfloor.floor.metrics import AttemptRow, IssueRow, compute

    issues = [IssueRow("a", "x", 1, True), IssueRow("b", "x", 1, True), IssueRow("c", "x", 2, False)]
    attempts = [
        AttemptRow("a", "x", 1, "needs-approval"),
        AttemptRow("a", "x", 1, "needs-approval", reviewed=True),
        AttemptRow("a", "x", 1, "needs-approval", reviewed=True),
        AttemptRow("b", "x", 1, "needs-approval"),
        AttemptRow("c", "x", 2, "fail"),
        AttemptRow("c", "x", 2, "fail", reviewed=True),  # not merged: counted, but no round of a merged issue
    ]
    m = compute(issues, attempts)
    assert (m["reviews"], m["reviews_per_merged"]) == (3, 1.0)
    assert m["by_vibe"]["2"]["reviews"] == 1 and m["by_vibe"]["2"]["reviews_per_merged"] is None
    assert compute([], [])["reviews"] == 0


def test_a_coordinator_that_adopts_a_worker_with_a_review_waiting_says_it_resumes_with_it() -> None:
    from shopfloor.floor.adopt import Situation, next_step

    waits = Situation(ended=True, outcome="queued", queue="needs-approval", review=True)
    assert next_step(worker("done"), waits) == "a person's review waits; its session resumes with it next"
    assert "approve" in next_step(worker("done"), replace(waits, review=False))
    assert next_step(worker("running"), replace(waits, ended=False, queue=None)) == "its agent runs; watched from here"
