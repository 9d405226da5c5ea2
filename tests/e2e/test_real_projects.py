"""A new user on real third-party projects (PyPI sdists, see ``realrepos``): ``init``,
``gate init``, commit, then the gate on a harmless change, a change that breaks a test, and a
change that adds one lint finding, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import Runner, base_env
from realrepos import PROJECTS, Project, apply, unpack


def branch(sf: Runner, name: str, project: Project, edit: Any) -> str:
    sf.git("checkout", "-q", "-b", name, "main")
    apply(sf.cwd, edit)
    sf.git("commit", "-qam", name)
    sf.git("checkout", "-q", "main")
    return name


def gate(sf: Runner, rev: str) -> dict[str, Any]:
    done = sf("gate", "run", rev, "--json", check=False)
    assert done.returncode in (0, 1), done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["checks"]}


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_a_new_user_gates_a_real_project(name: str, tmp_path: Path) -> None:
    project = PROJECTS[name]
    env = base_env(tmp_path)
    sf = Runner(unpack(project, tmp_path, env), env)
    sf("init")
    init = sf.json("gate", "init")
    tried = {c["name"]: c for c in init["checks"]}
    # The project's own linter, not one it does not use; its tests; nothing fails unannounced.
    assert project.lint_check in tried and "ruff" not in tried and "ruff-format" not in tried, tried
    assert tried["pytest"]["action"] == "kept" and tried["pytest"]["status"] == "pass"
    lint = tried[project.lint_check]
    if project.debt:
        assert lint["action"] == "kept as a differential baseline" and lint["preexisting"] > 0
    else:
        assert lint["action"] == "kept" and lint["preexisting"] == 0
    sf.git("add", "-A")
    sf.git("commit", "-qm", "shopfloor and its gate")
    assert "[[gate.check]]" in sf.git("show", "HEAD:.shopfloor/config.toml")

    harmless = gate(sf, branch(sf, "harmless", project, project.harmless))
    assert harmless["verdict"] == "pass", [(c["name"], c["status"], c["note"]) for c in harmless["checks"]]
    if project.debt:
        assert by_name(harmless)[project.lint_check]["preexisting"] == lint["preexisting"]

    broken = gate(sf, branch(sf, "breaking", project, project.breaking))
    tests = by_name(broken)["pytest"]
    assert broken["verdict"] == "fail" and tests["status"] == "fail"
    assert by_name(broken)["tests-not-weakened"]["status"] == "pass"
    failing = {f["test"]: f for f in tests["findings"] if f["new"]}
    assert project.failing_test in failing, sorted(failing)
    assert project.exception in failing[project.failing_test]["message"] + "\n".join(
        failing[project.failing_test]["detail"]
    )
    shown = sf("gate", "show", str(broken["id"])).stdout
    assert project.failing_test in shown and project.exception in shown

    linted = gate(sf, branch(sf, "new-lint", project, project.new_lint))
    check = by_name(linted)[project.lint_check]
    assert linted["verdict"] == "fail" and check["status"] == "fail"
    new = [f"{f['path']}:{f['line']}: {f['code']}" for f in check["findings"] if f["new"]]
    assert new == [project.lint_finding], new
    assert check["preexisting"] == lint["preexisting"]
    text = sf("gate", "show", str(linted["id"])).stdout
    assert project.lint_finding in text


def edit_turn(edit: Any) -> dict[str, Any]:
    return {
        "tool": {"name": "Edit", "input": {"file_path": edit.path, "old_string": edit.old, "new_string": edit.new}},
        "usage": {"input_tokens": 1500},
    }


def bash_turn(command: str) -> dict[str, Any]:
    return {"tool": {"name": "Bash", "input": {"command": command}}, "usage": {"input_tokens": 1600}}


def test_the_floor_on_a_real_project_lands_good_work_and_stops_bad_work(tmp_path: Path, tmux_dir: str) -> None:
    project = PROJECTS["inflection"]
    env = base_env(tmp_path) | {"TMUX_TMPDIR": tmux_dir}
    sf = Runner(unpack(project, tmp_path, env), env)
    sf("init")
    sf("gate", "init")
    sf.git("add", "-A")
    sf.git("commit", "-qm", "shopfloor and its gate")
    base = sf.git("rev-parse", "main")
    good = sf.json("create", "Say what the re import is for", "-p", "1")["id"]
    bad = sf.json("create", "Dasherize with plus signs", "-p", "2")["id"]
    scripts = [
        {"match": good, "turns": [edit_turn(project.harmless), bash_turn("git commit -qam 'comment the import'")]},
        {
            "match": bad,
            "turns": [
                edit_turn(project.breaking),
                bash_turn("git commit -qam 'dasherize with +'"),
                {"text": "done", "usage": {"input_tokens": 1700}},
                # Resumed with the report, it changes something unrelated: the same failure again.
                bash_turn("echo >> README.rst && git commit -qam 'try again'"),
            ],
        },
    ]
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({"scripts": scripts}))
    done = sf(
        "run", "--workers", "2", "--agent", "scripted", "--terminal", "detached", "--until-idle",
        env={"SHOPFLOOR_SCENARIO": str(scenario)}, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # it blocked the bad one
    assert sf.json("show", good)["status"] == "closed", done.stderr
    stopped = sf.json("show", bad)
    assert stopped["status"] == "blocked", done.stderr
    # Good work landed as one gated commit; bad work never reached main.
    code = [
        c
        for c in sf.git("rev-list", f"{base}..main").split()
        if not sf.git("log", "-1", "--format=%s", c).startswith("tracker: ")  # the floor's tracker and retros commits
    ]
    assert len(code) == 1
    trailers = sf.git("log", "-1", "--format=%(trailers:only,unfold)", code[0])
    assert f"Shopfloor-Issue: {good}" in trailers and "Gate-Run: " in trailers
    assert "'_', '-'" in sf.git("show", "main:inflection/__init__.py")
    # The bad work was stopped with a report that names the failure.
    tried = stopped["attempts"]
    assert tried[0]["failed_checks"] == ["pytest"] and any(a["outcome"] == "spiral" for a in tried)
    sessions = [p.read_text() for p in (tmp_path / "home" / ".shopfloor" / "scripted").glob("*.json")]
    report = next(s for s in sessions if bad in s)
    assert project.failing_test in report and "street+address" in report
