"""The tracker reaches git: the floor's tracker commits, `export --commit`, the gate's
tracker-only rule, doctor's warning and the pre-commit hook; real git, real SQLite, the real CLI."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import SHOPFLOOR, Runner
from shopfloor.floor.attempts import Attempt, summary
from shopfloor.queue.trackercommit import message as tracker_message
from shopfloor.tracker.trackeronly import TRACKER_PATH, due, is_tracker_only, leases_only, uncommitted
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
        {"tool": {"name": "Write", "input": {"file_path": path, "content": text}}},
        {"tool": {"name": "Bash", "input": {"command": f"git add -A && git commit -qm '{message}'"}}},
        {"text": f"{message}: done"},
    ]


def tracker_commits(runner: Runner, rev: str = "main") -> list[str]:
    """The commits on ``rev`` made by shopfloor's tracker commit, newest first (one that only
    rewrites a retro, when an agent's lessons arrive after the issues' last change, is one too)."""
    out = runner.git("log", "--format=%H|%an|%s", rev, "--", TRACKER_PATH, ".agents/retros")
    rows = [line.split("|", 2) for line in out.splitlines()]
    return [sha for sha, author, subject in rows if author == "shopfloor queue" and subject.startswith("tracker: ")]


def touched(runner: Runner, commit: str) -> list[str]:
    return runner.git("show", "--format=", "--name-only", commit).splitlines()


def clone(runner: Runner, name: str) -> Runner:
    path = runner.cwd.parent / name
    runner.git("clone", "-q", str(runner.cwd), str(path))
    return Runner(path, runner.env)


def committed(runner: Runner) -> Runner:
    """``runner``'s repository with .shopfloor committed on main (as a user sets it up)."""
    runner.git("add", "-A")
    runner.git("commit", "-qm", "set up shopfloor")
    return runner


# --- the pure rules -----------------------------------------------------------------------------


def test_a_tracker_change_is_exactly_the_tracker_file() -> None:
    assert is_tracker_only([TRACKER_PATH])
    assert is_tracker_only([TRACKER_PATH, TRACKER_PATH])
    assert not is_tracker_only([])
    assert not is_tracker_only([TRACKER_PATH, "src/app.py"])
    assert not is_tracker_only([".shopfloor/config.toml"])
    assert not is_tracker_only(["issues.jsonl"])


def test_uncommitted_lists_issues_whose_line_is_in_no_committed_copy() -> None:
    database = {"a": '{"id":"a","v":2}', "b": '{"id":"b","v":1}', "c": '{"id":"c","v":1}'}
    head = b'{"id":"a","v":1}\n{"id":"b","v":1}\n'
    target = b'{"id":"a","v":2}\n'
    assert uncommitted(database, [head]) == ["a", "c"]
    assert uncommitted(database, [head, target]) == ["c"]
    assert uncommitted({}, []) == []


def test_leases_alone_are_no_change_git_needs() -> None:
    committed = b'{"id":"a","lease_until":"2026-01-01T00:00:00.000000Z","v":1}\n{"id":"b","lease_until":null,"v":1}\n'
    renewed = committed.replace(b"00:00:00.000000Z", b"00:30:00.000000Z")
    assert leases_only(committed, renewed)
    assert not leases_only(committed, committed)  # no difference at all is not "only leases"
    assert not leases_only(committed, renewed.replace(b'"v":1}\n{"id":"b"', b'"v":2}\n{"id":"b"'))
    assert not leases_only(committed, committed + b'{"id":"c","lease_until":null,"v":1}\n')
    # doctor's "changes in no committed JSONL" ignores a renewed lease too.
    database = {"a": renewed.decode().splitlines()[0], "b": '{"id":"b","lease_until":null,"v":2}'}
    assert uncommitted(database, [committed]) == ["b"]
    assert tracker_message(["open"]).startswith("tracker: 1 issue (1 open)\n")
    assert tracker_message(["open", "closed"]).startswith("tracker: 2 issues (1 closed, 1 open)\n")


def test_tracker_commits_are_debounced() -> None:
    assert not due(100.0, 90.0, 60.0, changed=True, final=False)  # committed 10 s ago
    assert due(200.0, 90.0, 60.0, changed=True, final=False)
    assert due(100.0, 90.0, 60.0, changed=True, final=True)  # going idle: always, if changed
    assert not due(500.0, 90.0, 60.0, changed=False, final=True)


def test_the_attempt_summary_carries_each_ended_pass() -> None:
    def row(n: int, ended: str | None, verdict: str | None, outcome: str | None, failed: str) -> Attempt:
        return Attempt(
            n, "t-1", "w", n, "scripted", 3, None, "s", ended, 100 * n, 0.25, None, None, None, verdict, None, None,
            failed, 0, outcome,
        )  # fmt: skip

    rows = [row(1, "e1", "fail", "failed", '["no-fixme"]'), row(2, "e2", "pass", "queued", "[]")]
    rows.append(row(3, None, None, None, ""))  # still running: not carried
    assert summary(rows) == [
        {"agent": "scripted", "verdict": "fail", "outcome": "failed", "failed_checks": ["no-fixme"], "tokens": 100,
         "cost_usd": 0.25, "handoff": False},
        {"agent": "scripted", "verdict": "pass", "outcome": "queued", "failed_checks": [], "tokens": 200,
         "cost_usd": 0.25, "handoff": False},
    ]  # fmt: skip


# --- the floor ------------------------------------------------------------------------------------


def with_gate(runner: Runner) -> Runner:
    config = runner.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + GATE)
    runner.git("add", "-A")
    runner.git("commit", "-qm", "gate")
    return runner


def test_a_floor_run_reaches_git_a_pull_and_a_fresh_clone_show_the_final_statuses(floor: Runner) -> None:
    with_gate(floor)
    clean = floor.json("create", "Add a", "-p", "1")["id"]
    refine = floor.json("create", "Add c", "-p", "2")["id"]
    stuck = floor.json("create", "Add d", "-p", "3")["id"]
    floor("export", "--commit")  # the backlog is in git before the run
    early = clone(floor, "early")
    assert {i["id"]: i["status"] for i in early.json("list", "--all")} == {clean: "open", refine: "open", stuck: "open"}
    scripts = [
        {"match": clean, "turns": write_commit("a.txt", "a\n", "add a")},
        {"match": refine, "turns": write_commit("c.txt", "c FIXME\n", "add c") + write_commit("c.txt", "c\n", "fix c")},
        {
            "match": stuck,
            "turns": write_commit("d.txt", "d FIXME\n", "add d") + write_commit("d.txt", "d FIXME again\n", "retry d"),
        },
    ]
    scenario = floor.cwd.parent / "backlog.json"
    scenario.write_text(json.dumps({"scripts": scripts}))
    before = set(tracker_commits(floor))
    started = time.monotonic()
    done = floor(
        "run", "--workers", "2", "--agent", "scripted", "--terminal", "detached", "--until-idle",
        "--tracker-interval", "2", "--max-attempts", "2",
        env={"SHOPFLOOR_SCENARIO": str(scenario)}, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # it blocked an issue: a person is needed
    elapsed = time.monotonic() - started
    final = {clean: "closed", refine: "closed", stuck: "blocked"}
    assert {i: floor.json("show", i)["status"] for i in final} == final, done.stdout + done.stderr

    # The floor committed the tracker on main: its own commits, each touching issues.jsonl and the
    # finished issues' retros alone, debounced (far fewer commits than changes), the last one
    # after the last landing.
    made = [c for c in tracker_commits(floor) if c not in before]
    assert made, done.stdout
    retros = {f".agents/retros/{i}.md" for i in final}
    assert all(set(touched(floor, c)) <= {TRACKER_PATH, *retros} for c in made)
    assert set(floor.git("ls-tree", "--name-only", "main", ".agents/retros/").splitlines()) == retros
    events = sum(len(floor.json("show", i)["events"]) for i in final)
    assert len(made) < events and len(made) <= elapsed / 2 + 2, (len(made), events, elapsed)
    assert floor.git("rev-parse", "main") == made[0]
    exported = floor.cwd.parent / "now.jsonl"
    floor("export", "-o", str(exported))
    assert floor.git("show", f"main:{TRACKER_PATH}") + "\n" == exported.read_text()
    assert floor.git("status", "--porcelain", "--", TRACKER_PATH) == ""  # the main checkout followed
    assert "committed the tracker on main" in done.stdout
    checks = {c["name"]: c for c in floor.json("doctor")["checks"]}
    assert checks["committed"]["status"] == "ok", checks["committed"]

    # A person's pull brings every final status; so does a fresh clone, attempts included.
    early.git("pull", "-q")
    assert {i["id"]: i["status"] for i in early.json("list", "--all")} == final
    fresh = clone(floor, "fresh")
    assert "shopfloor tracker ready" in fresh("init").stdout
    issues = {i["id"]: i for i in fresh.json("list", "--all")}
    assert {i: issues[i]["status"] for i in final} == final
    assert issues[clean]["close_reason"].startswith("merged to main as ")
    tried = {i: issues[i]["metadata"]["floor"]["attempts"] for i in final}
    assert [a["verdict"] for a in tried[clean]] == ["pass"]
    # The pass the queue landed says so: `merged`, not the `queued` it waited as.
    assert [(a["verdict"], a["outcome"]) for a in tried[refine]] == [("fail", "failed"), ("pass", "merged")]
    assert tried[refine][0]["failed_checks"] == ["no-fixme"]
    assert tried[stuck][-1]["outcome"] == "spiral"
    assert any("spiral" in c["text"] for c in fresh.json("show", stuck)["comments"])


def test_lease_renewals_neither_flood_the_history_nor_make_tracker_commits(floor: Runner) -> None:
    with_gate(floor)
    slow = [floor.json("create", f"Slow {n}")["id"] for n in range(2)]
    floor("export", "--commit")
    before = set(tracker_commits(floor))
    linger = lambda n: [  # noqa: E731
        {"tool": {"name": "Write", "input": {"file_path": f"s{n}.txt", "content": f"{n}\n"}}},
        {"tool": {"name": "Bash", "input": {"command": f"sleep 4 && git add -A && git commit -qm 's{n}'"}}},
        {"text": "done"},
    ]
    scenario = floor.cwd.parent / "slow.json"
    scenario.write_text(json.dumps({"scripts": [{"match": i, "turns": linger(n)} for n, i in enumerate(slow)]}))
    done = floor(
        "run", "--workers", "2", "--agent", "scripted", "--terminal", "detached", "--until-idle",
        "--tracker-interval", "1",
        env={"SHOPFLOOR_SCENARIO": str(scenario)},
    )  # fmt: skip
    assert all(floor.json("show", i)["status"] == "closed" for i in slow), done.stdout
    # The floor polls twice a second; a 30-minute lease is renewed only once half of it is gone.
    for issue in slow:
        renewals = [e for e in floor.json("show", issue)["events"] if e["kind"] == "lease_renewed"]
        assert len(renewals) <= 3, (issue, len(renewals))
    # Every tracker commit the floor made carries a real change, never lease times alone.
    made = [c for c in tracker_commits(floor) if c not in before]
    assert made, done.stdout
    for commit in made:
        old = floor.git("show", f"{commit}^:{TRACKER_PATH}").encode()
        new = floor.git("show", f"{commit}:{TRACKER_PATH}").encode()
        assert not leases_only(old, new), floor.git("show", commit)


def test_no_tracker_commits_leaves_main_alone(floor: Runner) -> None:
    with_gate(floor)
    before = floor.git("rev-parse", "main")
    floor.json("create", "an idea")
    floor("update", floor.json("list")[0]["id"], "--defer-until", "+3d")
    scenario = floor.cwd.parent / "nothing.json"  # nothing is ready: the agent is never started
    scenario.write_text(json.dumps({"scripts": [{"match": "nothing", "turns": [{"text": "done"}]}]}))
    run = ("run", "--agent", "scripted", "--terminal", "detached", "--until-idle")
    env = {"SHOPFLOOR_SCENARIO": str(scenario)}
    floor(*run, "--no-tracker-commits", env=env)
    assert floor.git("rev-parse", "main") == before
    floor(*run, env=env)
    after = tracker_commits(floor)
    assert len(after) == 1 and floor.git("rev-parse", "main") == after[0]  # committed once, when idle
    floor(*run, env=env)
    assert tracker_commits(floor) == after  # nothing changed: nothing committed


# --- export --commit: the same commit by hand, and the people around it ---------------------------


def test_export_commit_touches_only_the_tracker_and_nothing_when_unchanged(sf: Runner) -> None:
    committed(sf)
    (sf.cwd / "notes.txt").write_text("a person's unrelated work in progress\n")
    sid = sf.json("create", "first")["id"]
    head = sf.git("rev-parse", "main")
    out = sf.json("export", "--commit")
    assert out["state"] == "committed" and out["issues"] == 1
    assert sf.git("rev-parse", "main^") == head and touched(sf, out["commit"]) == [TRACKER_PATH]
    who = sf.git("log", "-1", "--format=%an <%ae>|%s", "main")
    assert who == "shopfloor queue <queue@shopfloor.invalid>|tracker: 1 issue (1 open)"
    assert sid in sf.git("show", f"main:{TRACKER_PATH}")
    assert sf.git("status", "--porcelain") == "?? notes.txt"  # the checkout followed; nothing else touched
    again = sf("export", "--commit")
    assert "nothing to commit" in again.stdout and sf.git("rev-parse", "main") == out["commit"]
    # Not a branch checked out anywhere: the ref moves by compare-and-swap, no working tree is written.
    sf.git("checkout", "-q", "--detach")
    sf.json("create", "second")
    moved = sf.json("export", "--commit")["commit"]
    assert sf.git("rev-parse", "main") == moved and sf.git("rev-parse", "HEAD") == out["commit"]


def test_a_persons_export_or_edit_in_the_main_checkout_is_never_lost(sf: Runner) -> None:
    committed(sf)
    jsonl = sf.cwd / TRACKER_PATH
    # A person ran `shopfloor export` (the same bytes the commit holds): the fast-forward succeeds.
    sf.json("create", "one")
    sf("export")
    assert sf.git("status", "--porcelain") == f"M {TRACKER_PATH}"  # (stripped)
    sf("export", "--commit")
    assert sf.git("status", "--porcelain") == ""
    # A hand edit: imported into the database, committed, and the person's file is left as it is.
    sid = sf.json("create", "two")["id"]
    text = jsonl.read_text().replace('"title":"one"', '"title":"one, edited by hand"')
    jsonl.write_text(text)
    sf("export", "--commit")
    assert jsonl.read_text() == text
    on_main = sf.git("show", f"main:{TRACKER_PATH}")
    assert "one, edited by hand" in on_main and sid in on_main
    sf.git("checkout", "--", TRACKER_PATH)
    # A staged change is the person's: refused, nothing moves, and it says how to go on.
    sf.json("create", "three")
    jsonl.write_text(jsonl.read_text().replace('"title":"two"', '"title":"two, staged"'))
    sf.git("add", TRACKER_PATH)
    head = sf.git("rev-parse", "main")
    refused = sf("export", "--commit", check=False)
    assert refused.returncode == 1 and "staged change" in refused.stderr and "git restore --staged" in refused.stderr
    assert sf.git("rev-parse", "main") == head and sf.git("status", "--porcelain") == f"M  {TRACKER_PATH}"
    sf.git("restore", "--staged", TRACKER_PATH)
    sf.git("checkout", "--", TRACKER_PATH)
    # An edit the database cannot import (conflict markers) stops the commit: the rule of `export`.
    broken = jsonl.read_text() + "<<<<<<< ours\n"
    jsonl.write_text(broken)
    refused = sf("export", "--commit", check=False)
    assert refused.returncode == 1 and "cannot import" in refused.stderr
    assert jsonl.read_text() == broken and sf.git("rev-parse", "main") == head
    sf.git("checkout", "--", TRACKER_PATH)
    assert sf.json("export", "--commit")["state"] == "committed"


def test_a_committed_file_the_database_cannot_import_stops_the_commit(sf: Runner) -> None:
    committed(sf)
    sf.json("create", "one")
    sf("export")
    jsonl = sf.cwd / TRACKER_PATH
    jsonl.write_text(jsonl.read_text() + "not json\n")
    sf.git("commit", "-qam", "a broken tracker file")
    sf.git("checkout", "-q", "--detach")  # the floor's view: main holds the broken file
    refused = sf("export", "--commit", check=False)
    assert refused.returncode == 1
    assert "main's .shopfloor/issues.jsonl holds changes the database cannot import" in refused.stderr


def test_a_tracker_commit_never_races_a_landing(sf: Runner) -> None:
    config = sf.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + GATE)
    committed(sf)
    sid = sf.json("create", "land me")["id"]
    sf.git("checkout", "-q", "-b", f"floor/{sid}")
    (sf.cwd / "mine.txt").write_text("mine\n")
    sf.git("add", "mine.txt")
    sf.git("commit", "-qm", "mine")
    sf.git("checkout", "-q", "main")
    sf.json("queue", "add", sid)
    env = {**sf.env, "SHOPFLOOR_QUEUE_PAUSE_BEFORE_LAND": "3"}
    queue = subprocess.Popen(
        [str(SHOPFLOOR), "queue", "run", "--once", "--json"], cwd=sf.cwd, env=env, stdout=subprocess.PIPE, text=True
    )
    # The gate has passed and the entry is not landed yet: the pass is in the pause before the
    # ref update, holding the queue's lock.
    gated = lambda: [e for e in sf.json("queue", "list") if e["state"] == "testing" and e["gate_run"]]  # noqa: E731
    until(gated, "the gate to pass")
    busy = sf("export", "--commit", "--wait", "0", check=False)
    assert busy.returncode == 4 and "a queue pass is landing" in busy.stderr
    after = sf.json("export", "--commit")  # waits for the pass, then commits on what it landed
    out, _ = queue.communicate(timeout=60)
    result = json.loads(out)
    assert len(result["landed"]) == 1 and result["retries"] == 0  # the landing was never disturbed
    landed = next(e for e in sf.json("queue", "list", "--all"))["merged"]
    assert sf.git("rev-parse", f"{after['commit']}^") == landed
    assert sf.git("rev-parse", "main") == after["commit"]
    shown = json.loads(sf.git("show", f"main:{TRACKER_PATH}").splitlines()[0])
    assert shown["id"] == sid and shown["status"] == "closed"


# --- the gate -------------------------------------------------------------------------------------


def test_the_gate_lets_only_a_noop_tracker_change_through(sf: Runner) -> None:
    config = sf.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + '\n[gate]\nbuiltins = []\n[[gate.check]]\nname = "ran"\nargv = ["true"]\n')
    committed(sf)
    sid = sf.json("create", "an issue")["id"]

    def branch(name: str, edit: str | None = None, code: bool = False) -> str:
        sf.git("checkout", "-q", "-b", name, "main")
        sf("export")
        if edit:
            path = sf.cwd / TRACKER_PATH
            path.write_text(path.read_text().replace('"title":"an issue"', f'"title":"{edit}"'))
        if code:
            (sf.cwd / "code.txt").write_text("code\n")
        sf.git("add", "-A")
        sf.git("commit", "-qm", name)
        sf.git("checkout", "-q", "main")
        sf.git("checkout", "--", ".")
        return name

    # An export committed alone: data the tracker already holds. Recorded as a pass, no check run.
    noop = sf.json("gate", "run", branch("export-only"))
    assert noop["verdict"] == "pass" and noop["checks"] == [] and noop["note"] == "tracker-only change: not gated"
    assert any(r["id"] == noop["id"] for r in sf.json("gate", "list"))
    # An edit of the file (it would retitle, or close, issues on import): gated like any change.
    edited = sf.json("gate", "run", branch("edits-issues", edit="retitled by a branch"))
    assert "note" not in edited and [c["name"] for c in edited["checks"]] == ["ran"]
    # The tracker file with code riding along: gated.
    riding = sf.json("gate", "run", branch("export-and-code", code=True))
    assert "note" not in riding and [c["name"] for c in riding["checks"]] == ["ran"]
    assert sf.json("show", sid)["title"] == "an issue"  # gating never imported anything


# --- doctor and the hook --------------------------------------------------------------------------


def test_doctor_warns_about_changes_in_no_committed_jsonl(sf: Runner) -> None:
    committed(sf)
    sid = sf.json("create", "only in the database")["id"]
    report = sf("doctor")
    line = next(x for x in report.stdout.splitlines() if x.startswith("warn committed:"))
    assert sid in line and "`shopfloor export --commit`" in line
    assert report.returncode == 0  # a warning, not a failure
    sf("export", "--commit")
    checks = {c["name"]: c for c in sf.json("doctor")["checks"]}
    assert checks["committed"]["status"] == "ok"


def test_the_pre_commit_hook_exports_so_a_persons_commit_carries_the_tracker(sf: Runner) -> None:
    assert "shopfloor init --hooks" in sf("init").stdout  # offered, not done
    assert not (sf.cwd / ".git" / "hooks" / "pre-commit").exists()
    out = sf("init", "--hooks").stdout
    assert "installed the pre-commit hook .git/hooks/pre-commit" in out and "--hooks` adds one" not in out
    assert "nothing changed" in sf("init", "--hooks").stdout
    committed(sf)
    sid = sf.json("create", "carried by a person's commit")["id"]
    (sf.cwd / "work.txt").write_text("work\n")
    sf.git("add", "work.txt")
    sf.git("commit", "-qm", "a person's work")
    assert sorted(touched(sf, "HEAD")) == [TRACKER_PATH, "work.txt"]
    assert sid in sf.git("show", f"HEAD:{TRACKER_PATH}") and sf.git("status", "--porcelain") == ""
    # Inside a floor worker it does nothing: the floor commits the tracker itself.
    sf.json("create", "not carried")
    (sf.cwd / "more.txt").write_text("more\n")
    sf.git("add", "more.txt")
    subprocess.run(["git", "commit", "-qm", "agent"], cwd=sf.cwd, env={**sf.env, "SHOPFLOOR_WORKER": "w1"}, check=True)
    assert touched(sf, "HEAD") == ["more.txt"]


def test_the_hook_never_clobbers_another_and_follows_core_hooks_path(sf: Runner) -> None:
    sf.git("config", "core.hooksPath", ".githooks")
    hooks = sf.cwd / ".githooks"
    hooks.mkdir()
    theirs = "#!/bin/sh\necho their checks\n"
    (hooks / "pre-commit").write_text(theirs)
    refused = sf("init", "--hooks", check=False)
    assert refused.returncode == 4 and "--force" in refused.stderr
    assert (hooks / "pre-commit").read_text() == theirs
    out = sf("init", "--hooks", "--force").stdout
    assert "installed the pre-commit hook .githooks/pre-commit" in out and "pre-commit.before-shopfloor" in out
    assert (hooks / "pre-commit.before-shopfloor").read_text() == theirs
    assert "shopfloor pre-commit hook" in (hooks / "pre-commit").read_text()
    assert sf.json("init")["pre_commit_hook"] is True


@pytest.mark.parametrize("args", [("-o", "elsewhere.jsonl")])
def test_export_commit_refuses_an_output_path(sf: Runner, args: tuple[str, ...]) -> None:
    done = sf("export", "--commit", *args, check=False)
    assert done.returncode == 2 and "drop -o" in done.stderr


def test_a_repository_without_a_committed_tracker_file_is_told_how(sf: Runner, tmp_path: Path) -> None:
    (sf.cwd / "readme.txt").write_text("hi\n")
    sf.git("add", "readme.txt")
    sf.git("commit", "-qm", "no tracker committed yet")
    sf.json("create", "one")
    refused = sf("export", "--commit", check=False)
    assert refused.returncode == 1 and "main has no .shopfloor/issues.jsonl: commit it once" in refused.stderr
