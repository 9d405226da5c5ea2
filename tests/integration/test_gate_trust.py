"""What a candidate or an agent cannot do to the gate, and what the cache must not replay."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import Runner
from gatekit import CALC, TESTS, candidate, check, gate, gone_soon, make_project, status


@pytest.fixture
def project(sf: Runner) -> Runner:
    make_project(sf)
    return sf


def test_attributes_in_the_tree_cannot_hide_a_change(project: Runner) -> None:
    rev = candidate(project, "hidden", {".gitattributes": "* -diff\n", "settings.py": 'KEY = "AKIAIOSFODNN7EXAMPLE"\n'})
    report = gate(project, rev)
    assert status(report)["secrets"] == "fail" and report["verdict"] == "fail"


def test_a_test_file_renamed_out_of_the_tests_counts_as_deleted(project: Runner) -> None:
    project.git("checkout", "-q", "-b", "moved", "main")
    (project.cwd / "docs").mkdir()
    project.git("mv", "tests/test_calc.py", "docs/calc_checks.txt")
    project.git("commit", "-qm", "hide the tests")
    project.git("checkout", "-q", "main")
    report = gate(project, "moved")
    assert "tests/test_calc.py (renamed to docs/calc_checks.txt)" in check(report, "tests-not-weakened")["excerpt"]


def test_fewer_tests_without_touching_a_test_file_is_caught_by_the_counts(project: Runner) -> None:
    cases = "CASES = [1, 2, 3, 4]\n"
    param = (
        "import pytest\n\nfrom calc import CASES, add\n\n\n"
        "@pytest.mark.parametrize('n', CASES)\ndef test_case(n: int) -> None:\n    assert add(n, 0) == n\n"
    )
    project.git("checkout", "-q", "main")
    (project.cwd / "calc.py").write_text(CALC + cases)
    (project.cwd / "tests" / "test_cases.py").write_text(param)
    project.git("add", "-A")
    project.git("commit", "-qm", "parametrized cases")
    rev = candidate(project, "fewer", {"calc.py": CALC + "CASES = [1]\n"})
    report = gate(project, rev)
    weakened = check(report, "tests-not-weakened")
    assert weakened["status"] == "fail" and "fewer tests collected: 3 (base 6)" in weakened["excerpt"]


def test_a_junit_check_that_writes_no_junit_is_an_error(project: Runner) -> None:
    quitter = (
        "import os\n\nimport pytest\n\n\n@pytest.hookimpl(tryfirst=True)\n"
        "def pytest_sessionfinish(session, exitstatus):\n    os._exit(0)\n"
    )
    rev = candidate(project, "quiet", {"conftest.py": quitter, "calc.py": CALC.replace("a + b", "a - b")})
    report = gate(project, rev)
    assert status(report)["tests"] == "error" and report["verdict"] == "fail"
    assert status(report)["protected-files"] == "needs-approval"  # conftest.py steers the test runner


def test_the_cache_is_not_replayed_after_the_base_rules_change(project: Runner) -> None:
    rev = candidate(project, "same", {"calc.py": CALC + "\n\ndef one() -> int:\n    return 1\n"})
    first = gate(project, rev)
    config = project.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text().replace("timeout = 300\njunit", "timeout = 301\njunit"))
    project.git("commit", "-qam", "tweak the gate")
    second = gate(project, rev)
    assert second["config_hash"] != first["config_hash"] and not second["cached"]


def test_a_passing_check_leaves_no_process_behind(sf: Runner, tmp_path: Path) -> None:
    marker = f"bg-{uuid.uuid4().hex}"
    # The check ends only once its background process runs (it writes bg-started in the check's
    # own tree, the one place a confined check may write): then the gate must stop it.
    config = sf.cwd / ".shopfloor" / "config.toml"
    config.write_text(
        config.read_text()
        + '\n[gate]\nbuiltins = []\n[[gate.check]]\nname = "bg"\ntimeout = 60\n'
        + f'argv = ["sh", "-c", "sh -c \\"touch bg-started; sleep 300; true\\" {marker} & '
        + 'until test -e bg-started; do sleep 0.05; done"]\n'
    )
    sf.git("add", "-A")
    sf.git("commit", "-qm", "gate")
    assert gate(sf, "HEAD")["verdict"] == "pass"
    assert gone_soon(marker)


def test_an_agent_cannot_exempt_or_approve_its_own_issue(project: Runner) -> None:
    rev = candidate(project, "drop", {"tests/test_calc.py": TESTS.split("\n\n\ndef test_add_zero")[0] + "\n"})
    sid = project.json("create", "trim the tests", "--vibe", "2")["id"]
    agent = "worker/t-x"
    project("label", "add", sid, "allow-test-changes", actor=agent)
    project("update", sid, "--vibe", "5", actor=agent)
    refused = project("approve", sid, check=False, actor=agent)
    assert refused.returncode == 4 and "only a person approves" in refused.stderr
    report = gate(project, rev, "--issue", sid)
    assert status(report)["tests-not-weakened"] == "fail" and report["vibe"] == 2
    # The same exemption from a person counts, and a person's approval satisfies vibe 2.
    project("label", "remove", sid, "allow-test-changes", actor=agent)
    project("label", "add", sid, "allow-test-changes")
    project("approve", sid)
    trusted = gate(project, rev, "--issue", sid)
    assert trusted["verdict"] == "pass" and trusted["approved"], status(trusted)


def test_the_configured_target_is_the_default_base(bare_runner: Runner) -> None:
    runner = bare_runner
    runner.git("checkout", "-q", "-b", "master")
    runner("init", "--prefix", "t")
    config = runner.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + '\n[gate]\ntarget = "master"\nbuiltins = ["diff-size"]\n')
    runner.git("add", "-A")
    runner.git("commit", "-qm", "on master")
    report = runner.json("gate", "run", "HEAD")
    assert report["base"] == "master" and report["verdict"] == "pass"


def test_pushing_a_worker_branch_as_head_to_the_target_is_refused(sf: Runner, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    sf.git("commit", "-q", "--allow-empty", "-m", "start")
    sf.git("init", "-q", "--bare", str(remote))
    sf.git("remote", "add", "origin", str(remote))
    sf.git("push", "-q", "origin", "main")
    sf.json("gate", "install")
    sf.git("checkout", "-q", "-b", "floor/t-abc")
    sf.git("commit", "-q", "--allow-empty", "-m", "worker work")
    done = subprocess.run(
        ["git", "push", "-q", "origin", "HEAD:main"], cwd=sf.cwd, env=sf.env, capture_output=True, text=True
    )
    assert done.returncode != 0 and "refusing to push worker branch floor/t-abc to main" in done.stderr
