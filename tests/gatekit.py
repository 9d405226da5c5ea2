"""A small Python project with a gate configuration, and helpers to make candidate branches."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from conftest import Runner

CALC = "def add(a: int, b: int) -> int:\n    return a + b\n"
TESTS = (
    "from calc import add\n\n\n"
    "def test_add() -> None:\n    assert add(1, 2) == 3\n\n\n"
    "def test_add_zero() -> None:\n    assert add(0, 0) == 0\n"
)
PYPROJECT = """\
[tool.pytest.ini_options]
pythonpath = ["."]
# The project uses no pytest plugin, and the gate's checks run the suite's own pytest, beside which
# xdist, hypothesis, pytest-cov and others are installed: loading them took each run of the tests
# check 0.8 s instead of 0.15 s.
addopts = "-p no:xdist -p no:xdist.looponfail -p no:hypothesispytest -p no:pytest_cov -p no:libtmux -p no:platformdirs"

[tool.ruff]
line-length = 120

[tool.ruff.lint]
select = ["E", "F"]

[tool.mypy]
files = ["calc.py"]
cache_dir = "/dev/null"
"""
GATE = """
[gate]
target = "main"

[[gate.check]]
name = "lint"
argv = ["ruff", "check", "."]
timeout = 120
paths = ["**/*.py"]
fast = true

[[gate.check]]
name = "types"
argv = ["mypy"]
timeout = 300
paths = ["**/*.py"]

[[gate.check]]
name = "tests"
argv = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml={junit}"]
timeout = 300
junit = true
"""


def make_project(runner: Runner, gate: str = GATE) -> None:
    root = runner.cwd
    (root / "calc.py").write_text(CALC)
    (root / "tests").mkdir()
    (root / "tests" / "test_calc.py").write_text(TESTS)
    (root / "pyproject.toml").write_text(PYPROJECT)
    config = root / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + gate)
    runner.git("add", "-A")
    runner.git("commit", "-qm", "project with a gate")


def candidate(runner: Runner, branch: str, files: dict[str, str | None]) -> str:
    """A branch off main that writes (or, for None, deletes) ``files``; returns the branch name."""
    runner.git("checkout", "-q", "-b", branch, "main")
    for name, text in files.items():
        path = runner.cwd / name
        if text is None:
            runner.git("rm", "-q", name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    runner.git("add", "-A")
    runner.git("commit", "-qm", f"candidate {branch}")
    runner.git("checkout", "-q", "main")
    return branch


def gate(runner: Runner, rev: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = runner("gate", "run", rev, "--json", *args, check=False, env=env)
    assert done.returncode in (0, 1), done.stderr
    report: dict[str, Any] = __import__("json").loads(done.stdout)
    assert done.returncode == (0 if report["verdict"] == "pass" else 1)
    return report


def status(report: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["status"] for c in report["checks"]}


def check(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in report["checks"] if c["name"] == name)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def processes_with(marker: str) -> list[int]:
    """Pids whose command line holds ``marker``. Checks run in a pid namespace of their own, so
    a pid a check writes down is not the one seen here: tests find their processes by a marker."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as source:
                if marker.encode() in source.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def gone_soon(marker: str, within_s: float = 10.0) -> bool:
    deadline = time.monotonic() + within_s
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not processes_with(marker)
