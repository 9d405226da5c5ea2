"""The queue lands a lone entry based on the target's tip on its attempt's passing gate run,
and gates again whenever a fact that run rests on changed (queue.reuse, issue 13 section 3)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest

from conftest import Runner
from shopfloor.queue.reuse import Landing, PriorRun, choose, refusal
from workerkit import commit_turn, scenario

GATE = """
[gate]
builtins = ["protected-files", "tests-not-weakened", "suppressions"]

[[gate.check]]
name = "no-fixme"
argv = ["sh", "-c", "! grep -rq FIXME --include=*.txt ."]
timeout = 60
"""

RUN = PriorRun(
    id=7,
    commit="c" * 40,
    tree="t" * 40,
    base_commit="b" * 40,
    merge_base="b" * 40,
    config_hash="cfg",
    env="env-none",
    verdict="pass",
    advisory=False,
    itself=False,
    issue="t-1",
    vibe=3,
    approved=False,
    floor_files=True,
    exemptions=frozenset(),
)
NOW = Landing(
    head="c" * 40,
    tree="t" * 40,
    base="b" * 40,
    based=True,
    config_hash="cfg",
    env="env-none",
    issue="t-1",
    vibe=3,
    labels=frozenset(),
    agent=True,
)


def test_a_run_of_the_same_tree_base_rules_and_issue_stands_in() -> None:
    assert refusal(RUN, NOW) is None


@pytest.mark.parametrize(
    ("run", "now", "why"),
    [
        (replace(RUN, advisory=True), NOW, "advisory"),
        (replace(RUN, verdict="fail"), NOW, "verdict was fail"),
        (replace(RUN, verdict="needs-approval"), NOW, "verdict was needs-approval"),
        (replace(RUN, itself=True), NOW, "target by itself"),
        (RUN, replace(NOW, based=False), "not based on the target's tip"),
        (RUN, replace(NOW, head="d" * 40), "the branch moved since"),
        (RUN, replace(NOW, tree="u" * 40), "not the tree it gated"),
        (RUN, replace(NOW, base="e" * 40), "the target moved since"),
        (replace(RUN, merge_base="e" * 40), NOW, "the target moved since"),
        (RUN, replace(NOW, config_hash="other"), "gate rules"),
        (RUN, replace(NOW, env="env-other"), "environment"),
        (replace(RUN, env=None), NOW, "environment"),
        (RUN, replace(NOW, issue="t-2"), "not t-2"),
        (replace(RUN, issue=None), NOW, "issue (none)"),
        (RUN, replace(NOW, vibe=2), "vibe is 2 now, not 3"),
        (replace(RUN, approved=True), NOW, "approval"),
        (replace(RUN, exemptions=frozenset({"allow-test-changes"})), NOW, "allow-test-changes"),
        (replace(RUN, floor_files=False), NOW, "floor-files"),
    ],
)
def test_a_run_resting_on_a_fact_that_changed_is_not_reused(run: PriorRun, now: Landing, why: str) -> None:
    reason = refusal(run, now)
    assert reason is not None and why in reason


@pytest.mark.parametrize(
    ("run", "now"),
    [
        (replace(RUN, approved=True), replace(NOW, labels=frozenset({"approved"}))),
        (
            replace(RUN, exemptions=frozenset({"allow-suppressions"})),
            replace(NOW, labels=frozenset({"allow-suppressions"})),
        ),
        (replace(RUN, floor_files=False), replace(NOW, agent=False)),  # a person's branch: no floor-files check
        (replace(RUN, issue=None, vibe=None), replace(NOW, issue=None, vibe=None, agent=False)),
    ],
)
def test_a_run_whose_label_facts_still_hold_is_reused(run: PriorRun, now: Landing) -> None:
    assert refusal(run, now) is None


def test_choose_takes_the_newest_run_that_stands_in_and_says_why_none_did() -> None:
    older, newer = replace(RUN, id=3), replace(RUN, id=9)
    assert choose([older, newer], NOW) == (newer, None)
    assert choose([older, replace(newer, verdict="fail")], NOW) == (older, None)
    assert choose([], NOW) == (None, None)
    run, why = choose([replace(newer, advisory=True), replace(older, commit="d" * 40)], NOW)
    assert run is None and why is not None and why.startswith("gate run 9 not reused")


def test_from_report_reads_the_facts_a_recorded_report_holds() -> None:
    report: dict[str, Any] = {
        "verdict": "pass",
        "commit": "c" * 40,
        "tree": "t" * 40,
        "base_commit": "b" * 40,
        "merge_base": "b" * 40,
        "config_hash": "cfg",
        "env": "env-none",
        "issue": "t-1",
        "vibe": 3,
        "approved": False,
        "advisory": False,
        "itself": False,
        "checks": [
            {"name": "floor-files", "status": "pass"},
            {"name": "tests-not-weakened", "status": "pass", "excerpt": "exempt: the issue is labelled ..."},
            {"name": "suppressions", "status": "pass", "excerpt": "no suppression added"},
        ],
    }
    assert PriorRun.from_report(7, report) == replace(RUN, exemptions=frozenset({"allow-test-changes"}))
    failed_floor = {**report, "checks": [{"name": "floor-files", "status": "fail"}]}
    assert not PriorRun.from_report(7, failed_floor).floor_files
    assert PriorRun.from_report(7, {}).verdict == ""  # nothing recorded proves nothing


# --- through the real CLI: a real repository, the real gate, the real queue


@pytest.fixture
def repo(sf: Runner) -> Runner:
    config = sf.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + GATE)
    (sf.cwd / "shared.txt").write_text("one\n")
    sf.git("add", "-A")
    sf.git("commit", "-qm", "base with a gate")
    return sf


def worker_branch(runner: Runner, files: dict[str, str]) -> str:
    """An issue and its worker branch ``floor/<id>``, one commit on main's tip."""
    sid = str(runner.json("create", "add a file")["id"])
    runner.git("checkout", "-q", "-b", f"floor/{sid}", "main")
    commit(runner, files, "the work")
    runner.git("checkout", "-q", "main")
    runner.git("config", f"branch.floor/{sid}.shopfloor-issue", sid)
    return sid


def commit(runner: Runner, files: dict[str, str], message: str) -> None:
    for path, text in files.items():
        (runner.cwd / path).parent.mkdir(parents=True, exist_ok=True)
        (runner.cwd / path).write_text(text)
    runner.git("add", "-A")
    runner.git("commit", "-qm", message)


def attempt_gate(runner: Runner, sid: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """The floor's gate of an attempt, as the coordinator runs it."""
    report: dict[str, Any] = runner.json(
        "gate", "run", f"floor/{sid}", "--issue", sid, "--attempt", "1", check=False, env=env
    )
    assert report["verdict"] == "pass", report
    return report


@dataclass
class Pass:
    """One ``queue run --once`` as a person sees it, and the issue's entry after it."""

    landed: int
    gate_runs: int
    reused: bool  # the summary says an entry landed on an earlier passing gate run
    said: str  # its progress lines
    entry: dict[str, Any]


def land(runner: Runner, sid: str) -> Pass:
    runner.json("queue", "add", sid)
    done = runner("queue", "run", "--once")
    last = done.stdout.strip().splitlines()[-1]  # "landed 1, rejected 0, conflicts 0, in N gate run(s)[, ...]"
    numbers = [int(word) for word in last.replace(",", " ").split() if word.isdigit()]
    entry = next(e for e in runner.json("queue", "list", "--all") if e["issue"] == sid)
    return Pass(numbers[0], numbers[3], "earlier passing gate run" in last, done.stderr, entry)


def gate_runs(runner: Runner) -> list[dict[str, Any]]:
    return list(runner.json("gate", "list"))


def test_a_branch_on_the_tip_lands_on_its_attempts_gate_run_alone(repo: Runner) -> None:
    sid = worker_branch(repo, {"a.txt": "a\n"})
    run = attempt_gate(repo, sid)
    done = land(repo, sid)
    assert done.landed == 1 and done.gate_runs == 0 and done.reused, done.said
    assert len(gate_runs(repo)) == 1  # one gate run for the whole landing, not two
    entry = done.entry
    assert entry["state"] == "merged" and entry["gate_run"] == run["id"] and entry["gate_reused"] is True
    merged = entry["merged"]
    assert repo.git("rev-parse", "main") == merged
    assert repo.git("rev-parse", f"{merged}^{{tree}}") == run["tree"]  # the tree the run passed is what landed
    assert repo.git("log", "-1", "--format=%(trailers:key=Gate-Run,valueonly)", merged) == str(run["id"])
    assert repo.json("show", sid)["status"] == "closed"


def test_with_the_rebase_strategy_the_gated_commit_itself_lands(sf: Runner) -> None:
    config = sf.cwd / ".shopfloor" / "config.toml"
    commit(sf, {".shopfloor/config.toml": config.read_text() + GATE + '\n[queue]\nstrategy = "rebase"\n'}, "rules")
    sid = worker_branch(sf, {"a.txt": "a\n"})
    run = attempt_gate(sf, sid)
    done = land(sf, sid)
    assert done.gate_runs == 0 and done.entry["merged"] == run["commit"] == sf.git("rev-parse", "main")


def test_the_target_moved_after_the_attempts_gate_so_the_queue_gates_again(repo: Runner) -> None:
    sid = worker_branch(repo, {"a.txt": "a\n"})
    run = attempt_gate(repo, sid)
    commit(repo, {"other.txt": "someone else\n"}, "main moves on")
    done = land(repo, sid)
    assert f"gate run {run['id']} not reused: the branch is not based on the target's tip" in done.said
    assert done.landed == 1 and done.gate_runs == 1 and not done.reused
    assert len(gate_runs(repo)) == 2 and done.entry["gate_reused"] is False


def test_an_agent_that_commits_after_its_gate_is_gated_again(repo: Runner) -> None:
    sid = worker_branch(repo, {"a.txt": "a\n"})
    run = attempt_gate(repo, sid)
    repo.git("checkout", "-q", f"floor/{sid}")
    commit(repo, {"late.txt": "FIXME: slipped in after the gate\n"}, "one more thing")
    repo.git("checkout", "-q", "main")
    done = land(repo, sid)
    assert f"gate run {run['id']} not reused: the branch moved since" in done.said
    assert done.landed == 0 and done.gate_runs == 1, done.said
    assert done.entry["state"] == "failed" and "no-fixme" in done.entry["detail"]
    assert not (repo.cwd / "late.txt").exists()


def test_a_rule_added_on_the_target_after_the_gate_is_applied(repo: Runner) -> None:
    sid = worker_branch(repo, {"a.txt": "TODO\n"})
    run = attempt_gate(repo, sid)
    config = repo.cwd / ".shopfloor" / "config.toml"
    stricter = '\n[[gate.check]]\nname = "no-todo"\nargv = ["sh", "-c", "! grep -rq TODO --include=*.txt ."]\n'
    commit(repo, {".shopfloor/config.toml": config.read_text() + stricter}, "a new rule")
    done = land(repo, sid)
    assert f"gate run {run['id']} not reused" in done.said
    assert done.landed == 0 and done.gate_runs == 1
    assert done.entry["state"] == "failed" and "no-todo: fail" in done.entry["detail"]


def test_an_agents_own_advisory_run_is_never_reused(repo: Runner) -> None:
    sid = worker_branch(repo, {"a.txt": "a\n"})
    advisory = repo.json("gate", "run", f"floor/{sid}", "--issue", sid, env={"SHOPFLOOR_WORKER": "w"})
    assert advisory["verdict"] == "pass" and advisory["advisory"] is True
    done = land(repo, sid)
    assert f"gate run {advisory['id']} not reused: it is an agent's own advisory run" in done.said
    assert done.gate_runs == 1 and done.entry["gate_run"] != advisory["id"] and done.entry["gate_reused"] is False


def test_a_run_that_did_not_judge_the_branch_as_an_agents_is_not_reused(repo: Runner) -> None:
    sid = worker_branch(repo, {"a.txt": "a\n"})
    head = repo.git("rev-parse", f"floor/{sid}")
    person = repo.json("gate", "run", head, "--issue", sid)  # by sha, no attempt: no floor-files check
    assert person["verdict"] == "pass"
    done = land(repo, sid)
    assert f"gate run {person['id']} not reused: it did not judge the branch as an agent's work" in done.said
    assert done.gate_runs == 1 and done.entry["state"] == "merged"


def test_a_person_changing_the_vibe_after_the_gate_means_gating_again(repo: Runner) -> None:
    sid = worker_branch(repo, {"a.txt": "a\n"})
    run = attempt_gate(repo, sid)
    repo("update", sid, "--vibe", "4")  # a different plan (fast checks only): the old run is not that
    done = land(repo, sid)
    assert f"gate run {run['id']} not reused: the issue's vibe is 4 now, not 3" in done.said
    assert done.gate_runs == 1 and done.entry["state"] == "merged" and done.entry["gate_reused"] is False


def test_a_floor_run_lands_an_issue_based_on_the_tip_with_one_gate_run(floor: Runner) -> None:
    config = floor.cwd / ".shopfloor" / "config.toml"
    commit(floor, {".shopfloor/config.toml": config.read_text() + GATE}, "a gate")
    sid = str(floor.json("create", "Add a")["id"])
    script = scenario(floor, [{"match": sid, "turns": commit_turn("a.txt", "a\n", "add a")}])
    argv = ("run", "--workers", "1", "--agent", "scripted", "--terminal", "detached", "--until-idle")
    floor(*argv, env={"SHOPFLOOR_SCENARIO": str(script)})
    assert floor.json("show", sid)["status"] == "closed"
    runs = gate_runs(floor)
    entry = next(e for e in floor.json("queue", "list", "--all") if e["issue"] == sid)
    # The attempt's gate is the landing's proof: one run, not one per attempt and one in the queue.
    assert len(runs) == 1 and runs[0]["issue"] == sid, runs
    assert entry["state"] == "merged" and entry["gate_run"] == runs[0]["id"] and entry["gate_reused"] is True
