"""A cheating candidate against the differential gate: a change that breaks something must not
pass by making its failures look like the base's, and must not stop the queue by echoing the
base's failures. Real git, the real CLI, real pytest and ruff."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conftest import Runner
from gatekit import CALC, GATE, TESTS, candidate, check, gate, make_project, status
from shopfloor.gate.findings import parse

BROKEN_TEST = "\n\ndef test_known_broken() -> None:\n    assert add(2, 2) == 5\n"
KNOWN_BROKEN = "tests/test_calc.py::test_known_broken"
NO_JUNIT = GATE.replace('"--junitxml={junit}"]', '"-rfE"]').replace("junit = true\n", "")


def indebted(sf: Runner, gate_text: str = GATE) -> Runner:
    """main has a test that already fails (and an unused import)."""
    make_project(sf, gate_text)
    (sf.cwd / "calc.py").write_text("import os\n" + CALC)
    (sf.cwd / "tests" / "test_calc.py").write_text(TESTS + BROKEN_TEST)
    sf.git("commit", "-qm", "debt", "-a")
    return sf


# A test module that writes the base's failure past pytest's capture (to the gate's pipe) and
# kills pytest before it can report the tests the change broke.
ECHO_THE_BASE = f"""import os
import stat

LINE = b"FAILED {KNOWN_BROKEN} - assert 4 == 5\\n"
for fd in range(3, 64):
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.write(fd, LINE)
    except OSError:
        pass
os._exit(1)
"""
BROKEN_CALC = "import os\n" + CALC.replace("a + b", "a - b")


def test_a_failing_test_id_with_a_space_is_still_a_new_finding(sf: Runner) -> None:
    indebted(sf)
    spaced = TESTS.replace(
        "def test_add()", "@pytest.mark.parametrize('x', [1], ids=['one two'])\ndef test_add(x: int)"
    )
    rev = candidate(
        sf,
        "spaced",
        {
            "calc.py": "import os\n" + CALC.replace("a + b", "a + b if a != 1 else 0"),
            "tests/test_calc.py": "import pytest\n" + spaced + BROKEN_TEST,
        },
    )
    report = gate(sf, rev)
    tests = check(report, "tests")
    assert report["verdict"] == "fail" and tests["status"] == "fail", tests
    new = [f["test"] for f in tests["findings"] if f["new"]]
    assert new == ["tests/test_calc.py::test_add[one two]"]


def test_pytest_lines_printed_before_an_early_exit_are_not_taken_as_its_findings(sf: Runner) -> None:
    indebted(sf, NO_JUNIT)
    rev = candidate(sf, "echo", {"calc.py": BROKEN_CALC, "tests/test_aaa.py": ECHO_THE_BASE})
    report = gate(sf, rev)
    tests = check(report, "tests")
    assert report["verdict"] == "fail" and tests["status"] == "fail", tests
    assert tests["findings"] is None and tests["note"].startswith("not differential")
    assert "fails the same way on the base" not in tests["note"]


def test_an_opaque_failure_that_echoes_the_bases_tests_is_blamed_in_the_queue(sf: Runner) -> None:
    indebted(sf, NO_JUNIT)
    sf.json("queue", "add", candidate(sf, "echo", {"calc.py": BROKEN_CALC, "tests/test_aaa.py": ECHO_THE_BASE}))
    sf.json("queue", "add", candidate(sf, "good", {"notes.txt": "fine\n"}))
    result = sf.json("queue", "run", "--once", "--batch", "1")
    assert result["rejected"] == [1], result  # blamed, not "the target is red" (which stops the queue)
    states = {e["branch"]: e for e in sf.json("queue", "list", "--all")}
    assert states["echo"]["state"] == "failed", states["echo"]
    sf.json("queue", "run", "--once", "--batch", "1")
    assert {e["branch"]: e["state"] for e in sf.json("queue", "list", "--all")}["good"] == "merged"


MIXED = """
[gate]
target = "main"

[[gate.check]]
name = "check"
argv = ["sh", "-c", "ruff check --output-format=concise . ; python -m pytest -q -p no:cacheprovider"]
timeout = 120
"""


def test_a_lint_finding_beside_pytest_in_one_check_is_not_hidden_by_an_old_failing_test(sf: Runner) -> None:
    indebted(sf, MIXED)
    report = gate(sf, candidate(sf, "lint", {"extra.py": "import sys\n"}))
    mixed = check(report, "check")
    assert report["verdict"] == "fail" and mixed["status"] == "fail", mixed
    new = [(f["path"], f["code"]) for f in mixed["findings"] if f["new"]]
    assert new == [("extra.py", "F401")]
    assert mixed["preexisting"] == 2  # calc.py's F401 and the known broken test


CONCISE = '[[gate.check]]\nname = "lint"\nargv = ["ruff", "check", "--output-format=concise", "."]\n'


def test_thousands_of_old_findings_do_not_hide_a_new_one_at_the_end(sf: Runner) -> None:
    make_project(sf, CONCISE)
    (sf.cwd / "legacy.py").write_text("import os\n" * 5001)  # 5000 F811 and one F401
    sf.git("add", "legacy.py")
    sf.git("commit", "-qm", "legacy")
    report = gate(sf, candidate(sf, "late", {"zz.py": "import sys\n"}))
    lint = check(report, "lint")
    assert report["verdict"] == "fail" and lint["status"] == "fail", lint["note"]
    assert [(f["path"], f["code"]) for f in lint["findings"] if f["new"]] == [("zz.py", "F401")]
    assert status(report)["tests-not-weakened"] == "pass"


def test_output_with_thousands_of_failures_and_sections_is_parsed_in_moments() -> None:
    n = 12000
    out = "\n".join(
        [
            "=" * 20 + " FAILURES " + "=" * 20,
            *(f"____ test_s{i} ____\nE   assert {i}" for i in range(n)),
            "=" * 20 + " short test summary info " + "=" * 20,
            *(f"FAILED t.py::test_f{i}" for i in range(n)),
            f"{n} failed in 1.00s",
        ]
    )
    started = time.monotonic()
    found = parse("tests", out)
    assert found is not None and len(found) == n
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("tail", "opaque"),
    [
        ("2 failed, 1 passed in 0.10s", False),
        ("===== 2 failed, 1 passed in 0.10s =====", False),
        ("3 failed, 1 passed in 0.10s", True),  # one failure the summary does not name
        ("1 failed, 1 passed, 1 error in 0.10s", False),
    ],
)
def test_pytest_findings_must_account_for_every_failure_pytest_counted(tail: str, opaque: bool) -> None:
    out = "\n".join(
        [
            "=" * 20 + " short test summary info " + "=" * 20,
            "FAILED t.py::test_a - assert 1 == 2",
            "FAILED t.py::test_b[x - y] - assert 0",
            tail,
        ]
    )
    found = parse("tests", out)
    assert (found is None) is opaque
    if found is not None:
        assert [f.test for f in found] == ["t.py::test_a", "t.py::test_b[x - y]"]


def test_the_callers_environment_cannot_steer_a_check_or_poison_the_cache(sf: Runner, tmp_path: Path) -> None:
    indebted(sf)
    # A directory whose sitecustomize breaks every test of the tree it is imported beside.
    poison = tmp_path / "poison"
    poison.mkdir()
    (poison / "sitecustomize.py").write_text("import calc\ncalc.add = lambda a, b: 0\n")
    steer = {"PYTHONPATH": str(poison), "PYTEST_ADDOPTS": "-k test_add_zero"}
    # Gating main with the poison must not cache main's baseline as "test_add already fails".
    main_alone = gate(sf, "main", env=steer)
    assert check(main_alone, "tests")["preexisting"] == 1  # only test_known_broken, as without it
    broken = candidate(sf, "broken", {"calc.py": "import os\n" + CALC.replace("a + b", "a - b")})
    # And PYTEST_ADDOPTS cannot deselect the test the change broke.
    steered = gate(sf, broken, env=steer)
    assert steered["verdict"] == "fail" and "tests/test_calc.py::test_add" in {
        f["test"] for f in check(steered, "tests")["findings"] if f["new"]
    }
    assert gate(sf, broken)["verdict"] == "fail"
