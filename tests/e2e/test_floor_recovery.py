"""States a crash leaves behind have a way forward on the next turn (issue 12, item 1)."""

from __future__ import annotations

import json
import os
import signal
import subprocess

from conftest import SHOPFLOOR, Runner
from workerkit import until


def _add_a(floor: Runner, sid: str) -> dict[str, str]:
    """A scenario whose agent adds a.txt and commits it; the environment of a floor run with it."""
    turns = [
        {"tool": {"name": "Write", "input": {"file_path": "a.txt", "content": "a\n"}}},
        {"tool": {"name": "Bash", "input": {"command": "git add -A && git commit -qm 'add a'"}}},
        {"text": "done"},
    ]
    scenario = floor.cwd.parent / "a.json"
    scenario.write_text(json.dumps({"scripts": [{"match": sid, "turns": turns}]}))
    return {**floor.env, "SHOPFLOOR_SCENARIO": str(scenario), "SHOPFLOOR_ACTOR": "floor"}


def test_a_worker_whose_start_was_killed_during_setup_is_started_again_and_lands(floor: Runner) -> None:
    marker = floor.cwd.parent / "setup-may-finish"
    config = floor.cwd / ".shopfloor" / "config.toml"
    setup = json.dumps([["sh", "-c", f"test -e {marker} || sleep 30"]])
    config.write_text(config.read_text() + f"\n[workspace]\nsetup = {setup}\n")
    floor.git("commit", "-qam", "a slow setup")
    sid = floor.json("create", "Add a")["id"]
    env = _add_a(floor, sid)
    # A start killed while its setup runs: a worker row, a claim, and no launch spec.
    start = subprocess.Popen(
        [str(SHOPFLOOR), "worker", "start", sid, "--agent", "scripted", "--terminal", "detached"],
        cwd=floor.cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    until(lambda: floor.json("worker", "list"), "the start to make its worker row")  # and it is in its setup
    os.killpg(start.pid, signal.SIGKILL)
    start.wait(timeout=30)
    assert not (floor.cwd / ".git" / "shopfloor" / "workers" / sid / "spec.json").exists()
    marker.write_text("")
    done = subprocess.run(  # with a deadline: a floor that never goes idle fails the test, not the suite
        [str(SHOPFLOOR), "run", "--agent", "scripted", "--builtins-only", "--terminal", "detached", "--until-idle"],
        cwd=floor.cwd, env=env, capture_output=True, text=True,
        timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "its worker never started" in done.stdout
    assert floor.json("show", sid)["status"] == "closed"
    assert floor.git("show", "main:a.txt") == "a"


def test_a_start_killed_inside_git_clone_leaves_a_half_made_clone_that_is_set_aside(floor: Runner) -> None:
    sid = floor.json("create", "Add a")["id"]
    env = _add_a(floor, sid)
    killed = subprocess.run(
        [str(SHOPFLOOR), "worker", "start", sid, "--agent", "scripted", "--terminal", "detached"],
        cwd=floor.cwd, env={**env, "SHOPFLOOR_FAULT": "clone"}, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert killed.returncode == -9
    workspace = floor.cwd.parent / "repo.floor" / sid
    (workspace / ".git" / "objects" / "info" / "alternates").unlink()  # as a clone killed half-way leaves it
    done = subprocess.run(
        [str(SHOPFLOOR), "run", "--agent", "scripted", "--builtins-only", "--terminal", "detached", "--until-idle"],
        cwd=floor.cwd, env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "its unfinished workspace" in done.stdout and "is kept at" in done.stdout
    assert floor.json("show", sid)["status"] == "closed"
    assert floor.git("show", "main:a.txt") == "a"
    assert [p.name for p in workspace.parent.iterdir() if ".unfinished-" in p.name]  # kept, never deleted
