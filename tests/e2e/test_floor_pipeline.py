"""The floor as a pipeline (issue 13): gates run beside the loop, up to ``--gate-jobs`` at once.

Through the real CLI, the scripted agent and a real gate check that takes a while: the gate runs
of two agents that finish together overlap in time (the loop did not wait for the first), and
``--gate-jobs 1`` makes them take turns.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conftest import SHOPFLOOR, Runner
from test_floor import GATE, write_commit
from workerkit import until

SLOW_GATE = """
[gate]
builtins = ["protected-files"]

[[gate.check]]
name = "slow"
argv = ["sh", "-c", "sleep 2"]
timeout = 60
"""


def _attempt_gates(floor: Runner, ids: list[str]) -> list[tuple[float, float]]:
    """(start, end) of each issue's attempt gate runs, in epoch seconds."""
    from shopfloor.tracker.clock import epoch

    runs = [r for r in floor.json("gate", "list", "-n", "50") if r["issue"] in ids and r["rev"].startswith("floor/")]
    return sorted((epoch(r["created_at"]) - r["duration_s"], epoch(r["created_at"])) for r in runs)


def _overlap(spans: list[tuple[float, float]]) -> bool:
    return any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans))


def _two_issues(floor: Runner, tag: str) -> list[str]:
    ids = [floor.json("create", f"{tag} {n}")["id"] for n in (1, 2)]
    scripts: list[dict[str, Any]] = [{"match": i, "turns": write_commit(f"{i}.txt", f"{i}\n", f"add {i}")} for i in ids]
    (floor.cwd.parent / f"{tag}.json").write_text(json.dumps({"scripts": scripts}))
    return ids


def _run(floor: Runner, tag: str, *extra: str) -> str:
    done = floor(
        "run", "--workers", "2", "--agent", "scripted", "--terminal", "detached", "--until-idle", *extra,
        env={"SHOPFLOOR_SCENARIO": str(floor.cwd.parent / f"{tag}.json")}, timeout=180,
    )  # fmt: skip
    return str(done.stdout)


def test_gates_run_beside_the_loop_and_gate_jobs_bounds_how_many_at_once(floor: Runner) -> None:
    _configure(floor, SLOW_GATE, "a slow gate")

    one = _two_issues(floor, "one")
    out = _run(floor, "one", "--gate-jobs", "1")
    spans = _attempt_gates(floor, one)
    assert len(spans) == 2 and not _overlap(spans), (spans, out)  # one gate at a time: they take turns

    pair = _two_issues(floor, "pair")
    out = _run(floor, "pair")  # the default: at least 2 gates at once
    spans = _attempt_gates(floor, pair)
    assert len(spans) == 2 and _overlap(spans), (spans, out)  # the second gate began before the first ended
    for issue in one + pair:
        assert floor.json("show", issue)["status"] == "closed"


def _configure(floor: Runner, toml: str, message: str) -> None:
    """Append ``toml`` to the floor's config and commit it on main (the gate reads it from there)."""
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + toml)
    floor.git("add", "-A")
    floor.git("commit", "-qm", message)


@contextlib.contextmanager
def _in_background(floor: Runner, scenario: Path, workers: int, release: Path) -> Iterator[subprocess.Popen[str]]:
    """The floor running while the test acts; whatever happens, ``release`` (a file the test's
    scenario or gate waits for) is written and the floor does not outlive the test."""
    coordinator = _start(floor, scenario, workers)
    try:
        yield coordinator
    finally:
        release.write_text("")
        if coordinator.poll() is None:
            coordinator.kill()


def _start(floor: Runner, scenario: Path, workers: int) -> subprocess.Popen[str]:
    """`shopfloor run --until-idle` in the background, so the test can watch it and act meanwhile."""
    args = ["run", "--workers", str(workers), "--agent", "scripted", "--terminal", "detached", "--until-idle"]
    return subprocess.Popen(
        [str(SHOPFLOOR), *args], cwd=floor.cwd, env={**floor.env, "SHOPFLOOR_SCENARIO": str(scenario)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _sleeping(mark: str) -> bool:
    return subprocess.run(["pgrep", "-f", mark], capture_output=True).returncode == 0


def test_a_floor_stopped_while_a_gate_runs_kills_its_checks_and_records_no_verdict(floor: Runner) -> None:
    """A gate in the pool is killed with the floor: what its killed checks returned is no verdict
    (recording it would fail the agent's attempt for the floor's own stop); the next run gates it."""
    import signal

    mark = "31.4159"  # this test's own sleep, to find its process
    release = floor.cwd.parent / "gate-may-pass"
    gate = f'\n[[gate.check]]\nname = "held"\nargv = ["sh", "-c", "test -e {release} || sleep {mark}"]\ntimeout = 90\n'
    _configure(floor, SLOW_GATE + gate, "a gate that waits")
    (sid,) = [floor.json("create", "Held at the gate")["id"]]
    scenario = floor.cwd.parent / "held.json"
    scenario.write_text(json.dumps({"scripts": [{"match": sid, "turns": write_commit("h.txt", "h\n", "add h")}]}))
    coordinator = _start(floor, scenario, 1)
    until(lambda: _sleeping(mark), "the gate's check to be running")
    # `status` shows what the gate pool is doing (no row says "being gated now": the floor says it).
    lanes = until(lambda: floor.json("status")["lanes"], "the running floor's lanes in `status --json`")
    assert [g["issue"] for g in lanes["gating"]] == [sid] and lanes["gate_jobs"] >= 2, lanes
    assert f"gates: 1 of {lanes['gate_jobs']} running: {sid}" in floor("status").stdout
    coordinator.send_signal(signal.SIGTERM)
    out, err = coordinator.communicate(timeout=60)
    assert coordinator.returncode == 143, out + err
    assert floor.json("status")["lanes"] is None  # an ended floor runs no lanes
    assert not _sleeping(mark), "the gate's check outlived the floor"
    attempt = floor.json("show", sid)["attempts"][0]
    assert attempt["verdict"] is None and attempt["outcome"] is None, attempt  # not failed for our stop
    assert [r for r in floor.json("gate", "list") if r["issue"] == sid] == []
    release.write_text("")
    again = ["run", "--workers", "1", "--agent", "scripted", "--terminal", "detached", "--until-idle"]
    floor(*again, env={"SHOPFLOOR_SCENARIO": str(scenario)}, timeout=180)
    assert floor.json("show", sid)["status"] == "closed"


def test_a_change_in_the_queue_takes_no_slot_the_next_issue_starts_while_it_lands(floor: Runner) -> None:
    """One worker slot, two issues: the second is claimed while the queue still gates the first
    (its agent has ended; the slot is free), not after the first lands."""
    _configure(floor, SLOW_GATE, "a slow gate")
    first, second = (floor.json("create", title)["id"] for title in ("Land first", "Start meanwhile"))
    moved = floor.cwd.parent / "target-moved"
    wait = {"tool": {"name": "Bash", "input": {"command": f"until test -e {moved}; do sleep 0.1; done"}}}
    scripts = [
        # The target moves while the first agent works, so the queue gates its pass again (no reuse).
        {"match": first, "turns": [wait, *write_commit("a.txt", "a\n", "add a")]},
        {"match": second, "turns": write_commit("b.txt", "b\n", "add b")},
    ]
    scenario = floor.cwd.parent / "slots.json"
    scenario.write_text(json.dumps({"scripts": scripts}))
    coordinator = _start(floor, scenario, 1)
    until(lambda: floor.json("show", first)["status"] == "in_progress", "the first issue to be claimed")
    (floor.cwd / "person.txt").write_text("a person's commit\n")
    floor.git("add", "person.txt")
    floor.git("commit", "-qm", "a person moves the target")
    moved.write_text("")
    out, err = coordinator.communicate(timeout=180)
    assert coordinator.returncode == 0, out + err

    def at(issue: str, kind: str) -> str:
        return min(e["at"] for e in floor.json("show", issue)["events"] if e["kind"] == kind)

    assert "gating 1 entry" in out, out  # the queue gated the first pass again: it was landing for a while
    assert at(second, "claimed") < at(first, "closed"), out  # started before the first one landed
    assert floor.json("show", second)["status"] == "closed"


def test_a_slow_workspace_setup_holds_up_only_its_own_worker(floor: Runner) -> None:
    """Workers start beside the loop: while one issue's `[workspace] setup` runs (here it waits
    for the test's word), another issue is started, gated and landed."""
    slow = floor.json("create", "Slow to set up", "-p", "1")["id"]
    quick = floor.json("create", "Quick", "-p", "2")["id"]
    go = floor.cwd.parent / "setup-may-finish"
    wait = f'test "$SHOPFLOOR_ISSUE" != {slow} || until test -e {go}; do sleep 0.1; done'
    setup = '\n[workspace]\nsetup = [["sh", "-c", ' + json.dumps(wait) + "]]\n"
    _configure(floor, SLOW_GATE.replace("sleep 2", "true") + setup, "a setup that can be slow")
    scripts = [{"match": i, "turns": write_commit(f"{i}.txt", f"{i}\n", f"add {i}")} for i in (slow, quick)]
    scenario = floor.cwd.parent / "setup.json"
    scenario.write_text(json.dumps({"scripts": scripts}))
    with _in_background(floor, scenario, 2, go) as coordinator:
        until(lambda: floor.json("show", quick)["status"] == "closed", "the quick issue to land during the slow setup")
        assert floor.json("show", slow)["status"] == "in_progress"  # its start is in flight: its claim holds
        go.write_text("")
        out, err = coordinator.communicate(timeout=120)
    assert coordinator.returncode == 0, out + err
    assert floor.json("show", slow)["status"] == "closed", out


def test_a_session_that_cannot_be_resumed_is_handed_to_a_fresh_one_not_crashed_again(floor: Runner) -> None:
    """An agent killed a moment after it started may never have saved its session (Claude Code
    then answers a resume with "No conversation found"): the floor used to resume it, crash, and
    block the issue as a crash loop. It starts a fresh session with its handoff note instead."""
    sid = floor.json("create", "Fix the notes")["id"]
    release = floor.cwd.parent / "gate-may-run"
    held = f"until test -e {release}; do sleep 0.1; done; ! grep -rq FIXME --include=*.txt ."
    check = f'\n[[gate.check]]\nname = "held"\nargv = ["sh", "-c", {json.dumps(held)}]\n'
    _configure(floor, check, "a gate the test holds")
    scripts = [  # the fresh session's prompt carries the floor's handoff note: it fixes the file
        {"match": "Handoff: the previous session", "turns": write_commit("notes.txt", "notes\n", "fix notes")},
        {"match": sid, "turns": write_commit("notes.txt", "FIXME notes\n", "draft notes")},
    ]
    scenario = floor.cwd.parent / "lost.json"
    scenario.write_text(json.dumps({"scripts": scripts}))
    with _in_background(floor, scenario, 1, release) as coordinator:
        until(lambda: _sleeping(str(release)), "the first gate to be running")
        sessions = list(Path(floor.env["SHOPFLOOR_SCRIPTED_HOME"]).glob("*.json"))
        assert sessions, "the scripted agent saved no session"
        for saved in sessions:  # as if the agent had been killed before it saved its session
            saved.unlink()
        release.write_text("")
        out, err = coordinator.communicate(timeout=120)
    assert coordinator.returncode == 0, out + err
    assert "its session cannot be resumed" in out, out
    shown = floor.json("show", sid)
    assert shown["status"] == "closed" and [a["handoff"] for a in shown["attempts"]] == [False, True], shown


def test_a_git_lock_left_by_a_stopped_agent_does_not_stop_the_next_session_committing(floor: Runner) -> None:
    """The floor stops a session the moment it must (a handoff, a stop), `git commit` included,
    which leaves `.git/index.lock` in the workspace: every later `git add` there failed, so the
    next session's work never reached its branch and the issue spiralled on an empty change."""
    sid = floor.json("create", "Clean the notes")["id"]
    _configure(floor, GATE, "a no-fixme gate")
    draft = write_commit("n.txt", "FIXME\n", "draft")
    killed_mid_git = {"tool": {"name": "Bash", "input": {"command": "touch .git/index.lock"}}}
    first = [*draft[:-1], killed_mid_git, draft[-1]]  # the session ends with a lock left behind
    scripts = [{"match": sid, "turns": [*first, *write_commit("n.txt", "clean\n", "clean the notes")]}]
    scenario = floor.cwd.parent / "locked.json"
    scenario.write_text(json.dumps({"scripts": scripts}))
    done = floor(
        "run", "--workers", "1", "--agent", "scripted", "--terminal", "detached", "--until-idle",
        env={"SHOPFLOOR_SCENARIO": str(scenario)}, timeout=180,
    )  # fmt: skip
    assert floor.json("show", sid)["status"] == "closed", done.stdout
    assert floor.git("show", "main:n.txt") == "clean"
