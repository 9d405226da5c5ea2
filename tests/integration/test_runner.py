"""The test suite's own runner (conftest.Runner): most tests call ``shopfloor`` in-process through
``main(argv)``, so the runner must give each call what a new process would have and leave the test
process as it found it. The smoke tests at the end go through the real console script."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Runner, needs_process


def test_a_command_exit_code_and_error_line_come_back(sf: Runner) -> None:
    done = sf("show", "t-zzzz", check=False)
    assert done.returncode == 3
    assert done.stdout == ""
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1


def test_check_raises_with_the_error_line(sf: Runner) -> None:
    try:
        sf("show", "t-zzzz")
    except AssertionError as exc:
        assert "(3)" in str(exc) and "error: " in str(exc)
    else:
        raise AssertionError("check=True did not raise on exit 3")


def test_environment_cwd_argv_and_signal_handlers_are_restored(sf: Runner, tmp_path: Path) -> None:
    env_before = dict(os.environ)
    cwd_before = os.getcwd()
    handlers_before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    # --no-sandbox writes SHOPFLOOR_SANDBOX=off into the environment; `gate run` installs its own
    # SIGTERM and SIGHUP handlers before it finds there is nothing to gate.
    done = sf("gate", "run", "--no-sandbox", "--rev", "no-such-rev", env={"SHOPFLOOR_TESTS_MARK": "x"}, check=False)
    assert done.returncode != 0
    assert done.stderr.startswith("error: ")
    assert dict(os.environ) == env_before
    assert "SHOPFLOOR_SANDBOX" not in os.environ
    assert os.getcwd() == cwd_before
    assert {sig: signal.getsignal(sig) for sig in handlers_before} == handlers_before


def test_the_call_sees_the_runner_environment_cwd_and_actor(sf: Runner) -> None:
    created = sf.json("create", "from alice", actor="alice")
    assert created["created_by"] == "alice"
    assert sf.json("show", created["id"])["created_by"] == "alice"
    # The runner's cwd is the repository: from elsewhere there is no tracker to find.
    outside = sf.cwd.parent / "elsewhere"
    outside.mkdir()
    assert sf("ready", cwd=outside, check=False).returncode != 0


def test_stdin_reaches_the_command(sf: Runner) -> None:
    issue = sf.json("create", "needs a note")["id"]
    sf("comment", issue, "-", input="a note from stdin\nwith two lines")
    comments = sf.json("show", issue)["comments"]
    assert [c["text"] for c in comments] == ["a note from stdin\nwith two lines"]


def test_commands_that_must_be_processes_are_routed_to_one() -> None:
    assert needs_process(["run", "--until-idle"], None)
    assert needs_process(["--actor", "x", "worker", "start", "t-1"], None)
    assert needs_process(["merge-driver", "a", "b", "c"], None)
    assert needs_process(["list"], {"SHOPFLOOR_FAULT": "claim"})
    assert needs_process(["list"], {"LC_ALL": "C"})
    assert not needs_process(["worker", "list"], None)
    assert not needs_process(["--actor", "run", "list"], None)  # "run" is the actor's name here


@pytest.mark.parametrize("kind", ["init", "committed"])
def test_a_copied_template_names_nowhere_it_was_built(kind: str, repo_template: Callable[[str], Path]) -> None:
    template = repo_template(kind)
    for path in template.rglob("*"):
        if path.is_file():
            assert str(template.parent).encode() not in path.read_bytes(), path


def test_a_copied_set_up_repository_is_sound(sf: Runner) -> None:
    doctor = sf.json("doctor")
    assert doctor["ok"], doctor
    assert doctor["checks"][0]["detail"].startswith(f"{sf.cwd}/.git/shopfloor/tracker.db: integrity ok")
    issue = sf.json("create", "in a copy")["id"]
    assert [i["id"] for i in sf.json("ready")] == [issue]


# --- smoke: the real console script, in a new process (keep these few; they cost ~155 ms a call) ---


def test_smoke_console_script_gives_what_main_gives(sf: Runner) -> None:
    issue = sf.json("create", "same either way", "-p", "1")["id"]
    in_process = sf("show", issue, "--json")
    real = sf("show", issue, "--json", process=True)
    assert real.returncode == in_process.returncode == 0
    assert json.loads(real.stdout) == json.loads(in_process.stdout)
    assert real.args[0].endswith("shopfloor")


def test_smoke_console_script_error_exit_and_line(sf: Runner) -> None:
    real = sf("show", "t-zzzz", process=True, check=False)
    assert real.returncode == 3
    assert real.stderr == sf("show", "t-zzzz", check=False).stderr
