"""The queue lane: real queue passes (the real gate, real git, a real database) in a thread of
their own beside the caller, which never waits for them (queue.lane, issue 13 section 3)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Runner
from shopfloor.floor.attempts import QUEUE_HOOKS
from shopfloor.paths import floor_root
from shopfloor.queue.landing import QueueLock
from shopfloor.queue.lane import QueueLane
from shopfloor.tracker.service import Tracker
from workerkit import until


@pytest.fixture
def marks(tmp_path: Path) -> Path:
    path = tmp_path / "marks"
    path.mkdir()
    return path


@pytest.fixture
def repo(sf: Runner, marks: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    """A repository whose gate holds each run until the test releases it: the check says it started
    (a file per run), then waits for ``marks/release``."""
    for key in list(os.environ):
        monkeypatch.delenv(key)
    for key, value in sf.env.items():
        monkeypatch.setenv(key, value)  # this process runs the lane: the runner's git identity and HOME
    hold = f"touch {marks}/started-$$; while [ ! -e {marks}/release ]; do sleep 0.05; done"
    config = sf.cwd / ".shopfloor" / "config.toml"
    config.write_text(
        config.read_text()
        + f"\n[sandbox]\nwritable = {json.dumps([str(marks)])}\n"
        + f'\n[gate]\nbuiltins = []\n\n[[gate.check]]\nname = "hold"\nargv = ["sh", "-c", {json.dumps(hold)}]\n'
        + "timeout = 120\n"
    )
    sf.git("add", "-A")
    sf.git("commit", "-qm", "base with a gate that waits for the test")
    return sf


@pytest.fixture
def lane(repo: Runner) -> Iterator[tuple[QueueLane, list[str]]]:
    said: list[str] = []
    tracker = Tracker.open("floor", str(repo.cwd), auto_import=False)
    lane = QueueLane.beside(tracker, QUEUE_HOOKS, batch=4, progress=said.append).start()
    yield lane, said
    (repo.cwd.parent / "marks" / "release").touch()
    lane.stop(timeout=60)
    tracker.close()


def queue(runner: Runner, name: str) -> int:
    runner.git("checkout", "-q", "-b", name, "main")
    (runner.cwd / f"{name}.txt").write_text(f"{name}\n")
    runner.git("add", "-A")
    runner.git("commit", "-qm", f"work on {name}")
    runner.git("checkout", "-q", "main")
    return int(runner.json("queue", "add", name)["id"])


def state(runner: Runner, entry: int) -> str:
    return str(next(e["state"] for e in runner.json("queue", "list", "--all") if e["id"] == entry))


def started(marks: Path) -> int:
    return len(list(marks.glob("started-*")))


def test_poke_returns_while_the_pass_gates_and_work_queued_meanwhile_joins_the_next_pass(
    repo: Runner, marks: Path, lane: tuple[QueueLane, list[str]]
) -> None:
    runner, (queue_lane, said) = repo, lane
    first = queue(runner, "first")
    queue_lane.poke()
    # The gate's check now waits for a file only this thread writes: poke() has returned while
    # the pass runs, and the lane says so.
    until(lambda: started(marks) == 1, "the first pass's gate to start")
    assert queue_lane.busy and not queue_lane.idle and state(runner, first) == "testing"
    second = queue(runner, "second")  # queued while the first batch is being gated
    queue_lane.poke()
    assert state(runner, second) == "queued"  # not in the batch being gated
    (marks / "release").touch()
    until(lambda: state(runner, second) == "merged", "the second entry to land", timeout=120)
    assert state(runner, first) == "merged"
    runs = {e["id"]: e["gate_run"] for e in runner.json("queue", "list", "--all")}
    assert runs[first] != runs[second]  # the second landed in a pass of its own, after the first
    until(lambda: queue_lane.idle, "the lane to be idle")
    assert not queue_lane.busy
    assert queue_lane.failures == 0 and any("landed" in line for line in said), said


def test_a_pass_that_raises_is_reported_and_the_next_one_still_runs(
    repo: Runner, marks: Path, lane: tuple[QueueLane, list[str]]
) -> None:
    runner, (queue_lane, said) = repo, lane
    (marks / "release").touch()
    config = runner.cwd / ".shopfloor" / "config.toml"
    good = config.read_text()
    config.write_text(good + '\n[queue]\nstrategy = "merge"\n')  # the queue refuses to run with it
    runner.git("commit", "-qam", "a bad queue setting")
    entry = queue(runner, "mine")
    queue_lane.poke()
    until(lambda: queue_lane.failures == 1, "the failing pass to be reported")
    failure = next(line for line in said if line.startswith("queue lane: a pass failed"))
    assert "queue.strategy must be" in failure and state(runner, entry) == "queued"
    assert queue_lane.alive
    config.write_text(good)
    runner.git("commit", "-qam", "the setting fixed")
    queue_lane.poke()
    until(lambda: state(runner, entry) == "merged", "the entry to land after the fix", timeout=120)
    assert queue_lane.failures == 1


def test_a_persons_queue_run_holding_the_lock_is_said_once_and_stop_finishes_the_pass(
    repo: Runner, marks: Path, lane: tuple[QueueLane, list[str]]
) -> None:
    runner, (queue_lane, said) = repo, lane
    first = queue(runner, "first")
    tracker = Tracker.open("person", str(runner.cwd), auto_import=False)
    with QueueLock(floor_root(tracker)):  # as `shopfloor queue run` holds it
        passes = queue_lane.passes
        queue_lane.poke()
        until(lambda: queue_lane.passes == passes + 1, "a refused pass")
        queue_lane.poke()
        until(lambda: queue_lane.passes == passes + 2, "a second refused pass")
    tracker.close()
    refusals = [line for line in said if "another `shopfloor queue run` pass is in progress" in line]
    assert len(refusals) == 1 and queue_lane.failures == 0 and state(runner, first) == "queued"
    queue_lane.poke()
    until(lambda: started(marks) == 1, "the pass's gate to start")
    second = queue(runner, "second")
    stopping = threading.Thread(target=queue_lane.stop)
    stopping.start()  # stop() waits for the pass that runs
    assert queue_lane.alive
    (marks / "release").touch()
    stopping.join(timeout=120)
    assert not queue_lane.alive and state(runner, first) == "merged"
    assert state(runner, second) == "queued"  # stopping starts no other pass
