"""Workers end to end with the scripted agent: real git worktrees, real tmux, real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import Runner
from gatekit import gone_soon
from workerkit import commit_turn, issue, pane_log, scenario, start, until, wait_for, workers

LIST_FIELDS = {
    "name",
    "issue",
    "branch",
    "worktree",
    "agent",
    "state",
    "session_id",
    "context_used",
    "tokens",
    "cost_usd",
    "started_at",
    "last_event_at",
}


def test_a_scripted_worker_commits_on_its_branch_and_reports_usage(floor: Runner) -> None:
    sid = issue(floor)
    turns = [
        *commit_turn("hello.txt", "hi\n", "add hello"),
        {
            "text": "Added hello.txt.",
            "usage": {"input_tokens": 1500, "output_tokens": 20, "cache_read_input_tokens": 18500},
        },
    ]
    plan = scenario(
        floor, [{"match": sid, "turns": turns}], context_window=100_000, usd_per_mtok={"input": 3, "output": 15}
    )
    started = start(floor, sid, plan, "--terminal", "detached")
    assert started["branch"] == f"floor/{sid}" and started["terminal"] == "detached"
    worker = wait_for(floor, sid)
    assert set(worker) >= LIST_FIELDS
    assert worker["state"] == "done" and worker["exit_code"] == 0
    assert worker["context_used"] == (1500 + 18500) / 100_000
    assert worker["tokens"] == 1000 + 40 + 1200 + 30 + 1500 + 20 + 18500
    assert worker["cost_usd"] > 0 and worker["session_id"]
    worktree = Path(worker["worktree"])
    assert not str(worktree).startswith(str(floor.cwd) + "/")  # outside the main tree
    assert (worktree / "hello.txt").read_text() == "hi\n"
    # The commit is made in the worker's clone; its shim brought the branch back into the main
    # repository when the agent ended.
    assert floor.git("log", "-1", "--format=%s", f"floor/{sid}", cwd=worktree) == "add hello"
    assert floor.git("log", "-1", "--format=%s", f"floor/{sid}") == "add hello"
    assert floor.json("show", sid)["status"] == "in_progress"  # claimed for the actor
    raw = (Path(worker["log_dir"]) / "events.jsonl").read_text().splitlines()
    assert json.loads(raw[0])["type"] == "system" and json.loads(raw[-1])["type"] == "result"
    log = pane_log(worker)
    assert "tool  Write" in log and "text  Added hello.txt." in log and "worker done (exit status 0)" in log
    peek = floor.json("worker", "peek", sid, "-n", "2")
    assert len(peek["lines"]) == 2 and peek["lines"][-1].endswith("worker done (exit status 0)")


def test_a_tmux_worker_runs_in_a_session_named_for_its_repository(floor: Runner, git_repo, tmux_dir: str) -> None:
    sid = issue(floor)
    marker = floor.cwd.parent / "may-finish"  # the agent runs until the pane has been looked at
    wait = {"command": f"until test -e {marker}; do sleep 0.1; done"}
    plan = scenario(floor, [{"match": sid, "turns": [{"tool": {"name": "Bash", "input": wait}}, {"text": "slept"}]}])
    started = start(floor, sid, plan, "--terminal", "tmux")
    session = started["terminal"].removeprefix("tmux:")
    env = {**floor.env}
    listed = subprocess.run(
        ["tmux", "list-panes", "-t", session, "-F", "#{pane_pid}"], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert listed == [str(started["pid"])]  # the pane runs the shim itself, no shell in between
    # Another repository with a same-named issue gets another session.
    other = Runner(git_repo("other"), floor.env)
    other("init", "--prefix", "t")
    from shopfloor.workers.terminal import session_name

    assert session_name(str(other.cwd / ".git"), sid) != session
    marker.write_text("")
    worker = wait_for(floor, sid)
    assert worker["state"] == "done"
    capture = subprocess.run(
        ["tmux", "capture-pane", "-p", "-t", session], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "tool  Bash" in capture and "worker done (exit status 0)" in capture  # readable progress in the pane
    floor("worker", "rm", sid)
    gone = subprocess.run(["tmux", "has-session", "-t", session], env=env, capture_output=True)
    assert gone.returncode != 0


def test_a_worker_outlives_its_tmux_server_and_is_rediscovered(floor: Runner) -> None:
    sid = issue(floor)
    marker = floor.cwd.parent / "may-finish"  # the agent outlives the tmux server until this exists
    late = f"until test -e {marker}; do sleep 0.1; done; echo late > late.txt"
    turns = [{"tool": {"name": "Bash", "input": {"command": late}}}, {"text": "ok"}]
    start(floor, sid, scenario(floor, [{"match": sid, "turns": turns}]), "--terminal", "tmux")
    wait_for(floor, sid, {"running"})
    subprocess.run(["tmux", "kill-server"], env=floor.env, check=True)
    # A new shopfloor process finds it still running from the database and its pid.
    assert workers(floor)[sid]["state"] == "running"
    marker.write_text("")
    worker = wait_for(floor, sid)
    assert worker["state"] == "done"
    assert (Path(worker["worktree"]) / "late.txt").exists()
    assert floor.git("log", "-1", "--format=%s", f"floor/{sid}", cwd=Path(worker["worktree"])).startswith(f"wip: {sid}")


@pytest.mark.parametrize("confined", [True, False], ids=["sandboxed", "no-sandbox"])
def test_a_worker_whose_shim_vanished_is_lost_and_its_orphaned_agent_stopped(floor: Runner, confined: bool) -> None:
    sid = issue(floor)
    turns = [
        {"tool": {"name": "Write", "input": {"file_path": "partial.txt", "content": "partial\n"}}},
        {"tool": {"name": "Bash", "input": {"command": "sleep 30"}}},
        {"text": "never"},
    ]
    flags = () if confined else ("--no-sandbox",)
    start(floor, sid, scenario(floor, [{"match": sid, "turns": turns}]), "--terminal", "detached", *flags)
    running = wait_for(floor, sid, {"running"})
    until(lambda: "tool  Bash" in pane_log(running), "the agent to start its `sleep 30`")
    running = workers(floor)[sid]
    os.kill(running["pid"], signal.SIGKILL)  # only the shim: its agent is left without an owner
    worker = wait_for(floor, sid)
    assert worker["state"] == "lost"
    assert f"pid {running['pid']}" in worker["error"]
    # Unconfined, the floor finds the orphan and stops it; confined, bwrap (--die-with-parent)
    # took the agent down with its shim before anyone looked.
    assert confined or "has been stopped" in worker["error"]
    from shopfloor.workers import procs

    assert not procs.is_alive(running["agent_pid"], running["agent_pid_start"])
    assert (
        worker["wip_commit"]
        and floor.git("show", f"floor/{sid}:partial.txt", cwd=Path(worker["worktree"])) == "partial"
    )


def test_kill_saves_work_restart_resumes_the_session_and_rm_keeps_the_branch(floor: Runner) -> None:
    sid = issue(floor)
    turns = [
        {"tool": {"name": "Write", "input": {"file_path": "draft.txt", "content": "draft\n"}}},
        {"tool": {"name": "Bash", "input": {"command": "sleep 30"}}},
        # The resumed session goes on from here: turn N answers a conversation holding N model turns.
        {"tool": {"name": "Write", "input": {"file_path": "final.txt", "content": "final\n"}}},
        {"text": "finished after the restart"},
    ]
    start(floor, sid, scenario(floor, [{"match": sid, "turns": turns}]), "--terminal", "detached")
    first = wait_for(floor, sid, {"running"})
    until(lambda: "tool  Bash" in pane_log(first), "the agent to start its `sleep 30`")
    first = workers(floor)[sid]
    killed = floor.json("worker", "kill", sid)
    assert killed["state"] == "killed" and killed["wip_commit"]
    wip = floor.git("show", "--stat", "--format=%s", killed["wip_commit"], cwd=Path(killed["worktree"]))
    assert wip.startswith(f"wip: {sid}")
    restarted = floor.json("worker", "restart", sid)
    assert restarted["generation"] == 2
    done = wait_for(floor, sid)
    assert done["state"] == "done" and done["session_id"] == first["session_id"]  # the same session, resumed
    assert (Path(done["worktree"]) / "final.txt").exists()
    refused = floor("worker", "rm", sid, check=False)
    assert refused.returncode == 4 and "unmerged work" in refused.stderr
    assert Path(done["worktree"]).exists()
    floor("worker", "rm", sid, "--force")
    assert not Path(done["worktree"]).exists() and sid not in workers(floor)
    assert floor.git("show", f"floor/{sid}:final.txt") == "final"  # brought back: the branch and its commits stay
    assert floor.json("show", sid)["status"] == "open"  # the claim is released


def test_the_lease_is_renewed_while_the_agent_runs(floor: Runner) -> None:
    sid = issue(floor)
    turns = [{"tool": {"name": "Bash", "input": {"command": "sleep 4"}}}, {"text": "ok"}]
    start(floor, sid, scenario(floor, [{"match": sid, "turns": turns}]), "--terminal", "detached", "--lease", "2s")
    wait_for(floor, sid, {"running"})
    time.sleep(3)  # longer than the lease: without renewal the next command would return it to ready
    shown = floor.json("show", sid)
    assert shown["status"] == "in_progress" and shown["assignee"] == "tester"
    assert wait_for(floor, sid)["state"] == "done"


def test_workspace_config_copies_files_and_runs_setup_commands(floor: Runner) -> None:
    (floor.cwd / ".env").write_text("SECRET=1\n")
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(
        config.read_text() + '\n[workspace]\ncopy = [".env", "missing.txt"]\n'
        'setup = [["git", "config", "user.name", "Setup Ran"]]\n'
    )
    sid = issue(floor)
    plan = scenario(floor, [{"match": sid, "turns": [{"text": "nothing to do"}]}])
    done = floor(
        "worker", "start", sid, "--agent", "scripted", "--terminal", "detached", env={"SHOPFLOOR_SCENARIO": str(plan)}
    )
    assert "missing.txt does not exist" in done.stderr
    worker = wait_for(floor, sid)
    worktree = Path(worker["worktree"])
    assert (worktree / ".env").read_text() == "SECRET=1\n"
    assert floor.git("config", "user.name", cwd=worktree) == "Setup Ran"


def test_the_command_agent_gets_the_prompt_as_one_argument(floor: Runner) -> None:
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(
        config.read_text() + "\n[agents.command]\n"
        'argv = ["python3", "-c", "import sys; open(\'prompt.txt\', \'w\').write(sys.argv[1]); '
        'print(\'got it\')", "{prompt}"]\n'
    )
    sid = issue(floor, "$(touch pwned) `touch pwned2`; touch pwned3")
    floor("worker", "start", sid, "--agent", "command", "--terminal", "detached")
    worker = wait_for(floor, sid)
    worktree = Path(worker["worktree"])
    assert worker["state"] == "done"
    assert "$(touch pwned) `touch pwned2`; touch pwned3" in (worktree / "prompt.txt").read_text()
    assert not any(worktree.glob("pwned*")) and not any(floor.cwd.glob("pwned*"))
    assert "text  got it" in pane_log(worker)


def test_a_finished_tmux_worker_restarts_and_a_failed_resume_keeps_what_it_spent(floor: Runner) -> None:
    sid = issue(floor)
    turns = [
        {"text": "first run", "usage": {"input_tokens": 500, "output_tokens": 5}},
        {"text": "second run", "usage": {"input_tokens": 700, "output_tokens": 5}},
    ]
    start(floor, sid, scenario(floor, [{"match": sid, "turns": turns}]), "--terminal", "tmux")
    first = wait_for(floor, sid)
    assert first["state"] == "done" and first["tokens"] == 505
    floor.json("worker", "restart", sid)  # its window is still open (remain-on-exit): restart closes it
    second = wait_for(floor, sid)
    assert second["state"] == "done" and second["generation"] == 2
    assert second["session_id"] == first["session_id"] and second["tokens"] == 505 + 705
    # The session file disappears: the resume fails, but what was spent and the session stay recorded.
    home = Path(floor.env["HOME"]) / ".shopfloor" / "scripted" / f"{first['session_id']}.json"
    home.unlink()
    floor.json("worker", "restart", sid)
    third = wait_for(floor, sid)
    assert third["state"] == "failed" and "no session" in third["error"]
    assert third["session_id"] == first["session_id"] and third["tokens"] == 505 + 705


def test_an_agent_that_exits_while_its_children_hold_or_flood_the_pipe_is_done(floor: Runner) -> None:
    sid = issue(floor)
    # Background processes open the agent's own stdout (the shim's pipe) and outlive the agent:
    # one sits on it, one keeps writing to it. The agent runs in a pid namespace of its own, so
    # they are found from here by a marker in their command lines, not by the pids they see.
    holder, chatter = f"holder-{uuid.uuid4().hex}", f"chatter-{uuid.uuid4().hex}"
    hold = f"sh -c 'sleep 120; true' {holder} >/proc/$PPID/fd/1 2>/dev/null </dev/null &"
    chat = f"sh -c 'while true; do echo tick; sleep 0.2; done' {chatter} >/proc/$PPID/fd/1 2>/dev/null </dev/null &"
    turns = [
        {"tool": {"name": "Bash", "input": {"command": hold}}},
        {"tool": {"name": "Bash", "input": {"command": chat}}},
        {"text": "finished"},
    ]
    start(floor, sid, scenario(floor, [{"match": sid, "turns": turns}]), "--terminal", "detached")
    worker = wait_for(floor, sid, timeout=30)
    assert worker["state"] == "done" and "text  finished" in pane_log(worker)
    for marker in (holder, chatter):
        assert gone_soon(marker), f"{marker}: the agent's leftover process outlived the worker"


def test_agent_text_cannot_send_escape_sequences_to_a_terminal(floor: Runner) -> None:
    sid = issue(floor)
    turns = [{"text": "title\x1b]0;pwned\x07\x1b[2J done"}]
    start(floor, sid, scenario(floor, [{"match": sid, "turns": turns}]), "--terminal", "detached")
    worker = wait_for(floor, sid)
    log = pane_log(worker)
    assert "\x1b" not in log and "\x07" not in log and "title" in log
    assert "\x1b" not in floor("worker", "peek", sid).stdout


def test_rm_keeps_commits_made_on_a_detached_head(floor: Runner) -> None:
    sid = issue(floor)
    start(floor, sid, scenario(floor, [{"match": sid, "turns": [{"text": "nothing"}]}]), "--terminal", "detached")
    worker = wait_for(floor, sid)
    tree = Path(worker["worktree"])
    floor.git("checkout", "-q", "--detach", cwd=tree)
    (tree / "stray.txt").write_text("stray\n")
    floor.git("add", "stray.txt", cwd=tree)
    floor.git("commit", "-qm", "stray work", cwd=tree)
    stray = floor.git("rev-parse", "HEAD", cwd=tree)
    refused = floor("worker", "rm", sid, check=False)
    assert refused.returncode == 4 and "1 commit(s) on a detached HEAD" in refused.stderr
    floor("worker", "rm", sid, "--force")
    assert floor.git("rev-parse", f"refs/floor-wip/{sid}") == stray
