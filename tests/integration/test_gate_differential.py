"""The differential gate through the real CLI: a project whose main already has lint debt and a
failing test. A change is blamed only for what it added; the report names the findings."""

from __future__ import annotations

import pytest

from conftest import Runner
from gatekit import CALC, TESTS, candidate, check, gate, make_project, status

BROKEN_TEST = "\n\ndef test_known_broken() -> None:\n    assert add(2, 2) == 5\n"


@pytest.fixture
def indebted(sf: Runner) -> Runner:
    """main holds an unused import (lint debt) and a test that already fails."""
    make_project(sf)
    (sf.cwd / "calc.py").write_text("import os\n" + CALC)
    (sf.cwd / "tests" / "test_calc.py").write_text(TESTS + BROKEN_TEST)
    sf.git("commit", "-qam", "debt: an unused import and a broken test")
    return sf


def test_a_harmless_change_passes_despite_the_debt_and_says_what_it_forgave(indebted: Runner) -> None:
    rev = candidate(indebted, "harmless", {"calc.py": "import os\n" + CALC + "# a comment\n"})
    report = gate(indebted, rev)
    assert report["verdict"] == "pass", report
    lint, tests = check(report, "lint"), check(report, "tests")
    assert lint["status"] == "pass" and lint["differential"] and lint["preexisting"] == 1
    assert tests["status"] == "pass" and tests["preexisting"] == 1 and tests["base_status"] == "fail"
    assert all(f["new"] is False for f in tests["findings"])


def test_a_new_lint_finding_fails_naming_only_itself(indebted: Runner) -> None:
    rev = candidate(indebted, "one-more", {"extra.py": "import sys\n"})
    report = gate(indebted, rev)
    lint = check(report, "lint")
    assert report["verdict"] == "fail" and lint["status"] == "fail"
    new = [f for f in lint["findings"] if f["new"]]
    assert [(f["path"], f["line"], f["code"]) for f in new] == [("extra.py", 1, "F401")]
    assert lint["preexisting"] == 1
    shown = indebted("gate", "show", str(report["id"])).stdout
    assert "extra.py:1: F401" in shown and "calc.py:1: F401" not in shown
    assert "1 pre-existing finding(s) on the base are not blamed" in shown


def test_a_change_that_breaks_a_test_fails_the_tests_not_the_weakening_check(indebted: Runner) -> None:
    rev = candidate(indebted, "break", {"calc.py": "import os\n" + CALC.replace("a + b", "a + b + 0 * int('x')")})
    report = gate(indebted, rev)
    tests = check(report, "tests")
    assert tests["status"] == "fail" and status(report)["tests-not-weakened"] == "pass"
    new = {f["test"]: f for f in tests["findings"] if f["new"]}
    assert set(new) == {"tests/test_calc.py::test_add", "tests/test_calc.py::test_add_zero"}
    assert any(
        "ValueError: invalid literal for int()" in line for line in new["tests/test_calc.py::test_add"]["detail"]
    )
    # The test that was already broken is counted, not blamed.
    assert tests["preexisting"] == 1 and "test_known_broken" not in str(new)


def test_fixing_debt_passes_and_is_shown(indebted: Runner) -> None:
    rev = candidate(indebted, "cleanup", {"calc.py": CALC, "tests/test_calc.py": TESTS + BROKEN_TEST.replace("5", "4")})
    report = gate(indebted, rev)
    assert report["verdict"] == "pass"
    # The tests ran on the base (their counts are compared), so what the change fixed is known;
    # lint passed and never ran on the base: unknown, not zero.
    assert check(report, "tests")["fixed"] == 1 and check(report, "lint")["fixed"] is None
    # Once the target's own results are known (gated by itself, or by `gate init`), lint's are too.
    gate(indebted, "main")
    again = gate(indebted, rev, "--no-cache")
    assert check(again, "lint")["fixed"] == 1
    assert "this change fixed 1 finding(s)" in indebted("gate", "show", str(again["id"])).stdout


def test_gating_the_target_itself_runs_every_check_and_reports_its_debt(indebted: Runner) -> None:
    # The lint check only runs for changes to *.py: on the target itself it runs all the same.
    report = gate(indebted, "main")
    assert report["itself"] and status(report)["lint"] == "fail" and report["verdict"] == "fail"
    assert "fails on the target by itself with 1 finding(s)" in check(report, "lint")["note"]
    assert "calc.py:1: F401" in indebted("gate", "run", "main", check=False).stdout


def test_an_opaque_check_keeps_the_plain_rule_and_says_so(sf: Runner) -> None:
    make_project(sf, gate='[[gate.check]]\nname = "script"\nargv = ["sh", "-c", "grep -q good state.txt"]\n')
    (sf.cwd / "state.txt").write_text("good\n")
    sf.git("add", "-A")
    sf.git("commit", "-qm", "state")
    rev = candidate(sf, "bad-state", {"state.txt": "bad\n"})
    script = check(gate(sf, rev), "script")
    assert script["status"] == "fail" and script["findings"] is None and not script["differential"]
    assert script["note"].startswith("not differential") and script["base_status"] == "pass"


def test_touching_an_already_complex_function_is_not_blamed_but_making_it_worse_is(sf: Runner) -> None:
    tangled = "def tangled(x: int) -> int:\n" + "".join(f"    if x == {n}:\n        return {n}\n" for n in range(20))
    make_project(sf)
    (sf.cwd / "tangled.py").write_text(tangled + "    return -1\n")
    sf.git("add", "-A")
    sf.git("commit", "-qm", "a function over the complexity limit, already on main")
    touched = candidate(sf, "touch", {"tangled.py": tangled + "    return -2\n"})
    assert status(gate(sf, touched))["complexity"] == "pass"
    worse = candidate(sf, "worse", {"tangled.py": tangled + "    if x == 99:\n        return 99\n    return -1\n"})
    complexity = check(gate(sf, worse), "complexity")
    assert complexity["status"] == "fail" and "complexity 22 (limit 15, was 21)" in complexity["excerpt"]
