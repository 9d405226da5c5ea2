"""States a crash leaves behind have a way forward on the next turn (issue 12, item 1)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from conftest import SHOPFLOOR, Runner


def test_a_worker_whose_start_was_killed_during_setup_is_started_again_and_lands(floor: Runner) -> None:
    marker = floor.cwd.parent / "setup-may-finish"
    config = floor.cwd / ".shopfloor" / "config.toml"
    setup = json.dumps([["sh", "-c", f"test -e {marker} || sleep 30"]])
    config.write_text(config.read_text() + f"\n[workspace]\nsetup = {setup}\n")
    floor.git("commit", "-qam", "a slow setup")
    sid = floor.json("create", "Add a")["id"]
    turns = [
        {"tool": {"name": "Write", "input": {"file_path": "a.txt", "content": "a\n"}}},
        {"tool": {"name": "Bash", "input": {"command": "git add -A && git commit -qm 'add a'"}}},
        {"text": "done"},
    ]
    scenario = floor.cwd.parent / "a.json"
    scenario.write_text(json.dumps({"scripts": [{"match": sid, "turns": turns}]}))
    env = {**floor.env, "SHOPFLOOR_SCENARIO": str(scenario), "SHOPFLOOR_ACTOR": "floor"}
    # A start killed while its setup runs: a worker row, a claim, and no launch spec.
    start = subprocess.Popen(
        [str(SHOPFLOOR), "worker", "start", sid, "--agent", "scripted", "--terminal", "detached"],
        cwd=floor.cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not floor.json("worker", "list") and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(start.pid, signal.SIGKILL)
    start.wait(timeout=30)
    assert not (floor.cwd / ".git" / "shopfloor" / "workers" / sid / "spec.json").exists()
    marker.write_text("")
    done = floor(
        "run", "--agent", "scripted", "--builtins-only", "--terminal", "detached", "--until-idle",
        env={"SHOPFLOOR_SCENARIO": str(scenario)}, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "its worker never started" in done.stdout
    assert floor.json("show", sid)["status"] == "closed"
    assert floor.git("show", "main:a.txt") == "a"
