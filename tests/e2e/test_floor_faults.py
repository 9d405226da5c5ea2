"""The coordinator killed at each named point of a worker's life: the issue still lands exactly once
(issue 12, item 1). The kills are real SIGKILLs, at crash points the code names (``shopfloor.faults``)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from conftest import SHOPFLOOR, Runner
from shopfloor.faults import POINTS
from workerkit import until

RUN = ("run", "--agent", "scripted", "--builtins-only", "--terminal", "detached", "--until-idle")


def _run(floor: Runner, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    """One ``shopfloor run``, with a deadline: a floor that never goes idle fails the test, not the suite."""
    return subprocess.run(
        [str(SHOPFLOOR), *RUN, *extra], cwd=floor.cwd, env={**floor.env, **env}, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def _scenario(floor: Runner, issue: str, *, pause: float) -> Path:
    turns = [
        {"tool": {"name": "Write", "input": {"file_path": "a.txt", "content": "a\n"}}},
        {"tool": {"name": "Bash", "input": {"command": f"sleep {pause} && git add a.txt && git commit -qm 'add a'"}}},
        {"text": "done"},
    ]
    path = floor.cwd.parent / "scenario.json"
    path.write_text(json.dumps({"scripts": [{"match": issue, "turns": turns}]}))
    return path


def test_a_coordinator_killed_at_every_point_of_a_workers_life_lands_the_issue_exactly_once(floor: Runner) -> None:
    sid = floor.json("create", "Add a")["id"]
    scenario = _scenario(floor, sid, pause=2)  # long enough for a turn to see the agent running
    env = {"SHOPFLOOR_SCENARIO": str(scenario)}
    said = []
    # One issue goes through every point in order: each run dies at the next one (its earlier
    # points are behind the issue by then), and the run after it carries on from what it left.
    for point in POINTS:
        done = _run(floor, {**env, "SHOPFLOOR_FAULT": point})
        assert done.returncode == -9, f"the run was not killed at {point!r}: {done.stdout}{done.stderr}"
        said.append(done.stdout)
    done = _run(floor, env)
    assert done.returncode == 0, done.stdout + done.stderr
    issue = floor.json("show", sid)
    assert issue["status"] == "closed" and issue["close_reason"].startswith("merged to main as ")
    assert floor.git("show", "main:a.txt") == "a"
    assert len(floor.git("log", "--format=%H", "main", "--", "a.txt").splitlines()) == 1  # landed once
    merged = [e for e in floor.json("queue", "list", "--all") if e["state"] == "merged"]
    assert len(merged) == 1
    # What each restart found, and said: the claim with no worker went back; the start killed in
    # its setup was started again; the workers left running were adopted.
    assert "no worker started" in said[1]
    assert "its worker never started" in said[2]
    assert "adopted worker" in said[3] and "adopted worker" in done.stdout


def test_work_finished_while_the_coordinator_was_down_past_its_lease_is_gated_and_lands(floor: Runner) -> None:
    sid = floor.json("create", "Add a")["id"]
    env = {"SHOPFLOOR_SCENARIO": str(_scenario(floor, sid, pause=0))}
    killed = _run(floor, {**env, "SHOPFLOOR_FAULT": "launch"}, "--lease", "2s")
    assert killed.returncode == -9, killed.stdout + killed.stderr
    until(lambda: [w for w in floor.json("worker", "list") if w["state"] == "done"], "the orphaned worker to finish")
    time.sleep(2.5)  # the lease runs out while nobody renews it
    assert floor.json("show", sid)["status"] == "open"  # any command returns an expired lease to ready
    done = _run(floor, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "claimed again" in done.stdout
    assert floor.json("show", sid)["status"] == "closed"
    assert floor.git("show", "main:a.txt") == "a"


def test_a_lock_another_git_holds_is_waited_out_and_a_lost_compare_and_swap_is_not() -> None:
    from shopfloor.git import locked

    assert locked("error: could not lock config file .git/config: File exists")
    assert locked("fatal: Unable to create '/r/.git/refs/heads/main.lock': File exists.")
    assert not locked("fatal: cannot lock ref 'refs/heads/main': is at 1234 but expected 5678")
    assert not locked("fatal: not a git repository")
