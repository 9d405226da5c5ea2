"""What the floor does with work it cannot finish alone (issue 12): a change that waits for a
person's approval holds no worker slot and lands once approved; an agent that blocks its own
issue is told of, its worker removed and its reason shown. Real `shopfloor run`, scripted agent."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from conftest import Runner
from test_floor import run_floor, setup_gate, write_commit
from test_notify import RECORDER, events


def notify_to(floor: Runner) -> Path:
    log = floor.cwd.parent / "notified.jsonl"
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(
        config.read_text() + f"\n[notify]\ncommand = {json.dumps([sys.executable, '-c', RECORDER, str(log)])}\n"
    )
    floor.git("commit", "-qam", "notify")
    return log


def scenario(floor: Runner, scripts: list[dict[str, Any]]) -> Path:
    path = floor.cwd.parent / "scenario.json"
    path.write_text(json.dumps({"scripts": scripts}))
    return path


def test_a_change_waiting_for_approval_holds_no_slot_and_lands_once_approved(floor: Runner) -> None:
    setup_gate(floor)
    careful = floor.json("create", "Add e", "--vibe", "1", "-p", "0")["id"]  # claimed first
    other = floor.json("create", "Add f", "-p", "3")["id"]
    path = scenario(
        floor,
        [
            {"match": careful, "turns": write_commit("e.txt", "e\n", "add e")},
            {"match": other, "turns": write_commit("f.txt", "f\n", "add f")},
        ],
    )
    done = run_floor(floor, path)  # --workers 1: the waiting change must not hold the only slot
    assert f"{careful}: gate needs approval" in done.stdout
    assert f"{other}: started scripted worker" in done.stdout, done.stdout
    assert floor.json("show", other)["status"] == "closed"
    tail = done.stdout.split("landed 1:\n", 1)[1].splitlines()
    assert tail[1:] == [
        "waiting for approval 1:",
        f"  {careful}  Add e  (vibe 1)",
        f"next: `shopfloor approve {careful}` to let it land",
    ], done.stdout
    # A coordinator started again says what happens to the worker it finds: it waits.
    again = run_floor(floor, path)
    assert f"{careful}: adopted worker {careful} (scripted, generation 1): its change waits for " in again.stdout
    assert f"`shopfloor approve {careful}`" in again.stdout and "gated next" not in again.stdout
    floor("approve", careful)
    landed = run_floor(floor, path)  # the floor itself lands what a person approved
    assert "approved; lands next" in landed.stdout, landed.stdout
    assert "landed 1:" in landed.stdout and f"  {careful}  Add e" in landed.stdout, landed.stdout
    assert floor.json("show", careful)["status"] == "closed"
    assert floor.git("show", "main:e.txt") == "e"
    assert floor.json("worker", "list") == []


def test_an_agent_that_blocks_its_issue_is_told_of_removed_and_can_be_retried(floor: Runner) -> None:
    setup_gate(floor)
    log = notify_to(floor)
    sid = floor.json("create", "Add g")["id"]
    why = "the spec contradicts itself: g must be both empty and not"
    turns = [
        *write_commit("g.txt", "half of g\n", "start g")[:2],
        {"tool": {"name": "Bash", "input": {"command": f"shopfloor comment {sid} '{why}\nsee section 2'"}}},
        {"tool": {"name": "Bash", "input": {"command": f"shopfloor update {sid} -s blocked"}}},
        {"text": "blocked it"},
    ]
    path = scenario(floor, [{"match": sid, "turns": turns}])
    done = run_floor(floor, path, blocks=True)
    assert f"{sid}: blocked by its agent ({why}); its worker is removed, its branch floor/{sid} kept" in done.stdout
    tail = done.stdout.split("landed 0\n", 1)[1].splitlines()
    assert tail[:2] == ["blocked 1:", f"  {sid}  Add g: {why}"], done.stdout
    blocked = [e for e in events(log) if e["event"] == "blocked"]
    assert [(e["issue"], e["reason"]) for e in blocked] == [(sid, f"its agent blocked it: {why}")], events(log)
    assert floor.json("worker", "list") == []
    assert floor.git("show", f"floor/{sid}:g.txt") == "half of g"  # its work is kept
    assert floor.json("blocked")[0]["reason"] == why
    assert why in floor("list", "-s", "blocked").stdout
    shown = floor.json("show", sid)
    assert shown["attempts"][-1]["outcome"] == "blocked by its agent"
    # Nothing is left for a later run: no worker adopted and never gated.
    after = run_floor(floor, path, blocks=False)
    assert "adopted" not in after.stdout and "gating" not in after.stdout, after.stdout
    retried = floor("retry", sid)
    assert retried.returncode == 0 and floor.json("show", sid)["status"] == "open"


def test_what_an_adopted_worker_does_next_is_what_the_turn_does() -> None:
    from shopfloor.floor.adopt import Situation, next_step
    from shopfloor.workers.records import Worker

    fields = {f: None for f in Worker.__dataclass_fields__}
    worker = Worker(**{**fields, "name": "sf-1", "issue": "sf-1", "state": "done", "actor": "floor"})  # type: ignore[arg-type]
    assert next_step(worker, Situation()) == "its agent finished; gated next"
    assert next_step(worker, Situation(ended=True, outcome="failed")) == "its agent finished; handled next"
    waits = Situation(ended=True, outcome="queued", queue="needs-approval")
    assert next_step(worker, waits) == "its change waits for `shopfloor approve sf-1`; it runs no agent meanwhile"
    assert next_step(worker, Situation(ended=True, queue="needs-approval", approved=True)).endswith("lands next")
    assert next_step(worker, Situation(ended=True, queue="queued")) == "its change is in the merge queue; lands next"
    mine = Situation(status="blocked", blocker="worker/sf-1")
    assert next_step(worker, mine) == "its agent blocked its issue; its worker is removed next (its branch kept)"
    person = Situation(status="blocked", blocker="ann")
    assert next_step(worker, person) == "its issue is blocked; left as it is until `shopfloor retry sf-1`"
    assert next_step(worker, Situation(status="closed")) == "its issue is closed; its worker is removed next"
    stopped = Situation(ended=True, outcome="stopped")
    assert next_step(worker, stopped) == "stopped by `shopfloor stop`; its session resumes next"
    lapsed = Situation(status="open")  # its lease ran out: the turn claims it again and gates it
    assert next_step(worker, lapsed) == "its agent finished; gated next"
