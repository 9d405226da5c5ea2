"""Findings parsed from the real output of real tools (pytest, ruff, flake8, mypy, black, isort),
and the differential split that blames a change only for what it added."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopfloor.gate.differential import split
from shopfloor.gate.findings import Finding, parse
from shopfloor.gate.report import MAX_REPORT_BYTES, check_lines, for_agent

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = BIN / name
    if not found.exists():
        pytest.fail(f"{name} is required for these tests: `make test` installs it (pip install {name})", pytrace=False)
    return str(found)


def run(argv: list[str], cwd: Path) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    return done.stdout + done.stderr


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


DEEP = "\n".join(f"    step{n} = {n}  # a long test body: pytest prints all of it before the E line" for n in range(60))
PYTEST_PROJECT = {
    "calc.py": "def add(a, b):\n    return a + b\n\n\ndef scale(x):\n    return x * None\n",
    "tests/test_failover.py": (
        "from calc import add, scale\n\n\n"
        "def test_ok():\n    assert add(1, 2) == 3\n\n\n"
        "def test_add_is_wrong():\n    assert add(2, 2) == 5\n\n\n"
        f"def test_deep_type_error():\n{DEEP}\n    scale(3)\n\n\n"
        "class TestGroup:\n    def test_in_class(self):\n        assert add(0, 1) == 2\n"
    ),
}


def test_pytest_failures_become_test_ids_with_their_exception_lines(tmp_path: Path) -> None:
    root = write(tmp_path, PYTEST_PROJECT)
    out = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], root)
    found = parse("tests", out, (str(root),))
    assert found is not None
    by_id = {f.test: f for f in found}
    assert set(by_id) == {
        "tests/test_failover.py::test_add_is_wrong",
        "tests/test_failover.py::test_deep_type_error",
        "tests/test_failover.py::TestGroup::test_in_class",
    }
    deep = by_id["tests/test_failover.py::test_deep_type_error"]
    # The exception is far below the first line that says "fail" (the file name): it is still found.
    assert "TypeError: unsupported operand type(s) for *: 'int' and 'NoneType'" in deep.text()
    assert deep.path == "calc.py" and deep.line == 6
    assert "assert 4 == 5" in by_id["tests/test_failover.py::test_add_is_wrong"].text()
    assert "assert 1 == 2" in "\n".join(by_id["tests/test_failover.py::TestGroup::test_in_class"].detail)


def test_ruff_concise_and_full_output_give_the_same_findings(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "a.py": "import os\nimport sys\n",
            "pkg/b.py": "import json\n\nx = 1\nx == 2\n",
            "ruff.toml": 'lint.select = ["F", "B"]\n',
        },
    )
    concise = parse("ruff", run([tool("ruff"), "check", "--output-format=concise", "."], root))
    full = parse("ruff", run([tool("ruff"), "check", "--output-format=full", "."], root))
    assert concise is not None and full is not None
    assert sorted(f.text() for f in concise) == sorted(f.text() for f in full)
    assert {(f.path, f.line, f.code) for f in concise} == {
        ("a.py", 1, "F401"),
        ("a.py", 2, "F401"),
        ("pkg/b.py", 1, "F401"),
        ("pkg/b.py", 4, "B015"),
    }


def test_flake8_and_mypy_findings_keep_their_keys_when_lines_move(tmp_path: Path) -> None:
    source = "import os\n\n\ndef f(x: int) -> str:\n    return x\n"
    root = write(tmp_path, {"m.py": source})
    before = run([tool("flake8"), "m.py"], root) + run([tool("mypy"), "--no-incremental", "m.py"], root)
    (root / "m.py").write_text('"""A docstring pushes every line down."""\n\n' + source)
    after = run([tool("flake8"), "m.py"], root) + run([tool("mypy"), "--no-incremental", "m.py"], root)
    old, new = parse("lint", before), parse("lint", after)
    assert old is not None and new is not None
    assert {f.code for f in old} >= {"F401", "return-value"}
    assert sorted(f.key for f in old) == sorted(f.key for f in new)
    assert [f.line for f in old if f.code == "F401"] == [1] and [f.line for f in new if f.code == "F401"] == [3]


def test_formatters_and_import_sorters_name_the_files(tmp_path: Path) -> None:
    root = write(tmp_path, {"ugly.py": "x=( 1,2 )\n", "imports.py": "import sys\nimport os\n", "fine.py": "x = 1\n"})
    roots = (str(root),)  # black and isort print absolute paths: the gate strips its worktree's
    black = parse("black", run([tool("black"), "--check", "."], root), roots)
    isort = parse("isort", run([tool("isort"), "--check-only", "."], root), roots)
    ruff_format = parse("fmt", run([tool("ruff"), "format", "--check", "."], root), roots)
    assert black is not None and {f.path for f in black} == {"ugly.py"}
    assert isort is not None and {f.path for f in isort} == {"imports.py"}
    assert ruff_format is not None and {f.path for f in ruff_format} == {"ugly.py"}


def test_output_with_nothing_recognisable_is_opaque() -> None:
    assert parse("script", "something went wrong\nexit status 3\n") is None
    assert parse("script", "") is None


def test_paths_under_the_gates_worktree_are_made_relative() -> None:
    out = "/tmp/x/.gate/run-1-2/wt/src/a.py:3:1: F401 `os` imported but unused\n"
    found = parse("ruff", out, ("/tmp/x/.gate/run-1-2/wt",))
    assert found is not None and found[0].path == "src/a.py"
    again = parse(
        "ruff", out.replace("run-1-2/wt", "run-1-2/base/wt").replace(":3:", ":9:"), ("/tmp/x/.gate/run-1-2/base/wt",)
    )
    assert again is not None and again[0].key == found[0].key


def lint(path: str, line: int, code: str = "F401", message: str = "`os` imported but unused") -> Finding:
    return Finding("ruff", message, path=path, line=line, code=code)


def test_split_blames_only_added_findings_and_counts_what_was_fixed() -> None:
    base = [lint("a.py", 1), lint("b.py", 4, "E501", "line too long (130 > 79)")]
    candidate = [
        lint("a.py", 3),  # the same finding, moved
        lint("b.py", 9, "E501", "line too long (99 > 79)"),  # numbers in messages do not matter
        lint("c.py", 1, "F401", "`sys` imported but unused"),
    ]
    parts = split(candidate, base)
    assert [f.path for f in parts.new] == ["c.py"] and all(f.new for f in parts.new)
    assert len(parts.preexisting) == 2 and not any(f.new for f in parts.preexisting)
    assert split(base[:1], base).fixed == base[1:]


def test_split_picks_the_finding_on_a_changed_line_when_two_are_alike() -> None:
    base = [lint("a.py", 1)]
    candidate = [lint("a.py", 1), lint("a.py", 7)]
    assert [f.line for f in split(candidate, base, {"a.py": {7}}).new] == [7]
    assert [f.line for f in split(candidate, base, {"a.py": {1}}).new] == [1]


keys = st.sampled_from(["a.py", "b.py", "c.py"])


@given(st.lists(keys, max_size=12), st.lists(keys, max_size=12))
def test_split_is_a_multiset_difference(candidate_paths: list[str], base_paths: list[str]) -> None:
    candidate = [lint(p, n) for n, p in enumerate(candidate_paths, start=1)]
    base = [lint(p, n) for n, p in enumerate(base_paths, start=1)]
    parts = split(candidate, base)
    cand, old = Counter(candidate_paths), Counter(base_paths)
    assert Counter(f.path for f in parts.new) == cand - old
    assert Counter(f.path for f in parts.fixed) == old - cand
    assert len(parts.new) + len(parts.preexisting) == len(candidate)


def test_the_report_lists_new_findings_first_and_stays_bounded() -> None:
    many = [lint(f"m{n}.py", n).as_json() | {"new": True} for n in range(500)]
    old = [lint("old.py", 1).as_json() | {"new": False}]
    check = {"name": "ruff", "status": "fail", "findings": many + old, "note": "", "fixed": 0, "excerpt": ""}
    lines = check_lines(check, 7)
    assert lines[0] == "m0.py:0: F401 `os` imported but unused" or lines[0].startswith("m0.py")
    assert len(lines) <= 60 and "gate show 7 --json" in "\n".join(lines)
    assert "1 pre-existing finding(s)" in lines[-1]
    report = {"verdict": "fail", "id": 7, "checks": [check, {**check, "name": "other"}, {**check, "name": "x"}]}
    assert len(for_agent(report).encode()) <= MAX_REPORT_BYTES


def test_an_opaque_report_shows_the_head_and_the_tail() -> None:
    excerpt = "\n".join(f"line {n}" for n in range(200))
    lines = check_lines({"name": "s", "status": "fail", "findings": None, "excerpt": excerpt})
    assert lines[0] == "line 0" and lines[-1] == "line 199" and len(lines) <= 60


def test_no_tool_is_missing_for_these_tests() -> None:
    for name in ("ruff", "flake8", "mypy", "black", "isort"):
        assert shutil.which(name, path=str(BIN)), f"{name} missing from {BIN}: `make test` installs it"


def test_mypy_with_pretty_in_its_config_is_read_whole_with_no_pretty(tmp_path: Path) -> None:
    long_name = "a_rather_long_function_name_so_that_the_message_wraps_in_pretty_mode"
    source = f"def {long_name}(x: int) -> list[str]:\n    return [x, x, x, x, x, x, x, x, x, x]\n"
    root = write(tmp_path, {"m.py": source, "mypy.ini": "[mypy]\npretty = True\n"})
    found = parse("mypy", run([tool("mypy"), "--no-pretty", "--no-incremental", "m.py"], root))
    assert found is not None and {f.code for f in found} == {"list-item"}
    assert all(f.message.endswith('expected "str"') for f in found)
