"""Tests weakened in ways a diff's line counts cannot see, and tests made flaky on purpose.

Each candidate breaks ``add`` and hides it: an assertion that cannot fail, cases cut from a
parametrized test and made up by a new one (so the junit total stays the same), a test module
that patches pytest's reports to say "passed", or a test that fails once and passes the
retry. Real git, the real CLI, real pytest. Plus the pure helpers (``gate.testcode``,
``verdict.own_tests``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import Runner
from gatekit import CALC, GATE, TESTS, candidate, check, gate, make_project, status
from shopfloor.gate.diffs import parse_unified
from shopfloor.gate.testcode import (
    evidence,
    fewer_cases,
    parametrized_cases,
    reporting_patches,
    tautologies,
    tautologies_in_lines,
)
from shopfloor.gate.verdict import after_retry, own_tests

MINUS = CALC.replace("a + b", "a - b")  # add(0, 0) == 0 still holds; add(1, 2) == 3 does not


def weakened(report: dict[str, Any]) -> str:
    found = check(report, "tests-not-weakened")
    assert found["status"] == "fail" and report["verdict"] == "fail", found
    return str(found["excerpt"])


# --- tests-not-weakened through the real gate


def test_an_assertion_comparing_a_call_with_itself_replacing_a_real_one_fails(sf: Runner) -> None:
    make_project(sf)
    tests = TESTS.replace("assert add(1, 2) == 3", "assert add(1, 2) == add(1, 2)")
    report = gate(sf, candidate(sf, "same", {"calc.py": MINUS, "tests/test_calc.py": tests}))
    assert status(report)["tests"] == "pass"  # the tests no longer see the broken add
    assert "assertion that cannot fail: tests/test_calc.py:5: compares an expression with itself" in weakened(report)


def test_assert_true_replacing_a_real_assertion_fails(sf: Runner) -> None:
    make_project(sf)
    tests = TESTS.replace("assert add(1, 2) == 3", "assert True")
    report = gate(sf, candidate(sf, "true", {"calc.py": MINUS, "tests/test_calc.py": tests}))
    assert status(report)["tests"] == "pass"
    assert "assertion that cannot fail: tests/test_calc.py:5: asserts a constant" in weakened(report)


CASES = """import pytest

from calc import add


@pytest.mark.parametrize("a, b, want", [{cases}])
def test_sums(a: int, b: int, want: int) -> None:
    assert add(a, b) == want
"""
FIVE = "(1, 2, 3), (0, 0, 0), (2, 2, 4), (5, -1, 4), (10, 10, 20)"
NEUTRAL = """

@pytest.mark.parametrize("a", [1, 0, -1])
def test_zero_is_neutral(a: int) -> None:
    assert add(a, 0) == a
"""


def test_parametrized_cases_cut_and_made_up_by_a_new_test_fail(sf: Runner) -> None:
    make_project(sf)
    (sf.cwd / "tests" / "test_cases.py").write_text(CASES.format(cases=FIVE))
    sf.git("add", "-A")
    sf.git("commit", "-qm", "five cases")
    broken = CALC.replace("return a + b", "return a + b if a < 2 else 0")
    cut = CASES.format(cases="(1, 2, 3), (0, 0, 0)") + NEUTRAL
    report = gate(sf, candidate(sf, "cut", {"calc.py": broken, "tests/test_cases.py": cut}))
    assert status(report)["tests"] == "pass"
    assert check(report, "tests")["junit"][0] == 7  # as many tests as the base: the total hides the cut
    assert "fewer cases: tests/test_cases.py::test_sums: 2 parametrized case(s), was 5" in weakened(report)


REPORT_PATCH = """from _pytest.reports import TestReport

from calc import add

_made = TestReport.from_item_and_call.__func__


def _passed(cls, item, call):
    report = _made(cls, item, call)
    report.outcome = "passed"
    report.longrepr = None
    return report


TestReport.from_item_and_call = classmethod(_passed)


def test_zero() -> None:
    assert add(0, 0) == 0
"""


def test_a_test_module_that_patches_pytests_reports_fails(sf: Runner) -> None:
    make_project(sf)
    report = gate(sf, candidate(sf, "patched", {"calc.py": MINUS, "tests/test_aaa_report.py": REPORT_PATCH}))
    assert status(report)["tests"] == "pass"  # every report says passed, test_add included
    excerpt = weakened(report)
    assert "patches pytest's reporting: tests/test_aaa_report.py:1: imports pytest internals (_pytest)" in excerpt
    assert "tests/test_aaa_report.py:15: uses pytest's report objects" in excerpt


# --- the flaky rule: a test the change added or touched is not forgiven for passing the retry

FLAKY_NEW = """from pathlib import Path

from calc import add

RUNS = Path({counter!r})


def test_big_numbers() -> None:
    runs = len(RUNS.read_text()) if RUNS.exists() else 0
    RUNS.write_text("x" * (runs + 1))
    if runs == 0:
        assert add(100, 1) == 101
"""


def shared(tmp_path: Path) -> str:
    """The target's config lets checks keep a counter in the test's directory: a confined check
    can write nothing outside its checkout otherwise (and a flaky-by-design change then fails twice)."""
    return GATE + f'\n[sandbox]\nwritable = ["{tmp_path}"]\n'


def test_a_new_test_that_fails_once_and_passes_the_retry_is_a_failure(sf: Runner, tmp_path: Path) -> None:
    make_project(sf, shared(tmp_path))
    counter = tmp_path / "runs"
    broken = CALC.replace("return a + b", "return a + b if a < 100 else 0")
    files = {"calc.py": broken, "tests/test_big.py": FLAKY_NEW.format(counter=str(counter))}
    report = gate(sf, candidate(sf, "wobbly", files))
    tests = check(report, "tests")
    assert tests["status"] == "fail" and report["verdict"] == "fail", tests
    assert "not forgiven as flaky" in tests["note"] and "tests/test_big.py::test_big_numbers" in tests["note"]
    assert counter.read_text() == "xx"  # it did pass the retry
    assert check(report, "tests-not-weakened")["status"] == "pass"  # this is the flaky rule's fail


FLAKY_TOUCHED = """from pathlib import Path

from calc import add

RUNS = Path({counter!r})


def test_add() -> None:
    runs = len(RUNS.read_text()) if RUNS.exists() else 0
    RUNS.write_text("x" * (runs + 1))
    if runs == 0:
        assert add(1, 2) == 3


def test_add_zero() -> None:
    assert add(0, 0) == 0
"""


def test_a_touched_test_that_fails_once_and_passes_the_retry_is_a_failure(sf: Runner, tmp_path: Path) -> None:
    make_project(sf, shared(tmp_path))
    files = {"calc.py": MINUS, "tests/test_calc.py": FLAKY_TOUCHED.format(counter=str(tmp_path / "runs"))}
    report = gate(sf, candidate(sf, "touched", files))
    tests = check(report, "tests")
    assert tests["status"] == "fail" and report["verdict"] == "fail", tests
    assert "tests/test_calc.py::test_add" in tests["note"]


# --- the pure helpers

UNITTEST = """import unittest

from calc import add


class T(unittest.TestCase):
    def test_a(self) -> None:
        self.assertTrue(True)
        self.assertEqual(add(1, 2), add(1, 2))
        self.assertEqual(add(1, 2), 3)
        self.assertEqual(3, 3)
        self.assertFalse(0)
"""


def test_assertions_that_cannot_fail_are_found_by_ast() -> None:
    text = (
        "def test_x() -> None:\n"
        "    assert True\n"
        "    assert 1\n"
        "    assert x == x\n"
        "    assert add(1, 2) == add(1, 2)\n"
        "    assert 2 + 2 == 4\n"
        "    assert not False\n"
        "    assert add(1, 2) == 3\n"
        "    assert add(1, 2) == add(2, 1)\n"
        "    assert x != x\n"
        "    assert False\n"
        "    assert 'a' in 'abc'\n"
    )
    found = tautologies(text, set(range(1, 20)))
    assert [n for n, _ in found] == [2, 3, 4, 5, 6, 7, 12]
    assert dict(found)[5] == "compares an expression with itself"
    assert tautologies(text, {8, 9, 10, 11}) == []  # only assertions on added lines are reported
    assert [n for n, _ in tautologies(UNITTEST, set(range(1, 20)))] == [8, 9, 11, 12]
    assert tautologies("def broken(:\n", {1}) == []  # a file that does not parse: the tests check says so


def test_a_multi_line_assertion_counts_when_any_of_its_lines_is_added() -> None:
    text = "def test_x() -> None:\n    assert add(\n        1, 2\n    ) == add(\n        1, 2\n    )\n"
    assert tautologies(text, {4}) == [(2, "compares an expression with itself")]


def test_the_regex_fallback_finds_constant_expectations_in_other_languages() -> None:
    lines = [
        (1, "  expect(true).toBe(true);"),
        (2, "  expect(add(1, 2)).toBe(add(1, 2));"),
        (3, "  expect(add(1, 2)).toBe(3);"),
        (4, "  assert_eq!(x, x);"),
        (5, "  assert.ok(true);"),
        (6, "  assert!(add(1, 2) == 3);"),
    ]
    assert [n for n, _ in tautologies_in_lines(lines)] == [1, 2, 4, 5]


def test_patching_pytests_reporting_is_found_and_mentioning_it_in_a_string_is_not() -> None:
    text = (
        "import _pytest.runner\n"
        "from _pytest.reports import TestReport\n"
        "import pytest\n"
        "\n"
        "\n"
        "def pytest_runtest_makereport(item, call):\n"
        "    pass\n"
        "\n"
        "\n"
        "def test_x(monkeypatch) -> None:\n"
        "    monkeypatch.setattr('_pytest.runner.call_and_report', None)\n"
        "    pytest.fail = None\n"
        "    source = 'import _pytest'\n"
        "    monkeypatch.setattr('calc.add', None)\n"
    )
    found = dict(reporting_patches(text, set(range(1, 20))))
    assert sorted(found) == [1, 2, 6, 11, 12]
    assert found[6] == "implements the pytest_runtest_makereport hook"
    assert found[12] == "assigns to a pytest attribute"
    assert reporting_patches(text, {13, 14}) == []


def test_parametrized_cases_are_counted_per_test_function() -> None:
    old = (
        "import pytest\n"
        "CASES = [1, 2, 3]\n"
        "@pytest.mark.parametrize('a, b', [(1, 2), (2, 3), (3, 4), (4, 5), (5, 6)])\n"
        "def test_p(a, b): pass\n"
        "@pytest.mark.parametrize('x', CASES)\n"
        "@pytest.mark.parametrize('y', [1, 2])\n"
        "def test_q(x, y): pass\n"
        "class TestK:\n"
        "    @pytest.mark.parametrize('z', argvalues=[1, 2])\n"
        "    def test_r(self, z): pass\n"
        "@pytest.mark.parametrize('w', list(range(9)))\n"
        "def test_built(w): pass\n"
    )
    assert parametrized_cases(old) == {"test_p": 5, "test_q": 6, "TestK::test_r": 2}
    new = (
        old.replace("(3, 4), (4, 5), (5, 6)", "")
        .replace("CASES = [1, 2, 3]", "CASES = [1, 2, 3, 4]")
        .replace("argvalues=[1, 2]", "argvalues=[1]")
        .replace("range(9)", "range(2)")
    )
    # more cases in one test do not make up for fewer in another; unknown counts are left out
    assert fewer_cases(old, new) == [
        "TestK::test_r: 1 parametrized case(s), was 2",
        "test_p: 2 parametrized case(s), was 5",
    ]
    assert fewer_cases(old, old) == [] and fewer_cases(None, new) == []


DIFF = """diff --git a/tests/test_calc.py b/tests/test_calc.py
--- a/tests/test_calc.py
+++ b/tests/test_calc.py
@@ -5 +5 @@ def test_add() -> None:
-    assert add(1, 2) == 3
+    assert True
diff --git a/conftest.py b/conftest.py
--- /dev/null
+++ b/conftest.py
@@ -0,0 +1 @@
+import _pytest
"""


def test_evidence_reads_the_test_files_and_conftest_of_a_change() -> None:
    new = {
        "tests/test_calc.py": TESTS.replace("assert add(1, 2) == 3", "assert True"),
        "conftest.py": "import _pytest\n",
    }
    old = {"tests/test_calc.py": TESTS}
    found = evidence(parse_unified(DIFF), ("tests/**",), new.get, old.get)
    assert found == [
        "patches pytest's reporting: conftest.py:1: imports pytest internals (_pytest)",
        "assertion that cannot fail: tests/test_calc.py:5: asserts a constant",
    ]


def test_a_failing_test_is_the_changes_own_when_its_file_changed() -> None:
    changed = {"tests/test_calc.py", "pkg/tests/test_more.py", "calc.py"}
    tests = ["tests/test_calc.py::test_add", "tests/test_other.py::test_x", "tests/test_more.py::test_y[1]"]
    assert own_tests(tests, changed) == ["tests/test_calc.py::test_add", "tests/test_more.py::test_y[1]"]
    assert after_retry("fail", "pass") == "flaky" and after_retry("fail", "pass", own=True) == "fail"
