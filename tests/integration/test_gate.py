"""The gate on a corpus of real commits: each candidate's expected verdict and the evidence."""

from __future__ import annotations

import pytest

from conftest import Runner
from gatekit import CALC, TESTS, candidate, check, gate, make_project, status


@pytest.fixture
def project(sf: Runner) -> Runner:
    make_project(sf)
    return sf


COMPLEX = (
    "def tangled(x: int) -> int:\n"
    + "".join(f"    if x == {n}:\n        return {n}\n" for n in range(20))
    + "    return -1\n"
)


def test_a_good_change_passes_every_check(project: Runner) -> None:
    rev = candidate(project, "good", {"calc.py": CALC + "\n\ndef sub(a: int, b: int) -> int:\n    return a - b\n"})
    report = gate(project, rev)
    assert report["verdict"] == "pass", report
    assert set(status(report).values()) == {"pass"}
    assert report["base"] == "main" and len(report["tree"]) == 40 and report["config_hash"]
    # Nothing is left behind: no gate worktree, no run directory.
    assert project.git("worktree", "list").count("\n") == 0
    assert not any((project.cwd.parent / "repo.floor" / ".gate").iterdir())


@pytest.mark.parametrize(
    ("name", "files", "failing", "evidence"),
    [
        ("lint", {"calc.py": "import os\n" + CALC}, "lint", "F401"),
        ("types", {"calc.py": CALC + '\n\ndef bad() -> int:\n    return "x"\n'}, "types", "Incompatible return value"),
        ("failing-test", {"calc.py": CALC.replace("a + b", "a - b")}, "tests", "assert"),
        ("deleted-test", {"tests/test_calc.py": None}, "tests-not-weakened", "test file deleted: tests/test_calc.py"),
        (
            "added-skip",
            {
                "tests/test_calc.py": TESTS.replace("def test_add()", "@pytest.mark.skip\ndef test_add()").replace(
                    "from calc", "import pytest\nfrom calc"
                )
            },
            "tests-not-weakened",
            "skip/only marker added",
        ),
        (
            "removed-assert",
            {"tests/test_calc.py": TESTS.replace("    assert add(0, 0) == 0\n", "    add(0, 0)\n")},
            "tests-not-weakened",
            "assertion removed",
        ),
        ("secret", {"settings.py": 'AWS_KEY = "AKIAIOSFODNN7EXAMPLE"\n'}, "secrets", "AWS Access Key"),
        ("complexity", {"tangled.py": COMPLEX}, "complexity", "tangled has cyclomatic complexity 21"),
    ],
)
def test_a_bad_change_fails_with_evidence(project: Runner, name: str, files: dict, failing: str, evidence: str) -> None:
    report = gate(project, candidate(project, name, files))
    assert report["verdict"] == "fail", status(report)
    failed = check(report, failing)
    assert failed["status"] == "fail", status(report)
    assert evidence in failed["excerpt"], failed["excerpt"]
    assert failed["signature"].startswith(f"{failing}:")


def test_a_candidate_cannot_switch_a_check_off_by_editing_the_gate_config(project: Runner) -> None:
    config = (project.cwd / ".shopfloor" / "config.toml").read_text()
    disabled = config.replace('argv = ["python", "-m", "pytest"', 'argv = ["true", "-m", "pytest"')
    rev = candidate(
        project,
        "sneaky",
        {
            ".shopfloor/config.toml": disabled + "\n",
            "calc.py": CALC.replace("a + b", "a - b"),
        },
    )
    report = gate(project, rev)
    assert report["verdict"] == "fail"
    assert status(report)["tests"] == "fail"  # the base's rules ran, not the candidate's
    assert status(report)["protected-files"] == "needs-approval"
    assert ".shopfloor/config.toml" in check(report, "protected-files")["excerpt"]


def test_regating_an_unchanged_tree_replays_the_verdict_from_the_cache(project: Runner) -> None:
    rev = candidate(project, "again", {"calc.py": CALC.replace("a + b", "a - b")})
    first = gate(project, rev)
    second = gate(project, rev)
    assert not first["cached"] and second["cached"]
    assert second["verdict"] == first["verdict"] == "fail"
    assert [c["signature"] for c in second["checks"]] == [c["signature"] for c in first["checks"]]
    assert second["id"] == first["id"] + 1  # every run is recorded, cached or not
    shown = project.json("gate", "show", str(first["id"]))
    assert shown["verdict"] == "fail" and shown["commit"] == first["commit"]
    listed = project.json("gate", "list")
    assert [r["id"] for r in listed] == [second["id"], first["id"]] and listed[0]["cached"] == 1
    fresh = gate(project, rev, "--no-cache")
    assert not fresh["cached"]
