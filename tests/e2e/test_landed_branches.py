"""Landed floor/<issue> branches are deleted unless [queue] keep_branches = true (issue 12, item 7)."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from conftest import SHOPFLOOR, Runner
from test_floor import GATE  # the one no-fixme gate the floor tests share
from workerkit import commit_turn, issue, scenario, wait_for


@pytest.fixture
def repo(sf: Runner) -> Runner:
    config = sf.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + GATE)
    (sf.cwd / "shared.txt").write_text("one\ntwo\nthree\n")
    sf.git("add", "-A")
    sf.git("commit", "-qm", "base with a gate")
    return sf


def floor_branch(runner: Runner, files: dict[str, str], title: str = "work") -> tuple[str, str]:
    """An issue and its floor/<issue> branch with one commit; (issue id, branch)."""
    sid = str(runner.json("create", title)["id"])
    name = f"floor/{sid}"
    runner.git("checkout", "-q", "-b", name, "main")
    for path, text in files.items():
        (runner.cwd / path).write_text(text)
    runner.git("add", "-A")
    runner.git("commit", "-qm", f"work on {name}")
    runner.git("checkout", "-q", "main")
    runner.git("config", f"branch.{name}.shopfloor-issue", sid)
    return sid, name


def exists(runner: Runner, name: str) -> bool:
    return runner.git("rev-parse", "--verify", "--quiet", f"refs/heads/{name}", check=False) != ""


def run_queue(runner: Runner) -> dict:
    return dict(runner.json("queue", "run", "--once"))


def test_a_landed_floor_branch_is_deleted_and_a_persons_branch_stays(repo: Runner) -> None:
    sid, name = floor_branch(repo, {"a.txt": "a\n"})
    repo.git("checkout", "-q", "-b", "feature-b", "main")
    (repo.cwd / "b.txt").write_text("b\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "b")
    repo.git("checkout", "-q", "main")
    repo.json("queue", "add", sid)
    repo.json("queue", "add", "feature-b")
    assert len(run_queue(repo)["landed"]) == 2
    assert repo.json("show", sid)["status"] == "closed" and (repo.cwd / "a.txt").exists()
    assert not exists(repo, name)  # landed: gone
    assert exists(repo, "feature-b")  # not a floor branch: a person's own, kept


def test_keep_branches_keeps_a_landed_branch(repo: Runner) -> None:
    config = repo.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + "\n[queue]\nkeep_branches = true\n")
    repo.git("commit", "-qam", "keep landed branches")  # the queue reads its settings from the target
    sid, name = floor_branch(repo, {"a.txt": "a\n"})
    head = repo.git("rev-parse", name)
    repo.json("queue", "add", sid)
    assert len(run_queue(repo)["landed"]) == 1
    assert repo.git("rev-parse", name) == head


def test_a_bad_keep_branches_is_one_clear_error(repo: Runner) -> None:
    config = repo.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + '\n[queue]\nkeep_branches = "yes"\n')
    repo.git("commit", "-qam", "a bad setting")
    sid, name = floor_branch(repo, {"a.txt": "a\n"})
    repo.json("queue", "add", sid)
    done = repo("queue", "run", "--once", check=False)
    assert done.returncode != 0 and "queue.keep_branches must be true or false, not 'yes'" in done.stderr
    assert exists(repo, name) and repo.json("show", sid)["status"] != "closed"


def test_rejected_and_conflicting_branches_stay_while_the_landed_one_goes(repo: Runner) -> None:
    rejected, rejected_branch = floor_branch(repo, {"r.txt": "r FIXME\n"}, "rejected")
    conflict, conflict_branch = floor_branch(repo, {"shared.txt": "one\n2\nthree\n"}, "conflicting")
    good, good_branch = floor_branch(repo, {"g.txt": "g\n"}, "good")
    (repo.cwd / "shared.txt").write_text("one\nTWO\nthree\n")
    repo.git("commit", "-qam", "main changes the same line")
    for sid in (rejected, conflict, good):
        repo.json("queue", "add", sid)
    result = run_queue(repo)
    assert len(result["landed"]) == 1 and len(result["rejected"]) == 1 and len(result["conflicts"]) == 1, result
    assert exists(repo, rejected_branch) and exists(repo, conflict_branch)
    assert not exists(repo, good_branch)


def gated(runner: Runner) -> bool:
    listed = runner.json("queue", "list", "--all")
    return all(e["state"] == "testing" and e["gate_run"] for e in listed)


def test_a_branch_that_moved_while_it_was_landing_stays(repo: Runner) -> None:
    sid, name = floor_branch(repo, {"a.txt": "a\n"})
    other, other_branch = floor_branch(repo, {"o.txt": "o\n"}, "other")
    repo.json("queue", "add", sid)
    repo.json("queue", "add", other)
    env = dict(repo.env, SHOPFLOOR_QUEUE_PAUSE_BEFORE_LAND="3")
    queue = subprocess.Popen(
        [str(SHOPFLOOR), "queue", "run", "--once", "--json"],
        cwd=repo.cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not gated(repo):
        assert time.monotonic() < deadline and queue.poll() is None, queue.communicate()
        time.sleep(0.1)
    # The gate has passed and the queue waits to land: the agent commits more meanwhile.
    repo.git("checkout", "-q", name)
    (repo.cwd / "later.txt").write_text("later\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "more work after it was queued")
    repo.git("checkout", "-q", "main")
    moved = repo.git("rev-parse", name)
    out, err = queue.communicate(timeout=120)
    assert queue.returncode == 0, err
    assert len(json.loads(out)["landed"]) == 2, out
    assert repo.git("rev-parse", name) == moved  # its new commit did not land: the branch stays
    assert not exists(repo, other_branch)  # landed as it was queued: gone
    assert not (repo.cwd / "later.txt").exists()


def test_removing_a_landed_worker_does_not_bring_its_branch_back(floor: Runner) -> None:
    sid = issue(floor)
    plan = scenario(floor, [{"match": sid, "turns": commit_turn("hello.txt", "hi\n", "add hello")}])
    floor(
        "worker", "start", sid, "--agent", "scripted", "--terminal", "detached", env={"SHOPFLOOR_SCENARIO": str(plan)}
    )
    wait_for(floor, sid)
    floor.json("queue", "add", sid)
    assert len(floor.json("queue", "run", "--once")["landed"]) == 1
    assert not exists(floor, f"floor/{sid}")
    removed = floor("worker", "rm", sid, "--force").stdout  # brings the branch back first, then drops it
    assert f"removed {sid} (branch floor/{sid} landed and deleted)" in removed, removed
    assert not exists(floor, f"floor/{sid}")
    assert floor.git("show", "main:hello.txt") == "hi"


def test_the_floor_deletes_the_branch_of_what_it_landed(floor: Runner) -> None:
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + GATE)
    floor.git("commit", "-qm", "gate", "--", str(config))
    sid = issue(floor)
    turns = [*commit_turn("hello.txt", "hi\n", "add hello"), {"text": "done"}]
    plan = scenario(floor, [{"match": sid, "turns": turns}])
    env = {"SHOPFLOOR_SCENARIO": str(plan)}
    done = floor("run", "--workers", "1", "--agent", "scripted", "--terminal", "detached", "--until-idle", env=env)
    assert floor.json("show", sid)["status"] == "closed", done.stdout
    assert floor.git("show", "main:hello.txt") == "hi"
    assert floor.json("worker", "list") == []  # removed after landing, which brought the branch back first
    assert not exists(floor, f"floor/{sid}")
