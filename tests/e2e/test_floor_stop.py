"""Stopping the floor (issue 12, item 7): Ctrl-C and SIGTERM say the workers keep running and how to
end them; `shopfloor stop` ends the coordinator and every agent with its work saved, and the next
run resumes the stopped session and lands it."""

from __future__ import annotations

import json
import signal
import subprocess

from conftest import SHOPFLOOR, Runner
from shopfloor.floor.stopping import holder
from workerkit import until

RUN = ("run", "--agent", "scripted", "--builtins-only", "--terminal", "detached", "--until-idle")


def _coordinator(floor: Runner, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(SHOPFLOOR), *RUN], cwd=floor.cwd, env={**floor.env, **env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _holds_floor(floor: Runner) -> bool:
    return holder(floor.cwd / ".git" / "shopfloor") is not None


def test_sigterm_and_ctrl_c_leave_workers_running_and_stop_ends_them_with_their_work_saved(floor: Runner) -> None:
    sid = floor.json("create", "Add a")["id"]
    marker = floor.cwd.parent / "may-finish"
    turns = [
        {"tool": {"name": "Write", "input": {"file_path": "a.txt", "content": "a\n"}}},
        {"tool": {"name": "Bash", "input": {"command": f"until test -e {marker}; do sleep 0.1; done"}}},
        {"tool": {"name": "Bash", "input": {"command": "git add a.txt && git commit -qm 'add a' || true"}}},
        {"text": "done"},
    ]
    scenario = floor.cwd.parent / "scenario.json"
    scenario.write_text(json.dumps({"scripts": [{"match": sid, "turns": turns}]}))
    env = {"SHOPFLOOR_SCENARIO": str(scenario)}
    workspace = floor.cwd.parent / "repo.floor" / sid

    def running() -> bool:
        workers = floor.json("worker", "list")
        return bool(workers) and workers[0]["state"] == "running" and (workspace / "a.txt").exists()

    for how, sig, code in (("SIGTERM", signal.SIGTERM, 143), ("Ctrl-C", signal.SIGINT, 130)):
        coordinator = _coordinator(floor, env)
        until(lambda: running() and _holds_floor(floor), "a running worker under a coordinator")
        coordinator.send_signal(sig)
        out, err = coordinator.communicate(timeout=60)
        assert coordinator.returncode == code, out + err
        assert f"stopped by {how}: 1 worker(s) keep running ({sid})" in err
        assert "`shopfloor stop` ends them with their work saved" in err
        assert floor.json("worker", "list")[0]["state"] == "running"  # the agent was not interrupted

    coordinator = _coordinator(floor, env)
    until(lambda: _holds_floor(floor), "the coordinator to hold the floor")
    stopped = floor.json("stop", "--wait", "20")
    coordinator.communicate(timeout=60)
    assert coordinator.returncode == 143  # it stopped as on SIGTERM
    assert stopped["coordinator"]["signal"] == "SIGTERM" and stopped["coordinator"]["pid"] == coordinator.pid
    [ended] = stopped["workers"]
    assert ended["issue"] == sid and ended["wip_commit"]
    assert floor.json("worker", "list")[0]["state"] == "killed"
    # The agent's uncommitted file is saved on its branch, in the main repository.
    assert floor.git("show", f"{ended['wip_commit']}:a.txt") == "a"
    assert floor.git("rev-parse", f"floor/{sid}") == ended["wip_commit"]
    again = floor.json("stop")
    assert again == {"coordinator": None, "workers": []}

    marker.write_text("")
    done = subprocess.run(
        [str(SHOPFLOOR), *RUN], cwd=floor.cwd, env={**floor.env, **env}, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stopped by `shopfloor stop`; resuming its session" in done.stdout
    assert "): stopped by `shopfloor stop`; its session resumes next" in done.stdout  # the adoption line says so
    issue = floor.json("show", sid)
    assert issue["status"] == "closed"
    outcomes = [a["outcome"] for a in issue["attempts"]]
    assert outcomes[0] == "stopped" and "crashed" not in " ".join(o or "" for o in outcomes)
    assert floor.git("show", "main:a.txt") == "a"
    figures = floor.json("metrics")  # the stop was a person's, not a failed pass
    assert (figures["attempts"], figures["first_pass_yield"]) == (1, 1.0)


def test_stop_refuses_a_bad_wait_and_changes_nothing(floor: Runner) -> None:
    done = floor("stop", "--wait", "0", check=False)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: --wait must be from 0 to 3600 seconds, not 0: give a number of seconds"
    assert floor("stop").stdout.strip() == "nothing to stop: no coordinator runs and no worker is running"
    assert not _holds_floor(floor)
