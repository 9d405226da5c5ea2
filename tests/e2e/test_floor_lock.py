"""One coordinator per repository: a second `shopfloor run` names the one that holds the floor."""

from __future__ import annotations

import json
import os
import signal
import subprocess

from conftest import SHOPFLOOR, Runner
from shopfloor.floor.lock import holder_text
from workerkit import until


def test_a_second_run_is_refused_naming_the_first_and_a_killed_one_frees_the_floor(floor: Runner) -> None:
    scenario = floor.cwd.parent / "nothing.json"
    scenario.write_text(json.dumps({"scripts": [{"match": "nothing", "turns": [{"text": "done"}]}]}))
    env = {**floor.env, "SHOPFLOOR_SCENARIO": str(scenario)}
    argv = [str(SHOPFLOOR), "run", "--agent", "scripted", "--builtins-only", "--terminal", "detached"]
    first = subprocess.Popen(argv, cwd=floor.cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lock = floor.cwd / ".git" / "shopfloor" / "floor.lock"
    try:
        until(lambda: lock.exists() and f'"pid": {first.pid}' in lock.read_text(), "the first run to hold the lock")
        issue = floor.json("create", "ready work")["id"]
        second = floor("run", "--agent", "scripted", "--builtins-only", "--until-idle", check=False, env=env)
        assert second.returncode == 4
        assert second.stderr.startswith("error: another `shopfloor run` holds this repository's floor (pid ")
        assert f"pid {first.pid} on " in second.stderr and len(second.stderr.strip().splitlines()) == 1
        assert floor.json("show", issue)["status"] in ("open", "in_progress")  # only the first may claim it
    finally:
        os.kill(first.pid, signal.SIGKILL)  # a crash: the kernel releases the lock
        first.wait(timeout=30)
    third = floor("run", "--agent", "scripted", "--builtins-only", "--until-idle", check=False, env=env)
    assert "holds this repository's floor" not in third.stderr


def test_the_holder_in_words() -> None:
    assert holder_text({"pid": 7, "host": "box", "since": "2026-01-01T00:00:00Z"}) == (
        "pid 7 on box since 2026-01-01T00:00:00Z"
    )
    assert holder_text({}) == "pid ? on ? since ?"
