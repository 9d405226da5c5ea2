"""The floor on a project with lint debt: the agent's first pass breaks a test and adds lint
findings in several files; the report it is resumed with names each of them (and not the debt);
its second pass lands as one commit, and every commit on main since the base passes the gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import Runner
from gatekit import CALC, PYPROJECT, TESTS

GATE = """
[gate]
builtins = ["tests-not-weakened", "protected-files"]

[[gate.check]]
name = "lint"
argv = ["ruff", "check", "--output-format=concise", "."]
timeout = 120
paths = ["**/*.py"]

[[gate.check]]
name = "tests"
argv = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml={junit}"]
timeout = 300
junit = true
"""
DEBT = "import os\n"  # on main before the floor starts: the lint check fails there already
# A long function: pytest prints its whole body before the E line with the exception.
LONG_BODY = "".join(f"    step{n} = {n}  # a line pytest prints in the traceback\n" for n in range(50))
BROKEN = DEBT + (
    "def helper() -> None:\n    return None\n\n\n"
    "def add(a: int, b: int) -> int:\n" + LONG_BODY + "    return a + b + helper()  # type: ignore\n"
)


def turn_write(path: str, text: str) -> dict[str, Any]:
    return {"tool": {"name": "Write", "input": {"file_path": path, "content": text}}, "usage": {"input_tokens": 900}}


def turn_bash(command: str) -> dict[str, Any]:
    return {"tool": {"name": "Bash", "input": {"command": command}}, "usage": {"input_tokens": 1000}}


def indebted_project(floor: Runner) -> tuple[Path, str]:
    """The calc project with an unused import on main (lint debt) and a lint + tests gate; its root and base."""
    root = floor.cwd
    (root / "calc.py").write_text(DEBT + CALC)
    (root / "tests").mkdir()
    (root / "tests" / "test_calc.py").write_text(TESTS)
    (root / "pyproject.toml").write_text(PYPROJECT)
    config = root / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + GATE)
    floor.git("add", "-A")
    floor.git("commit", "-qm", "a project with lint debt and a gate")
    return root, floor.git("rev-parse", "main")


def test_the_failing_report_names_the_exception_the_test_and_every_new_lint_finding(floor: Runner) -> None:
    root, base = indebted_project(floor)
    issue = floor.json("create", "Make add faster", "-p", "1")["id"]
    first = [
        turn_write("calc.py", BROKEN),
        turn_write("a.py", "import sys\n"),
        turn_write("pkg/b.py", "import json\n"),
        turn_bash("git add -A && git commit -qm 'faster add'"),
        {"text": "done", "usage": {"input_tokens": 1100}},
    ]
    second = [
        turn_write("calc.py", DEBT + CALC + "\n\n# faster now\n"),
        turn_bash("git rm -q a.py pkg/b.py && git add -A && git commit -qm 'fix what the gate found'"),
        {"text": "fixed", "usage": {"input_tokens": 1200}},
    ]
    scenario = root.parent / "scenario.json"
    scenario.write_text(json.dumps({"scripts": [{"match": issue, "turns": first + second}]}))
    done = floor(
        "run", "--workers", "1", "--agent", "scripted", "--terminal", "detached", "--until-idle", "--json",
        env={"SHOPFLOOR_SCENARIO": str(scenario)},
    )  # fmt: skip
    assert floor.json("show", issue)["status"] == "closed", done.stderr
    sessions = [p.read_text() for p in (Path(floor.env["HOME"]) / ".shopfloor" / "scripted").glob("*.json")]
    prompt = next(json.loads(s) for s in sessions if issue in s)
    resumed = "\n".join(str(m) for m in prompt["messages"] if "The independent gate" in str(m))
    assert "tests/test_calc.py::test_add" in resumed and "tests/test_calc.py::test_add_zero" in resumed
    assert "TypeError: unsupported operand type(s) for +: 'int' and 'NoneType'" in resumed
    assert "a.py:1: F401" in resumed and "pkg/b.py:1: F401" in resumed
    # The debt on main is counted, not blamed.
    assert "calc.py:1: F401" not in resumed and "1 pre-existing finding(s)" in resumed
    tried = floor.json("show", issue)["attempts"]
    assert [a["verdict"] for a in tried] == ["fail", "pass"], tried
    # One commit landed for the issue, and every commit on main since the base passes the gate
    # against its parent (the rejected first pass never reached main).
    landed = floor.git("rev-list", "--reverse", f"{base}..main").split()
    code_commits = [c for c in landed if "calc.py" in floor.git("show", "--name-only", "--format=", c)]
    assert len(code_commits) == 1
    for sha in landed:
        report = floor.json("gate", "run", sha, "--base", f"{sha}^")
        assert report["verdict"] == "pass", (sha, report)
    assert "Make add faster" in floor.git("log", "-1", "--format=%s", code_commits[0])


def test_an_agent_that_changes_nothing_is_told_so_and_never_lands_an_empty_commit(floor: Runner) -> None:
    root, base = indebted_project(floor)  # main fails lint by itself: that is not the agent's
    issue = floor.json("create", "Add and remove a helper", "-p", "1")["id"]
    net_empty = [
        turn_write("helper.py", "X = 1\n"),
        turn_bash("git add -A && git commit -qm 'add a helper'"),
        turn_bash("git rm -q helper.py && git commit -qm 'remove it again'"),
        {"text": "done", "usage": {"input_tokens": 1100}},
        {"text": "still nothing to do", "usage": {"input_tokens": 1200}},
    ]
    scenario = root.parent / "scenario.json"
    scenario.write_text(json.dumps({"scripts": [{"match": issue, "turns": net_empty}]}))
    done = floor(
        "run", "--workers", "1", "--agent", "scripted", "--terminal", "detached", "--until-idle",
        env={"SHOPFLOOR_SCENARIO": str(scenario)}, check=False,
    )  # fmt: skip
    shown = floor.json("show", issue)
    assert shown["status"] == "blocked" and done.returncode == 1, done.stderr
    assert [a["failed_checks"] for a in shown["attempts"]] == [["change"], ["change"]]
    sessions = [p.read_text() for p in (Path(floor.env["HOME"]) / ".shopfloor" / "scripted").glob("*.json")]
    prompt = next(s for s in sessions if issue in s)
    assert "the branch holds no change beyond main" in prompt and "F401" not in prompt
    code = [c for c in floor.git("rev-list", f"{base}..main").split() if "calc.py" in floor.git("show", "--stat", c)]
    assert floor.git("diff", "--stat", base, "main", "--", ".", ":!.shopfloor", ":!.agents/retros") == "" and code == []
