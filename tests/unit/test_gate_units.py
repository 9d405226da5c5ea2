"""The gate's pure parts: signatures, diff parsing, globs, weakening, verdicts, config."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopfloor.errors import ValidationError
from shopfloor.gate.config import parse
from shopfloor.gate.diffs import matches, parse_name_status, parse_unified, weakening
from shopfloor.gate.junit import Counts, fewer
from shopfloor.gate.signature import failure_keys, signature
from shopfloor.gate.verdict import after_retry, combine, plan_for

PYTEST_RUN_1 = """\
FAILED tests/test_calc.py::test_add - assert -1 == 3
FAILED tests/test_calc.py::test_sub[2-3] - AssertionError at /tmp/pytest-of-root/pytest-7/x.py:12
== 2 failed in 0.51s ==
"""
PYTEST_RUN_2 = """\
FAILED tests/test_calc.py::test_sub[2-3] - AssertionError at /tmp/pytest-of-root/pytest-99/x.py:40
FAILED tests/test_calc.py::test_add - assert -5 == 3
== 2 failed in 3.20s ==
"""


def test_the_same_failures_give_the_same_signature_despite_noise() -> None:
    assert signature("tests", PYTEST_RUN_1, "fail") == signature("tests", PYTEST_RUN_2, "fail")
    assert failure_keys(PYTEST_RUN_1) == ["tests/test_calc.py::test_add", "tests/test_calc.py::test_sub[2-3]"]
    other = PYTEST_RUN_1.replace("test_add", "test_mul")
    assert signature("tests", other, "fail") != signature("tests", PYTEST_RUN_1, "fail")
    assert signature("lint", PYTEST_RUN_1, "fail") != signature("tests", PYTEST_RUN_1, "fail")


def test_error_codes_identify_lint_and_type_failures() -> None:
    one = "calc.py:1:8: F401 [*] `os` imported but unused\ncalc.py:9:5: E501 Line too long"
    two = "calc.py:3:8: F401 [*] `os` imported but unused\ncalc.py:19:5: E501 Line too long (130 > 120)"
    assert signature("lint", one, "fail") == signature("lint", two, "fail")
    mypy = 'calc.py:5: error: Incompatible return value type (got "str", expected "int")  [return-value]'
    assert "[return-value]" in failure_keys(mypy)


DIFF = """\
diff --git a/tests/test_a.py b/tests/test_a.py
--- a/tests/test_a.py
+++ b/tests/test_a.py
@@ -3,2 +3,3 @@ def test_one():
-    assert one() == 1
-    assert two() == 2
+    one()
+@pytest.mark.skip
+def test_two(): pass
diff --git a/tests/test_gone.py b/tests/test_gone.py
--- a/tests/test_gone.py
+++ /dev/null
@@ -1,2 +0,0 @@
-def test_gone():
-    assert True
diff --git a/src/new.py b/src/new.py
--- /dev/null
+++ b/src/new.py
@@ -0,0 +1,2 @@
+x = 1
+y = 2
"""


def test_a_unified_diff_parses_into_added_and_removed_lines_with_new_line_numbers() -> None:
    files = parse_unified(DIFF)
    assert set(files) == {"tests/test_a.py", "tests/test_gone.py", "src/new.py"}
    assert files["tests/test_gone.py"].status == "D" and files["src/new.py"].status == "A"
    assert files["tests/test_a.py"].added[1] == (4, "@pytest.mark.skip")
    assert files["src/new.py"].added == [(1, "x = 1"), (2, "y = 2")]


def test_weakening_names_deleted_tests_new_skips_and_removed_assertions() -> None:
    found = weakening(parse_unified(DIFF), ("tests/**",))
    assert found.deleted_tests == ("tests/test_gone.py",)
    assert found.new_markers == ("tests/test_a.py:4: @pytest.mark.skip",)
    assert found.removed_assertions == ("tests/test_a.py: assert one() == 1", "tests/test_a.py: assert two() == 2")
    assert not weakening(parse_unified(DIFF), ("spec/**",)).found


def test_moving_a_skip_or_rewriting_an_assertion_is_not_weakening() -> None:
    moved = "--- a/t/test_x.py\n+++ b/t/test_x.py\n@@ -1 +1 @@\n-    assert a == 1\n+    assert a == 1, 'why'\n"
    assert not weakening(parse_unified(moved), ("t/**",)).found


def test_globs_cross_directories_only_with_double_stars() -> None:
    assert matches("a/b/c_test.go", ("**/*_test.go",)) and matches("c_test.go", ("**/*_test.go",))
    assert matches(".github/workflows/ci.yml", (".github/**",))
    assert not matches("src/tests.py", ("tests/**",)) and not matches("a/b.py", ("*.py",))


def test_name_status_handles_renames() -> None:
    parsed = parse_name_status("M\0a.py\0R100\0old.py\0new.py\0D\0gone.py\0")
    assert parsed == {"a.py": ("M", None), "new.py": ("R", "old.py"), "gone.py": ("D", None)}


def test_verdicts_flakiness_and_vibe_plans() -> None:
    assert combine(["pass", "flaky", "skipped"]) == "pass"
    assert combine(["pass", "needs-approval"]) == "needs-approval"
    assert combine(["needs-approval", "timeout"]) == "fail"
    assert combine(["pass"], approval_required=True) == "needs-approval"
    assert after_retry("fail", "pass") == "flaky" and after_retry("fail", "fail") == "fail"
    assert after_retry("timeout", "pass") == "timeout"
    assert plan_for(5).fast_only and not plan_for(3).fast_only and plan_for(2).approval and not plan_for(None).approval


def test_fewer_tests_is_evidence_but_fewer_passing_is_not_weakening() -> None:
    assert fewer(Counts(10, 0, 0), Counts(9, 0, 0)) == ["fewer tests collected: 9 (base 10)"]
    assert fewer(Counts(10, 0, 1), Counts(10, 0, 3)) == ["more tests skipped or xfailed: 3 (base 1)"]
    # Tests that now fail are the test check's finding, not weakening.
    assert fewer(Counts(10, 0, 0), Counts(10, 6, 0)) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[gate]\nbogus = 1\n", "unknown key(s) in [gate]: bogus"),
        ('[[gate.check]]\nname = "a"\nargv = ["x"]\n[[gate.check]]\nname = "a"\nargv = ["y"]\n', "unique"),
        ('[[gate.check]]\nname = "secrets"\nargv = ["x"]\n', "not a built-in's"),
        ('[[gate.check]]\nname = "t"\nargv = ["pytest"]\njunit = true\n', '"{junit}" in argv'),
        ('[[gate.check]]\nname = "t"\nargv = ["x"]\ntimeout = 0\n', "timeout must be seconds"),
        ("[gate\n", "is not valid TOML"),
    ],
)
def test_bad_gate_config_is_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        parse(text, "main:.shopfloor/config.toml")


@given(st.text(max_size=300))
def test_any_text_gives_a_signature_of_the_same_shape(text: str) -> None:
    sig = signature("check", text, "fail")
    assert sig.startswith("check:") and len(sig) == len("check:") + 16
    assert parse("", "x").hash == parse("[gate]\n", "x").hash  # defaults are the defaults
