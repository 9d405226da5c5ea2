"""How the gate runs checks: flaky retries, parallelism, timeouts, vibe levels, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from conftest import Runner
from gatekit import candidate, check, gate, gone_soon, processes_with, status
from workerkit import until

PY = sys.executable


def setup_gate(runner: Runner, checks: list[dict], writable: tuple[str, ...] | None = None) -> None:
    """The checks, confined as the gate always confines them; they may also write the test's
    directory (``writable``, by default the repository's parent), where they leave evidence."""
    shared = [str(runner.cwd.parent)] if writable is None else list(writable)
    lines = ["", "[sandbox]", f"writable = {json.dumps(shared)}"]
    lines += ["[gate]", 'builtins = ["tests-not-weakened", "protected-files", "diff-size"]']
    for item in checks:
        lines.append("[[gate.check]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in item.items()]
    config = runner.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + "\n".join(lines) + "\n")
    (runner.cwd / "app.py").write_text("VALUE = 1\n")
    runner.git("add", "-A")
    runner.git("commit", "-qm", "gate")


def change(runner: Runner, name: str = "change") -> str:
    return candidate(runner, name, {"app.py": f"VALUE = {len(name)}\n"})


def test_a_check_that_fails_once_and_then_passes_is_flaky_not_a_defect(sf: Runner, tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    script = (
        f"import pathlib, sys; p = pathlib.Path({str(counter)!r}); n = len(p.read_text()) if p.exists() else 0; "
        "p.write_text('x' * (n + 1)); sys.exit(1 if n == 0 else 0)"
    )
    # The counter lives outside the checkout: the sandbox lets a check write there only when the
    # target's [sandbox] writable names it.
    setup_gate(sf, [{"name": "wobbly", "argv": [PY, "-c", script], "timeout": 60}], writable=(str(tmp_path),))
    report = gate(sf, change(sf))
    assert status(report)["wobbly"] == "flaky" and report["verdict"] == "pass"
    # Exactly three runs: the candidate's failure, the base (is it the base's failure too?), the retry.
    assert counter.read_text() == "xxx"


def test_independent_checks_run_at_the_same_time(sf: Runner, tmp_path: Path) -> None:
    # Each check says it started, then waits (30 s at most) for the other to say so: run one after
    # the other, the first gives up and fails; run together, both see each other, however slow the machine.
    stamp = (
        "import os, sys, time\n"
        "open(sys.argv[1], 'w').write(str(time.time()))\n"
        "end = time.monotonic() + 30\n"
        "while not os.path.exists(sys.argv[2]) and time.monotonic() < end:\n"
        "    time.sleep(0.05)\n"
        "open(sys.argv[1], 'a').write(' ' + str(time.time()))\n"
        "sys.exit(0 if os.path.exists(sys.argv[2]) else 1)\n"
    )
    one, two = str(tmp_path / "one"), str(tmp_path / "two")
    setup_gate(
        sf,
        [
            {"name": "one", "argv": [PY, "-c", stamp, one, two], "timeout": 60},
            {"name": "two", "argv": [PY, "-c", stamp, two, one], "timeout": 60},
        ],
    )
    if (os.cpu_count() or 1) < 2:
        pytest.fail("this test needs 2 cores to show parallelism", pytrace=False)
    report = gate(sf, change(sf))
    assert report["verdict"] == "pass" and status(report)["one"] == status(report)["two"] == "pass"  # not "flaky"
    (a0, a1), (b0, b1) = ((float(x) for x in (tmp_path / n).read_text().split()) for n in ("one", "two"))
    assert a0 < b1 and b0 < a1  # their run times overlap


def test_a_timeout_kills_the_whole_process_group(sf: Runner, tmp_path: Path) -> None:
    marker = f"hang-{uuid.uuid4().hex}"
    started = tmp_path / "started"
    sleeper = f"{PY} -c 'import time; time.sleep(300)' {marker}"
    hang = ["sh", "-c", f"{sleeper} & touch {started}; wait"]
    setup_gate(sf, [{"name": "hang", "argv": hang, "timeout": 1}])
    report = gate(sf, change(sf))
    assert status(report)["hang"] == "timeout" and report["verdict"] == "fail"
    assert "timed out after 1 s" in check(report, "hang")["excerpt"]
    assert started.exists()
    assert gone_soon(marker)  # the background sleeper died with its group


def test_a_missing_command_is_an_error_that_names_it(sf: Runner) -> None:
    setup_gate(sf, [{"name": "ghost", "argv": ["no-such-linter-xyz", "."], "timeout": 60}])
    report = gate(sf, change(sf))
    assert status(report)["ghost"] == "error" and report["verdict"] == "fail"
    assert "command not found: no-such-linter-xyz" in check(report, "ghost")["excerpt"]


def test_huge_and_undecodable_output_stays_bounded_and_is_kept(sf: Runner) -> None:
    flood = (
        "import sys; sys.stdout.buffer.write(b'\\xff\\xfe not utf-8\\n' + b'x' * 100_000_000 "
        "+ b'\\nerror: at the end\\n'); sys.exit(1)"
    )
    setup_gate(sf, [{"name": "flood", "argv": [PY, "-c", flood], "timeout": 120}])
    report = gate(sf, change(sf))
    excerpt = check(report, "flood")["excerpt"]
    assert status(report)["flood"] == "fail" and len(excerpt) <= 6000
    # Both ends are kept: the first line and the error printed last.
    assert "not utf-8" in excerpt and "error: at the end" in excerpt
    shown = sf.json("gate", "show", str(report["id"]))
    assert len(json.dumps(shown)) < 100_000


def test_vibe_levels_choose_the_fast_subset_or_a_human_approval(sf: Runner) -> None:
    setup_gate(
        sf,
        [
            {"name": "quick", "argv": [PY, "-c", "pass"], "timeout": 60, "fast": True},
            {"name": "slow", "argv": [PY, "-c", "pass"], "timeout": 60},
        ],
    )
    rev = change(sf)
    trusted = sf.json("create", "trusted work", "--vibe", "5")["id"]
    careful = sf.json("create", "careful work", "--vibe", "2")["id"]
    fast = gate(sf, rev, "--issue", trusted)
    assert status(fast)["slow"] == "skipped" and status(fast)["quick"] == "pass" and fast["verdict"] == "pass"
    strict = gate(sf, rev, "--issue", careful)
    assert status(strict)["slow"] == "pass" and strict["verdict"] == "needs-approval"
    assert [r["issue"] for r in sf.json("gate", "list", "--issue", careful)] == [careful]


def test_an_issue_labelled_allow_test_changes_may_delete_tests(sf: Runner) -> None:
    (sf.cwd / "tests").mkdir()
    (sf.cwd / "tests" / "test_old.py").write_text("def test_old():\n    assert True\n")
    setup_gate(sf, [])
    rev = candidate(sf, "cleanup", {"tests/test_old.py": None})
    plain = sf.json("create", "remove old tests")["id"]
    allowed = sf.json("create", "remove old tests, agreed", "-l", "allow-test-changes")["id"]
    assert gate(sf, rev, "--issue", plain)["verdict"] == "fail"
    assert gate(sf, rev, "--issue", allowed)["verdict"] == "pass"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["gate", "run", "no-such-branch"], 3, "unknown revision 'no-such-branch'"),
        (["gate", "run", "HEAD", "--base", "nope"], 3, "unknown base 'nope'"),
        (["gate", "run", "--", "--upload-pack=evil"], 3, "is not a revision"),
        (["gate", "show", "999"], 3, "no gate run 999"),
    ],
)
def test_bad_revisions_and_runs_are_one_line_and_leave_nothing(
    sf: Runner, args: list[str], code: int, message: str
) -> None:
    setup_gate(sf, [])
    done = sf(*args, check=False)
    assert done.returncode == code and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert sf.json("gate", "list") == []
    assert not (sf.cwd.parent / "repo.floor" / ".gate").exists() or not any(
        (sf.cwd.parent / "repo.floor" / ".gate").iterdir()
    )


def test_a_malformed_config_on_the_base_is_a_usage_error(sf: Runner) -> None:
    config = sf.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + '\n[[gate.check]]\nname = "x"\nargv = "ruff check"\n')
    sf.git("add", "-A")
    sf.git("commit", "-qm", "bad gate config")
    done = sf("gate", "run", "HEAD", check=False)
    assert done.returncode == 2 and "argv must be a non-empty list of strings" in done.stderr
    assert "main:.shopfloor/config.toml" in done.stderr


def test_the_pre_push_hook_gates_pushes_and_keeps_worker_branches_off_the_target(sf: Runner, tmp_path: Path) -> None:
    setup_gate(sf, [{"name": "no-fixme", "argv": ["sh", "-c", "! grep -rq FIXME app.py"], "timeout": 60}])
    remote = tmp_path / "remote.git"
    sf.git("init", "-q", "--bare", str(remote))
    sf.git("remote", "add", "origin", str(remote))
    sf.git("push", "-q", "origin", "main")
    installed = sf.json("gate", "install")
    assert Path(installed["hook"]).stat().st_mode & 0o111
    good = candidate(sf, "feature", {"app.py": "VALUE = 2\n"})
    assert sf.git("push", "-q", "origin", good, check=False) == ""
    assert "feature" in sf.git("ls-remote", "--heads", str(remote))
    bad = candidate(sf, "sloppy", {"app.py": "VALUE = 3  # FIXME\n"})
    refused = subprocess.run(
        ["git", "push", "-q", "origin", bad], cwd=sf.cwd, env=sf.env, capture_output=True, text=True
    )
    assert refused.returncode != 0 and "the gate says fail" in refused.stderr
    assert "sloppy" not in sf.git("ls-remote", "--heads", str(remote))
    worker = candidate(sf, "floor/t-abc", {"app.py": "VALUE = 4\n"})
    direct = subprocess.run(
        ["git", "push", "-q", "origin", f"{worker}:main"], cwd=sf.cwd, env=sf.env, capture_output=True, text=True
    )
    assert direct.returncode != 0 and "refusing to push worker branch floor/t-abc to main" in direct.stderr
    assert sf("gate", "install", check=False).returncode == 0  # re-installing its own hook is fine
    (Path(installed["hook"])).write_text("#!/bin/sh\nexit 0\n")
    foreign = sf("gate", "install", check=False)
    assert foreign.returncode == 4 and "not shopfloor's" in foreign.stderr


def test_approve_records_who_approved(sf: Runner) -> None:
    sid = sf.json("create", "risky", "--vibe", "1")["id"]
    first = sf.json("approve", sid)
    again = sf.json("approve", sid)
    assert first["approved"] and not first["already"] and again["already"]
    shown = sf.json("show", sid)
    assert "approved" in shown["labels"]
    assert any("approved for merge by tester" in c["text"] for c in shown["comments"])
    assert sf("approve", "t-zzzz", check=False).returncode == 3


def test_a_terminated_gate_kills_its_checks_and_removes_its_worktree(sf: Runner, tmp_path: Path) -> None:
    pid_file = tmp_path / "check.pid"
    marker = f"slow-{uuid.uuid4().hex}"
    slow = ["sh", "-c", f"echo $$ > {pid_file}; exec {PY} -c 'import time; time.sleep(300)' {marker}"]
    setup_gate(sf, [{"name": "slow", "argv": slow, "timeout": 600}])
    rev = change(sf)
    gate_proc = subprocess.Popen(
        ["shopfloor", "gate", "run", rev], cwd=sf.cwd, env=sf.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    until(lambda: pid_file.exists() and processes_with(marker), "the slow check to be running")
    gate_proc.terminate()
    assert gate_proc.wait(timeout=30) != 0
    assert gone_soon(marker)
    assert sf.git("worktree", "list").count("\n") == 0
    assert not any((sf.cwd.parent / "repo.floor" / ".gate").iterdir())
