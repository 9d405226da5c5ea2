"""An agent's tricks for getting past the gate without fixing anything: a suppression comment,
a settings file in a subdirectory, a Python start-up file, committed bytecode, a symlink.
Real candidate commits through the real CLI."""

from __future__ import annotations

import os

import pytest

from conftest import Runner
from gatekit import CALC, candidate, check, gate, make_project, status
from shopfloor.gate.diffs import parse_unified
from shopfloor.gate.tricks import protected, suppressions


@pytest.fixture
def project(sf: Runner) -> Runner:
    make_project(sf)
    return sf


# Each a file the candidate adds, holding one suppression on a line that is otherwise fine.
SUPPRESSED = {
    "noqa": ("calc.py", CALC.replace("a + b\n", "a + b  # noqa: E501\n")),
    "type-ignore": ("calc.py", CALC.replace("a + b\n", "a + b  # type: ignore[return-value]\n")),
    "ruff-noqa": ("calc.py", "# ruff: noqa\n" + CALC),
    "mypy-ignore-errors": ("calc.py", "# mypy: ignore-errors\n" + CALC),
    "pragma-no-cover": ("calc.py", CALC.replace("a + b\n", "a + b  # pragma: no cover\n")),
    "pylint-disable": ("calc.py", CALC.replace("a + b\n", "a + b  # pylint: disable=all\n")),
    "nosec": ("calc.py", CALC.replace("a + b\n", "a + b  # nosec\n")),
    "eslint-disable": ("web/app.js", "// eslint-disable-next-line no-undef\nwindow.x = y;\n"),
    "ts-ignore": ("web/app.ts", "// @ts-ignore\nconst n: number = 'one';\n"),
    "ts-expect-error": ("web/app.ts", "// @ts-expect-error\nconst n: number = 'one';\n"),
    "nolint": ("main.go", "package main\n\nfunc f() {} //nolint:unused\n"),
}


@pytest.mark.parametrize("style", sorted(SUPPRESSED))
def test_an_added_suppression_fails_the_gate(project: Runner, style: str) -> None:
    path, text = SUPPRESSED[style]
    report = gate(project, candidate(project, style, {path: text}))
    found = check(report, "suppressions")
    assert found["status"] == "fail" and report["verdict"] == "fail", status(report)
    assert f"{path}:" in found["excerpt"] and "adds a suppression" in found["excerpt"]


def test_a_suppression_the_base_had_and_the_change_moved_is_not_new(project: Runner) -> None:
    project.git("checkout", "-q", "main")
    (project.cwd / "calc.py").write_text(CALC + "\n\nLIMIT = 1  # noqa: E501\n")
    project.git("commit", "-qam", "a suppression on main")
    moved = "LIMIT = 1  # noqa: E501\n\n\n" + CALC
    report = gate(project, candidate(project, "moved", {"calc.py": moved}))
    assert status(report)["suppressions"] == "pass" and report["verdict"] == "pass", status(report)


def test_a_persons_allow_suppressions_label_exempts_and_an_agents_does_not(project: Runner) -> None:
    path, text = SUPPRESSED["noqa"]
    rev = candidate(project, "labelled", {path: text})
    sid = project.json("create", "silence a long line")["id"]
    project("label", "add", sid, "allow-suppressions", actor="worker/x")
    refused = gate(project, rev, "--issue", sid)
    assert status(refused)["suppressions"] == "fail" and refused["verdict"] == "fail"
    # The same label from a person counts (the cached result of the refusal is not replayed).
    project("label", "remove", sid, "allow-suppressions", actor="worker/x")
    project("label", "add", sid, "allow-suppressions")
    allowed = gate(project, rev, "--issue", sid)
    exempt = check(allowed, "suppressions")
    assert exempt["status"] == "pass" and allowed["verdict"] == "pass", status(allowed)
    assert "allow-suppressions" in exempt["excerpt"] and "calc.py:2: adds a suppression (# noqa)" in exempt["excerpt"]


PROTECTED = {
    "dot-pytest-ini": ".pytest.ini",
    "pytest-toml": "pytest.toml",
    "nested-ruff-toml": "sub/ruff.toml",
    "nested-pyproject": "pkg/pyproject.toml",
    "conftest-under-a-newline": "dir\nwith newline/conftest.py",
    "sitecustomize": "sitecustomize.py",
    "pth": "lib/extra.pth",
    "bytecode": "__pycache__/calc.cpython-311.pyc",
    "coveragerc": ".coveragerc",
    "flake8": ".flake8",
    "prettierrc": "web/.prettierrc.json",
}


@pytest.mark.parametrize("case", sorted(PROTECTED))
def test_a_settings_start_up_or_bytecode_file_anywhere_needs_approval(project: Runner, case: str) -> None:
    path = PROTECTED[case]
    report = gate(project, candidate(project, case, {path: "# settings\n"}))
    found = check(report, "protected-files")
    assert found["status"] == "needs-approval" and report["verdict"] != "pass", status(report)
    shown = path if path.isprintable() else repr(path)
    assert f"touches a protected file: {shown}" in found["excerpt"]


def _symlinked(project: Runner, branch: str, link: str, target: str) -> str:
    project.git("checkout", "-q", "-b", branch, "main")
    where = project.cwd / link
    if where.exists():
        where.unlink()
    where.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, where)
    project.git("add", "-A")
    project.git("commit", "-qm", f"symlink {link}")
    project.git("checkout", "-q", "main")
    return branch


def test_a_source_file_replaced_by_a_symlink_outside_the_tree_needs_approval(project: Runner) -> None:
    report = gate(project, _symlinked(project, "outside", "calc.py", "/tmp/elsewhere.py"))
    found = check(report, "protected-files")
    assert found["status"] == "needs-approval" and report["verdict"] != "pass", status(report)
    assert "symlink: calc.py -> /tmp/elsewhere.py (points outside the tree)" in found["excerpt"]


def test_a_symlink_inside_the_tree_needs_approval_too(project: Runner) -> None:
    report = gate(project, _symlinked(project, "inside", "lib/calc_link.py", "../calc.py"))
    found = check(report, "protected-files")
    assert found["status"] == "needs-approval" and report["verdict"] == "needs-approval", status(report)
    assert "symlink: lib/calc_link.py -> ../calc.py (points inside the tree)" in found["excerpt"]


# The pure functions, over git's own patch text.
def test_suppressions_are_counted_per_file_and_kind_so_an_edited_line_keeps_its_own() -> None:
    patch = (
        "diff --git a/m.py b/m.py\nindex 1..2 100644\n--- a/m.py\n+++ b/m.py\n@@ -3 +3 @@\n"
        "-x = f()  # noqa: E501\n+x = g()  # noqa: E501\n@@ -9,0 +10 @@\n+y = 1  # type: ignore\n"
    )
    assert suppressions(parse_unified(patch)) == ["m.py:10: adds a suppression (# type: ignore): y = 1  # type: ignore"]


def test_a_suppression_in_prose_or_the_tracker_file_is_only_words() -> None:
    def added(path: str) -> str:
        return f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1,0 +2 @@\n+drop the # noqa on calc.py\n"

    assert suppressions(parse_unified(added("README.md") + added(".shopfloor/issues.jsonl"))) == []
    assert suppressions(parse_unified(added("calc.py"))) == [
        "calc.py:2: adds a suppression (# noqa): drop the # noqa on calc.py"
    ]


def test_a_newline_in_a_directory_name_does_not_hide_a_protected_name() -> None:
    patch = (
        'diff --git "a/x\\ny/conftest.py" "b/x\\ny/conftest.py"\nnew file mode 100644\nindex 0..1\n'
        '--- /dev/null\n+++ "b/x\\ny/conftest.py"\n@@ -0,0 +1 @@\n+X = 1\n'
    )
    files = parse_unified(patch)
    assert list(files) == ["x\ny/conftest.py"]
    assert protected(files, ("conftest.py", "**/__pycache__/**")) == ["touches a protected file: 'x\\ny/conftest.py'"]
    assert protected(parse_unified(patch.replace("conftest.py", "__pycache__/c.pyc")), ("**/__pycache__/**",))
