"""The floor end to end with the scripted agent: real workers, real gate, real queue."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import Runner
from workerkit import until

GATE = """
[gate]
builtins = ["protected-files"]

[[gate.check]]
name = "no-fixme"
argv = ["sh", "-c", "! grep -rq FIXME --include=*.txt ."]
timeout = 60
"""


def write_commit(path: str, text: str, message: str) -> list[dict[str, Any]]:
    return [
        {
            "tool": {"name": "Write", "input": {"file_path": path, "content": text}},
            "usage": {"input_tokens": 2000, "output_tokens": 50},
        },
        {
            "tool": {"name": "Bash", "input": {"command": f"git add -A && git commit -qm '{message}'"}},
            "usage": {"input_tokens": 2100, "output_tokens": 20},
        },
        {"text": f"{message}: done", "usage": {"input_tokens": 2200, "output_tokens": 10}},
    ]


def test_a_backlog_lands_in_order_with_a_second_pass_and_a_spiral(floor: Runner) -> None:
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + GATE)
    floor.git("add", "-A")
    floor.git("commit", "-qm", "gate")
    base = floor.git("rev-parse", "main")
    first = floor.json("create", "Add a", "-p", "1")["id"]
    second = floor.json("create", "Add b", "-p", "1", "--deps", f"blocks:{first}")["id"]
    refine = floor.json("create", "Add c", "-p", "2")["id"]
    stuck = floor.json("create", "Add d", "-p", "3")["id"]
    scripts = [
        {"match": first, "turns": write_commit("a.txt", "a\n", "add a")},
        {"match": second, "turns": write_commit("b.txt", "b\n", "add b")},
        {"match": refine, "turns": write_commit("c.txt", "c FIXME\n", "add c") + write_commit("c.txt", "c\n", "fix c")},
        {
            "match": stuck,
            "turns": write_commit("d.txt", "d FIXME\n", "add d")
            + write_commit("d.txt", "d FIXME again\n", "retry d")
            + write_commit("d.txt", "d FIXME\n", "retry d"),
        },
    ]
    scenario = floor.cwd.parent / "backlog.json"
    scenario.write_text(json.dumps({"scripts": scripts}))
    done = floor(
        "run",
        "--workers",
        "2",
        "--agent",
        "scripted",
        "--terminal",
        "detached",
        "--until-idle",
        "--json",
        env={"SHOPFLOOR_SCENARIO": str(scenario)},
        check=False,
    )
    assert done.returncode == 1, done.stderr  # it blocked an issue
    metrics = json.loads(done.stdout)
    status = {i: floor.json("show", i)["status"] for i in (first, second, refine, stuck)}
    assert status == {first: "closed", second: "closed", refine: "closed", stuck: "blocked"}, done.stderr
    # Each merged issue landed as one commit titled after it: b (which depends on a) after a; c's
    # rejected first commit and its fix are one commit, so main never held the FIXME.
    log = landed(floor, base)
    assert log.index("Add b") < log.index("Add a") and sorted(log) == ["Add a", "Add b", "Add c"], log
    touched_c = floor.git("log", "--format=%H", "main", "--", "c.txt").splitlines()
    assert len(touched_c) == 1 and floor.git("show", f"{touched_c[0]}:c.txt") == "c"
    c_commit = floor.git("log", "-1", "--format=%an|%cn|%(trailers:only,unfold)", "--grep=^Add c$", "main")
    assert c_commit.splitlines()[0] == f"worker/{refine}|shopfloor queue|Shopfloor-Issue: {refine}"
    assert "Shopfloor-Attempts: 2" in c_commit and "Gate-Run: " in c_commit
    assert "- add c\n- fix c" in floor.git("log", "-1", "--format=%B", "--grep=^Add c$", "main")
    assert metrics["merged"] == 3 and metrics["spirals"] == 1
    assert metrics["second_pass_rate"] == 1 / 3 and metrics["first_pass_yield"] == 2 / 3
    assert metrics["gate_failures_by_check"]["no-fixme"] >= 3
    blocked = floor.json("show", stuck)
    assert any("spiral" in c["text"] for c in blocked["comments"])
    # The second pass was the same session, resumed with the gate's report as its prompt.
    sessions = [p.read_text() for p in (Path(floor.env["HOME"]) / ".shopfloor" / "scripted").glob("*.json")]
    refined = [text for text in sessions if refine in text]
    assert len(refined) == 1 and "The independent gate re-checked your commit and says FAIL" in refined[0]
    assert "no-fixme: fail" in refined[0]
    assert floor.json("worker", "list") == []  # merged and blocked issues leave no worker behind
    tried = floor.json("show", refine)["attempts"]
    assert [a["verdict"] for a in tried] == ["fail", "pass"] and tried[0]["failed_checks"] == ["no-fixme"]
    assert "1 file changed" in tried[0]["diff_stat"]
    assert "attempts:" in floor("show", refine).stdout


WORK = ("--", ".", ":(exclude).shopfloor/issues.jsonl", ":(exclude).agents/retros")  # tracker commits are not landings


def landed(floor: Runner, base: str, fmt: str = "%s") -> list[str]:
    """What landed on main since ``base``, newest first, one line per commit (``fmt``)."""
    return floor.git("log", f"--format={fmt}", f"{base}..main", *WORK).splitlines()


def setup_gate(floor: Runner) -> None:
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + GATE)
    floor.git("add", "-A")
    floor.git("commit", "-qm", "gate")


def test_a_session_that_crosses_the_context_limit_hands_off_to_a_fresh_one(floor: Runner) -> None:
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + "\n[agents.scripted]\ncontext_window = 100000\n")
    setup_gate(floor)
    base = floor.git("rev-parse", "main")
    sid = floor.json("create", "Big job")["id"]
    heavy = [
        {
            "tool": {"name": "Write", "input": {"file_path": "part1.txt", "content": "part 1\n"}},
            "usage": {"input_tokens": 20_000, "output_tokens": 100},
        },  # 20% of a 100k window
        {
            "tool": {"name": "Bash", "input": {"command": "git add -A && git commit -qm 'part 1'"}},
            "usage": {"input_tokens": 30_000, "output_tokens": 100},
        },
        # Only once part 1 is committed does the context cross the limit (60%): the floor, which
        # wakes at once, ends the session while this turn sleeps.
        {
            "tool": {"name": "Bash", "input": {"command": "sleep 30"}},
            "usage": {"input_tokens": 60_000, "output_tokens": 100},
        },
        # Asked for a handoff note, the ending session writes one to the issue.
        {
            "tool": {
                "name": "Bash",
                "input": {"command": f"echo 'part 1 is done; write part 2 next' | shopfloor comment {sid} -"},
            }
        },
        {"text": "handoff note written"},
    ]
    scripts = [
        # The fresh session's prompt carries the handoff note: it finishes the job.
        {"match": "Handoff: the previous session", "turns": write_commit("part2.txt", "part 2\n", "part 2")},
        {"match": sid, "turns": heavy},
    ]
    scenario = floor.cwd.parent / "handoff.json"
    scenario.write_text(json.dumps({"context_window": 100_000, "scripts": scripts}))
    done = floor(
        "run",
        "--workers",
        "1",
        "--agent",
        "scripted",
        "--terminal",
        "detached",
        "--until-idle",
        "--json",
        env={"SHOPFLOOR_SCENARIO": str(scenario)},
    )
    metrics = json.loads(done.stdout)
    assert floor.json("show", sid)["status"] == "closed", done.stderr
    assert metrics["handoffs"] == 1 and metrics["merged"] == 1
    # Both sessions' commits landed as one commit, the issue's.
    assert landed(floor, base) == ["Big job"], done.stderr
    body = floor.git("log", "-1", "--format=%B", "main", *WORK)
    assert "- part 1\n- part 2" in body and f"Shopfloor-Issue: {sid}" in body
    comments = floor.json("show", sid)["comments"]
    assert any("Handoff:" in c["text"] for c in comments)
    assert any(c["text"].startswith("part 1 is done") and c["author"].startswith("worker/") for c in comments)
    # The fresh session was given the ending session's own note.
    sessions = [p.read_text() for p in (Path(floor.env["HOME"]) / ".shopfloor" / "scripted").glob("*.json")]
    fresh = [text for text in sessions if "The previous session's own note" in text]
    assert len(fresh) == 1 and "part 1 is done; write part 2 next" in fresh[0]


def test_a_session_that_fills_its_context_at_every_fresh_start_is_blocked_not_handed_off_for_ever(
    floor: Runner,
) -> None:
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + "\n[agents.scripted]\ncontext_window = 100000\n")
    setup_gate(floor)
    sid = floor.json("create", "Too big for one session")["id"]
    # Every session, fresh or not, reads 60% of its window at once and never gets to work.
    heavy = [
        {"tool": {"name": "Bash", "input": {"command": "sleep 30"}}, "usage": {"input_tokens": 60_000}},
        {"text": "my note: nothing done yet"},
    ]
    scenario = floor.cwd.parent / "full.json"
    scenario.write_text(json.dumps({"context_window": 100_000, "scripts": [{"match": sid, "turns": heavy}]}))
    done = run_floor(floor, scenario, blocks=True)
    shown = floor.json("show", sid)
    assert shown["status"] == "blocked", done.stdout + done.stderr
    assert "handoffs in a row with nothing gated" in done.stdout + done.stderr
    outcomes = [a["outcome"] for a in shown["attempts"]]
    assert outcomes == ["handoff", "handoff-note"] * 3 + ["handoff"], outcomes


def test_the_coordinator_killed_mid_run_resumes_without_duplicates(floor: Runner) -> None:
    import signal
    import subprocess

    from conftest import SHOPFLOOR

    setup_gate(floor)
    base = floor.git("rev-parse", "main")
    ids = [floor.json("create", f"Task {n}")["id"] for n in range(3)]
    marker = floor.cwd.parent / "may-finish"  # the agents work until the coordinator is dead
    slow = lambda name: [  # noqa: E731
        {"tool": {"name": "Write", "input": {"file_path": f"{name}.txt", "content": f"{name}\n"}}},
        {"tool": {"name": "Bash", "input": {"command": f"until test -e {marker}; do sleep 0.1; done"}}},
        {"tool": {"name": "Bash", "input": {"command": f"git add -A && git commit -qm 'add {name}'"}}},
        {"text": "done"},
    ]
    scenario = floor.cwd.parent / "slow.json"
    scenario.write_text(json.dumps({"scripts": [{"match": i, "turns": slow(i)} for i in ids]}))
    env = {**floor.env, "SHOPFLOOR_SCENARIO": str(scenario), "SHOPFLOOR_ACTOR": "floor"}
    argv = [str(SHOPFLOOR), "run", "--workers", "3", "--agent", "scripted", "--terminal", "detached", "--until-idle"]
    first = subprocess.Popen(argv, cwd=floor.cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def all_mid_run() -> bool:  # all three agents are inside their wait, their work not committed
        listed = floor.json("worker", "list")
        return len(listed) == 3 and all("until test -e" in (w["last_event"] or "") for w in listed)

    try:
        until(all_mid_run, "three workers waiting mid-run", timeout=120)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
        marker.write_text("")  # and now the agents may finish
    floor(*argv[1:], env={"SHOPFLOOR_SCENARIO": str(scenario), "SHOPFLOOR_ACTOR": "floor"})
    assert all(floor.json("show", i)["status"] == "closed" for i in ids)
    log = landed(floor, base)
    assert sorted(log) == [f"Task {n}" for n in range(3)]  # each issue landed once, as one commit


def test_a_worker_whose_agent_is_killed_mid_run_is_restarted_and_lands(floor: Runner) -> None:
    import os
    import signal
    import subprocess

    from conftest import SHOPFLOOR

    setup_gate(floor)
    base = floor.git("rev-parse", "main")
    sid = floor.json("create", "Survive a crash")["id"]
    turns = [
        {"tool": {"name": "Write", "input": {"file_path": "x.txt", "content": "x\n"}}},
        {"tool": {"name": "Bash", "input": {"command": "sleep 30"}}},  # killed during this
        {"tool": {"name": "Bash", "input": {"command": "git add -A && git commit -qm 'survived'"}}},
        {"text": "done"},
    ]
    scenario = floor.cwd.parent / "crash.json"
    scenario.write_text(json.dumps({"scripts": [{"match": sid, "turns": turns}]}))
    env = {**floor.env, "SHOPFLOOR_SCENARIO": str(scenario), "SHOPFLOOR_ACTOR": "floor"}
    argv = [
        str(SHOPFLOOR),
        "run",
        "--workers",
        "1",
        "--agent",
        "scripted",
        "--terminal",
        "detached",
        "--until-idle",
        "--json",
    ]
    coordinator = subprocess.Popen(
        argv, cwd=floor.cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )

    def inside_the_sleep() -> dict[str, Any] | None:
        # Killed only once its shim has seen it start the `sleep 30` call, which comes after the
        # Write: x.txt is on disk, and the kill lands mid-session. Before that there is nothing to save.
        listed = floor.json("worker", "list")
        if not listed or not listed[0]["agent_pid"] or "sleep 30" not in (listed[0]["last_event"] or ""):
            return None
        return listed[0] if (Path(listed[0]["worktree"]) / "x.txt").exists() else None

    worker = until(inside_the_sleep, "the agent to have written x.txt and started `sleep 30`", timeout=120)
    os.killpg(worker["agent_pid"], signal.SIGKILL)  # the agent dies mid-session
    _out, err = coordinator.communicate(timeout=120)
    assert coordinator.returncode == 0, err
    assert floor.json("show", sid)["status"] == "closed"
    tried = floor.json("show", sid)["attempts"]
    assert tried[0]["outcome"].startswith("crashed") and tried[-1]["verdict"] == "pass"
    # What the killed agent had written was saved as a wip: commit, and it landed with the resumed work.
    assert floor.git("show", "main:x.txt") == "x"
    assert landed(floor, base) == ["Survive a crash"]
    assert f"- wip: {sid}" in floor.git("log", "-1", "--format=%B", "main", *WORK)  # squashed into the issue's commit


def test_a_silent_worker_is_nudged_once_then_restarted_fresh(floor: Runner) -> None:
    setup_gate(floor)
    sid = floor.json("create", "Quiet one")["id"]
    silent = [
        {"tool": {"name": "Write", "input": {"file_path": "q.txt", "content": "q\n"}}},
        {"tool": {"name": "Bash", "input": {"command": "sleep 60"}}},
    ]
    scripts = [
        # After the nudge, the resumed session goes quiet again; the fresh session finishes.
        {"match": "Handoff: the previous session", "turns": write_commit("q2.txt", "q2\n", "finish quietly")},
        {"match": sid, "turns": [*silent, {"tool": {"name": "Bash", "input": {"command": "sleep 60"}}}]},
    ]
    scenario = floor.cwd.parent / "quiet.json"
    scenario.write_text(json.dumps({"scripts": scripts}))
    done = floor(
        "run",
        "--workers",
        "1",
        "--agent",
        "scripted",
        "--terminal",
        "detached",
        "--until-idle",
        "--stall-timeout",
        "2",
        env={"SHOPFLOOR_SCENARIO": str(scenario)},
    )
    assert "nudging it" in done.stdout and "restarting it fresh" in done.stdout
    assert floor.json("show", sid)["status"] == "closed"
    outcomes = [a["outcome"] for a in floor.json("show", sid)["attempts"]]
    assert outcomes[:2] == ["nudged", "restarted"]


def test_an_agent_that_says_done_is_gated_even_if_its_session_goes_on(floor: Runner) -> None:
    setup_gate(floor)
    sid = floor.json("create", "Say done")["id"]
    turns = [
        *write_commit("done.txt", "done\n", "finish early")[:2],
        {"tool": {"name": "Bash", "input": {"command": "shopfloor done --summary 'wrote done.txt'"}}},
        {"tool": {"name": "Bash", "input": {"command": "sleep 120"}}},  # and then it dawdles
        {"text": "never reached"},
    ]
    scenario = floor.cwd.parent / "done.json"
    scenario.write_text(json.dumps({"scripts": [{"match": sid, "turns": turns}]}))
    done = floor(
        "run",
        "--workers",
        "1",
        "--agent",
        "scripted",
        "--terminal",
        "detached",
        "--until-idle",
        env={"SHOPFLOOR_SCENARIO": str(scenario)},
    )
    assert "the agent said done" in done.stdout
    shown = floor.json("show", sid)
    assert shown["status"] == "closed" and any(c["text"] == "done: wrote done.txt" for c in shown["comments"])
    assert shown["attempts"][0]["verdict"] == "pass"
    outside = floor("done", "t-zzzz", check=False)
    assert outside.returncode == 3
    nowhere = floor("done", check=False)
    assert nowhere.returncode == 2 and "SHOPFLOOR_ISSUE" in nowhere.stderr


def test_the_context_limit_is_per_agent_unless_given(floor: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    from shopfloor.floor.coordinator import FloorConfig, limit_for
    from shopfloor.tracker.service import Tracker

    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + "\n[agents.scripted]\ncontext_limit = 0.9\n")
    monkeypatch.chdir(floor.cwd)
    tracker = Tracker.open("floor", str(floor.cwd))
    try:
        assert limit_for(tracker, FloorConfig(), "scripted") == 0.9
        assert limit_for(tracker, FloorConfig(), "claude") == 0.40  # the 40% rule by default
        assert limit_for(tracker, FloorConfig(context_limit=0.3), "scripted") == 0.3
    finally:
        tracker.close()


def test_a_pass_the_queue_cannot_land_goes_back_to_its_session(floor: Runner) -> None:
    setup_gate(floor)
    (floor.cwd / "shared.txt").write_text("one\n")
    floor.git("add", "shared.txt")
    floor.git("commit", "-qm", "shared file")
    first = floor.json("create", "Edit shared, first", "-p", "1")["id"]
    second = floor.json("create", "Edit shared, second", "-p", "1")["id"]
    redo = "git reset -q --hard main && echo second > other.txt && git add -A && git commit -qm 'redo second'"
    scripts = [
        {"match": first, "turns": write_commit("shared.txt", "first\n", "first edit")},
        {
            "match": second,
            "turns": [
                after_landing(first),  # workers start together: the first must land first, to clash
                *write_commit("shared.txt", "second\n", "second edit"),
                # Sent back by the queue with the conflict: start again from main.
                {"tool": {"name": "Bash", "input": {"command": redo}}},
                {"text": "redone on top of main"},
            ],
        },
    ]
    scenario = floor.cwd.parent / "clash.json"
    scenario.write_text(json.dumps({"scripts": scripts}))
    done = floor(
        "run",
        "--workers",
        "2",
        "--agent",
        "scripted",
        "--terminal",
        "detached",
        "--until-idle",
        env={"SHOPFLOOR_SCENARIO": str(scenario)},
    )
    assert "the merge queue says conflict" in done.stdout
    assert floor.json("show", first)["status"] == "closed" and floor.json("show", second)["status"] == "closed"
    assert floor.git("show", "main:other.txt") == "second"


def after_landing(issue: str) -> dict[str, Any]:
    """A scripted turn that waits until ``issue`` is closed (asked through the tracker, as an agent
    asks): workers start together, so a test that needs one change to land first waits on that fact."""
    ask = f'until shopfloor show {issue} --json | grep -q \'"status": "closed"\'; do sleep 0.1; done'
    return {"tool": {"name": "Bash", "input": {"command": ask}}}


def test_a_branch_the_queue_keeps_refusing_is_blocked_not_looped(floor: Runner) -> None:
    setup_gate(floor)
    first = floor.json("create", "A", "-p", "1")["id"]
    second = floor.json("create", "B", "-p", "1")["id"]
    scripts = [  # B's agent does nothing about the conflict it is sent back with
        {"match": first, "turns": write_commit("same.txt", "from a\n", "add a")},
        {"match": second, "turns": [after_landing(first), *write_commit("same.txt", "from b\n", "add b")]},
    ]
    scenario = floor.cwd.parent / "refused.json"
    scenario.write_text(json.dumps({"scripts": scripts}))
    done = floor(
        "run",
        "--workers",
        "2",
        "--agent",
        "scripted",
        "--terminal",
        "detached",
        "--until-idle",
        env={"SHOPFLOOR_SCENARIO": str(scenario)},
        check=False,
    )
    assert done.returncode == 1, done.stderr  # it blocked an issue
    assert floor.json("show", first)["status"] == "closed"
    blocked = floor.json("show", second)
    assert blocked["status"] == "blocked", done.stdout[-2000:]
    assert any("merge queue could not land it" in c["text"] for c in blocked["comments"])


KILL_AFTER_VERDICT = """
import os, sys
import shopfloor.queue.entries as entries
entries.add = lambda *args, **kwargs: os._exit(9)  # the coordinator dies while it records a pass
from shopfloor.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_coordinator_killed_while_recording_a_pass_leaves_nothing_half_done_and_lands_it(floor: Runner) -> None:
    import subprocess
    import sys

    setup_gate(floor)
    sid = floor.json("create", "Land me")["id"]
    scenario = floor.cwd.parent / "verdict.json"
    scenario.write_text(json.dumps({"scripts": [{"match": sid, "turns": write_commit("v.txt", "v\n", "add v")}]}))
    env = {**floor.env, "SHOPFLOOR_SCENARIO": str(scenario)}
    args = ["run", "--workers", "1", "--agent", "scripted", "--terminal", "detached", "--until-idle"]
    first = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_VERDICT, *args],
        cwd=floor.cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert first.returncode == 9
    # The gate run, the attempt's verdict and the queue entry are one transaction: the kill left none
    # of them (no half-recorded pass that needs a repair path), and the next run gates it again.
    attempt = floor.json("show", sid)["attempts"][0]
    assert attempt["outcome"] is None and attempt["gate_run"] is None and floor.json("queue", "list") == []
    floor(*args, env={"SHOPFLOOR_SCENARIO": str(scenario)})
    assert floor.json("show", sid)["status"] == "closed"
    assert floor.git("show", "main:v.txt") == "v"


def scripted_sessions(floor: Runner) -> list[str]:
    return [p.read_text() for p in (Path(floor.env["HOME"]) / ".shopfloor" / "scripted").glob("*.json")]


def run_floor(floor: Runner, scenario: Path, *extra: str, blocks: bool = False) -> Any:
    done = floor(
        "run", "--workers", "1", "--agent", "scripted", "--terminal", "detached", "--until-idle", *extra,
        env={"SHOPFLOOR_SCENARIO": str(scenario)}, check=False,
    )  # fmt: skip
    # A run that ends with issues it blocked exits 1 (its summary says which and why), otherwise 0.
    assert done.returncode == (1 if blocks else 0), done.stdout + done.stderr
    return done


def test_an_agent_cannot_close_its_issue_its_work_is_gated_and_the_queue_closes_it(floor: Runner) -> None:
    setup_gate(floor)
    base = floor.git("rev-parse", "main")
    sid = floor.json("create", "Add e")["id"]
    # The agent commits a change the gate refuses, then tries to close its own issue (as an old
    # `shopfloor prime` told it to); sent back with the gate's report, it fixes the change.
    turns = [
        *write_commit("e.txt", "e FIXME\n", "add e")[:2],
        {"tool": {"name": "Bash", "input": {"command": f"shopfloor close {sid} --reason 'all done'"}}},
        {"text": "closed it"},
        *write_commit("e.txt", "e\n", "fix e"),
    ]
    scenario = floor.cwd.parent / "close.json"
    scenario.write_text(json.dumps({"scripts": [{"match": sid, "turns": turns}]}))
    done = run_floor(floor, scenario)
    shown = floor.json("show", sid)
    assert shown["status"] == "closed" and shown["close_reason"].startswith("merged to main as "), done.stdout
    assert not [e for e in shown["events"] if e["kind"] == "closed" and e["actor"].startswith("worker/")]
    assert [(a["verdict"], a["outcome"]) for a in shown["attempts"]] == [("fail", "failed"), ("pass", "merged")]
    assert floor.git("show", "main:e.txt") == "e" and landed(floor, base) == ["Add e"]
    assert f"{sid}: merged; its worker is removed" in done.stdout
    # The agent was told why, and what to do instead.
    session = next(s for s in scripted_sessions(floor) if sid in s)
    assert "refused: a worker may not close issues" in session and "shopfloor done" in session


def test_an_agent_may_not_close_or_reopen_an_issue_by_any_command(floor: Runner) -> None:
    sid = floor.json("create", "Mine")["id"]
    agent = f"worker/{sid}"
    for args in (("close", sid), ("update", sid, "-s", "closed")):
        refused = floor(*args, actor=agent, check=False)
        assert refused.returncode == 4 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert "may not close an issue: commit on your branch and run `shopfloor done`" in refused.stderr
        assert "the merge queue closes the issue when the work lands" in refused.stderr
    assert floor.json("show", sid)["status"] == "open"
    floor("close", sid)  # a person may
    for args in (("reopen", sid), ("update", sid, "-s", "open")):
        refused = floor(*args, actor=agent, check=False)
        assert refused.returncode == 4 and "may not reopen an issue" in refused.stderr, refused.stderr
    assert floor.json("show", sid)["status"] == "closed"
    floor("update", sid, "-s", "open")  # so may a person (and an agent may still block its issue)
    floor("update", sid, "-s", "blocked", actor=agent)
    # Setting it open again would release the floor's claim, and its committed work would never be gated.
    released = floor("update", sid, "-s", "open", actor=agent, check=False)
    assert released.returncode == 4 and "may not set an issue's status to open" in released.stderr
    assert floor.json("show", sid)["status"] == "blocked"
    prime = floor("prime", "--worker").stdout  # what a worker is told: done, never close
    assert "shopfloor done" in prime and "close" not in prime


def test_an_issue_closed_outside_the_queue_is_not_merged_and_its_branch_is_kept(floor: Runner) -> None:
    setup_gate(floor)
    sid = floor.json("create", "Add g")["id"]
    # A person closes the issue while its agent works (the agent asks for it, and waits for it:
    # an agent posing as a person is refused by its worker channel, see test_channel).
    wait = f"shopfloor comment {sid} 'close me'; until shopfloor show {sid} --json | grep -q '\"status\": \"closed\"'"
    turns = [
        *write_commit("g.txt", "g\n", "add g")[:2],
        {"tool": {"name": "Bash", "input": {"command": f"{wait}; do sleep 0.2; done"}}},
        {"text": "it was closed"},
    ]
    scenario = floor.cwd.parent / "outside.json"
    scenario.write_text(json.dumps({"scripts": [{"match": sid, "turns": turns}]}))

    def close_when_asked() -> None:
        for _ in range(600):
            if any(c["text"] == "close me" for c in floor.json("show", sid)["comments"]):
                floor("close", sid, actor="alice")
                return
            time.sleep(0.1)

    person = threading.Thread(target=close_when_asked, daemon=True)
    person.start()
    done = run_floor(floor, scenario)
    person.join()
    assert f"{sid}: closed by alice without landing; its branch floor/{sid} is kept" in done.stdout, done.stdout
    assert f"{sid}: merged" not in done.stdout
    assert floor.git("show", f"floor/{sid}:g.txt") == "g"  # the work is on its branch
    assert floor.git("ls-tree", "--name-only", "main", "g.txt") == ""  # and not on main
    assert floor.json("queue", "list", "--all") == [] and floor.json("worker", "list") == []


def test_a_spiral_blocks_with_the_failing_finding_and_the_last_gate_run(floor: Runner) -> None:
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + GATE.replace("grep -rq", "grep -rn"))  # the check prints its finding
    floor.git("add", "-A")
    floor.git("commit", "-qm", "gate")
    sid = floor.json("create", "Add d")["id"]
    turns = write_commit("d.txt", "d FIXME\n", "add d") + write_commit("d.txt", "d FIXME again\n", "retry d")
    scenario = floor.cwd.parent / "spiral.json"
    scenario.write_text(json.dumps({"scripts": [{"match": sid, "turns": turns}]}))
    done = run_floor(floor, scenario, "--max-attempts", "2", blocks=True)
    shown = floor.json("show", sid)
    assert shown["status"] == "blocked", done.stdout
    assert [a["outcome"] for a in shown["attempts"]] == ["failed", "spiral"]
    last_run = shown["attempts"][-1]["gate_run"]
    comment = next(c["text"] for c in shown["comments"] if c["text"].startswith("The floor stopped this issue"))
    assert f"Last gate run: {last_run} (`shopfloor gate show {last_run}`)" in comment, comment
    assert "no-fixme: fail" in comment and "d.txt:1:d FIXME again" in comment
    assert "- attempt 2: gate fail (failed: no-fixme), outcome spiral" in comment
    assert "outcome failed" in comment.splitlines()[-2] and len(comment.splitlines()) < 30
