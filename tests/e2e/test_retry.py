"""`shopfloor retry`: a blocked, spiralled or failed issue gets a new series of attempts; several
ids for update/close/reopen; the reason of a block in `list` and `blocked`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from conftest import Runner
from test_floor import after_landing, landed, run_floor, scripted_sessions, setup_gate, write_commit

NOTE = "Write d.txt with the single line d, and never the word FIXME."


def spiral_to_blocked(floor: Runner) -> str:
    """An issue the floor blocks after two attempts that fail the same way."""
    setup_gate(floor)
    sid = floor.json("create", "Add d")["id"]
    turns = write_commit("d.txt", "d FIXME\n", "add d") + write_commit("d.txt", "d FIXME again\n", "retry d")
    scenario = floor.cwd.parent / "spiral.json"
    scenario.write_text(json.dumps({"scripts": [{"match": sid, "turns": turns}]}))
    done = floor(
        "run", "--workers", "1", "--agent", "scripted", "--terminal", "detached", "--until-idle", "--max-attempts", "2",
        env={"SHOPFLOOR_SCENARIO": str(scenario)}, check=False,
    )  # fmt: skip
    assert floor.json("show", sid)["status"] == "blocked", done.stdout + done.stderr
    return sid


def passing(floor: Runner, sid: str, name: str) -> Path:
    scenario = floor.cwd.parent / name
    scenario.write_text(json.dumps({"scripts": [{"match": sid, "turns": write_commit("d.txt", "d\n", "fix d")}]}))
    return scenario


def test_a_spiralled_issue_retried_with_a_note_lands_and_keeps_its_history(floor: Runner) -> None:
    sid = spiral_to_blocked(floor)
    base = floor.git("rev-parse", "main")
    # Why it is blocked is on one line in `blocked` and `list`.
    blocked = floor("blocked").stdout
    assert "status is blocked: spiral: the same failure twice in a row (" in blocked, blocked
    listed = floor("list").stdout
    assert "⊘ spiral: the same failure twice in a row" in listed and len(listed.splitlines()) == 1, listed
    assert floor.json("list")[0]["blocked_reason"].startswith("spiral: the same failure twice")
    assert floor.json("blocked")[0]["reason"].startswith("spiral: the same failure twice")

    out = floor.json("retry", sid, "--note", NOTE)
    assert out == [
        {
            "id": sid,
            "series": 2,
            "status": "open",
            "fresh": False,
            "kept_branch": None,
            "agent": None,
            "note": NOTE,
            "removed_worker": None,
        }
    ]
    shown = floor.json("show", sid)
    assert shown["status"] == "open" and shown["comments"][-1]["text"] == f"Retry: try 2.\n{NOTE}"
    assert shown["comments"][-1]["author"] != "floor"  # the person's comment

    done = run_floor(floor, passing(floor, sid, "pass.json"))
    shown = floor.json("show", sid)
    assert shown["status"] == "closed", done.stdout
    assert landed(floor, base) == ["Add d"] and floor.git("show", "main:d.txt") == "d"
    tried = shown["attempts"]
    assert [(a["series"], a["outcome"]) for a in tried] == [(1, "failed"), (1, "spiral"), (2, "merged")], tried
    # The new agent read the person's note first, then what the earlier attempts did.
    prompt = next(text for text in scripted_sessions(floor) if NOTE in text)
    first = json.loads(prompt)["messages"][0]["content"]
    first = first if isinstance(first, str) else json.dumps(first)
    assert "Earlier attempts at this issue" in first, first
    assert "attempt 2: gate fail (failed: no-fixme), outcome spiral" in first
    assert first.index("A person (") < first.index(NOTE) < first.index("Earlier attempts at this issue")
    assert "3. scripted gen 1 (try 2): pass" in floor("show", sid).stdout
    again = floor("retry", sid, check=False)  # closed now
    assert again.returncode == 4 and "is closed" in again.stderr


def test_retry_fresh_starts_from_the_target_and_keeps_the_old_branch(floor: Runner) -> None:
    sid = spiral_to_blocked(floor)
    old_tip = floor.git("rev-parse", f"floor/{sid}")
    entry = floor.json("queue", "add", f"floor/{sid}")["id"]  # a person queued the old branch meanwhile
    waits = floor("retry", sid, "--fresh", check=False)
    assert waits.returncode == 4 and f"waits in the merge queue (entry {entry}, queued)" in waits.stderr
    assert floor.git("rev-parse", f"floor/{sid}") == old_tip  # nothing changed
    floor("queue", "remove", str(entry))
    typo = floor("retry", sid, "--fresh", "--agent", "cluade", check=False)
    assert typo.returncode == 2 and "unknown agent 'cluade'" in typo.stderr
    assert floor.json("show", sid)["status"] == "blocked"
    out = floor("retry", sid, "--fresh", "--agent", "scripted").stdout
    assert out.strip() == (
        f"{sid}: try 2 is ready for the floor, from the target (old branch kept as floor/{sid}-try1), agent scripted"
    )
    assert floor.git("rev-parse", f"floor/{sid}-try1") == old_tip
    assert floor.git("rev-parse", "--verify", "--quiet", f"refs/heads/floor/{sid}", check=False) == ""
    main_before = floor.git("rev-parse", "main")

    # The floor runs another agent (one that fails at once), but this issue's new series asked for scripted.
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + '\n[agents.command]\nargv = ["sh", "-c", "exit 1"]\n')
    # The new branch is read below, after it landed: keep it (the queue reads this from main).
    config.write_text(config.read_text() + "\n[queue]\nkeep_branches = true\n")
    floor.git("commit", "-qm", "keep landed branches", "--", str(config))
    env = {"SHOPFLOOR_SCENARIO": str(passing(floor, sid, "fresh.json"))}
    done = floor("run", "--workers", "1", "--agent", "command", "--terminal", "detached", "--until-idle", env=env)
    assert floor.json("show", sid)["status"] == "closed", done.stdout
    assert floor.json("show", sid)["attempts"][-1]["agent"] == "scripted"
    # The new branch grew from main, not from the old attempts: none of their commits are in it.
    new_log = floor.git("log", "--format=%s", f"floor/{sid}")
    assert "add d" not in new_log.splitlines() and "retry d" not in new_log.splitlines(), new_log
    assert floor.git("merge-base", "--is-ancestor", main_before, f"floor/{sid}", check=False) == ""
    assert floor.git("rev-parse", f"floor/{sid}-try1") == old_tip  # kept, never deleted


def wait_for(check: Any, what: str, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_retry_refuses_live_closed_and_unknown_issues_and_removes_a_finished_worker(floor: Runner) -> None:
    setup_gate(floor)
    sid = floor.json("create", "Add g")["id"]
    closed = floor.json("create", "Done already")["id"]
    floor("close", closed)
    fresh = floor.json("create", "Never tried")["id"]
    blocked = floor.json("create", "Stuck by hand")["id"]
    floor("update", blocked, "--status", "blocked")
    gate = ".git/go"  # the agent waits for the test to write this file in its workspace
    turns = [
        {"tool": {"name": "Bash", "input": {"command": f"while [ ! -f {gate} ]; do sleep 0.1; done"}}},
        *write_commit("g.txt", "g\n", "add g"),
    ]
    waiting = floor.cwd.parent / "wait.json"
    waiting.write_text(json.dumps({"scripts": [{"match": sid, "turns": turns}]}))
    env = {"SHOPFLOOR_SCENARIO": str(waiting)}
    floor("worker", "start", sid, "--agent", "scripted", "--terminal", "detached", env=env)

    def refused(*ids: str) -> str:
        done = floor("retry", *ids, check=False)
        assert done.returncode != 0 and done.stdout == "" and len(done.stderr.strip().splitlines()) == 1, done
        return done.stderr

    assert "live worker" in refused(sid) and floor.json("show", sid)["status"] == "in_progress"
    assert "is closed: `shopfloor reopen" in refused(blocked, closed)
    assert "no attempt in its current series to retry" in refused(blocked, fresh)
    assert "t-zzzz" in refused(blocked, "t-zzzz")
    assert floor.json("show", blocked)["status"] == "blocked"  # a refusal for one changes none
    assert floor.json("show", closed)["status"] == "closed"

    (floor.cwd.parent / "repo.floor" / sid / ".git" / "go").write_text("")
    wait_for(lambda: floor.json("worker", "list")[0]["state"] == "done", "the agent to finish")
    # The agent finished but nothing gated its commit; the issue is still held for that worker.
    out = floor.json("retry", sid, blocked)
    assert [(o["id"], o["removed_worker"]) for o in out] == [(sid, sid), (blocked, None)]
    assert floor.json("worker", "list") == [] and floor.git("show", f"floor/{sid}:g.txt") == "g"  # branch kept
    assert {floor.json("show", i)["status"] for i in (sid, blocked)} == {"open"}

    # The next run does not trip over the old worker, and gates the commit it never gated.
    quiet = floor.cwd.parent / "quiet.json"
    quiet.write_text(json.dumps({"scripts": [{"match": sid, "turns": [{"text": "already committed"}]}]}))
    floor("update", blocked, fresh, "--status", "deferred")  # only sid is for the floor
    done = run_floor(floor, quiet)
    assert floor.json("show", sid)["status"] == "closed", done.stdout + done.stderr
    assert floor.git("show", "main:g.txt") == "g"


def test_update_close_and_reopen_take_several_ids_all_or_nothing(sf: Runner) -> None:
    a = sf.json("create", "A")["id"]
    b = sf.json("create", "B")["id"]
    bad = sf("update", a, b, "t-zzzz", "-p", "0", check=False)
    assert bad.returncode == 3 and "t-zzzz" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert [sf.json("show", i)["priority"] for i in (a, b)] == [2, 2]
    out = sf("update", a, b, "-p", "0").stdout
    assert out.splitlines() == [f"updated {a}: priority", f"updated {b}: priority"]
    assert [i["priority"] for i in sf.json("update", a, b, "--status", "blocked")] == [0, 0]
    assert sf("update", a, b, "--claim", check=False).returncode == 2

    assert sf("close", a, b, "t-zzzz", check=False).returncode == 3
    assert {sf.json("show", i)["status"] for i in (a, b)} == {"blocked"}
    assert sf("reopen", a, check=False).stdout.strip().endswith("gets another try with `shopfloor retry ID`)")
    sf("close", a, b)
    assert sf("reopen", a, b, "t-zzzz", check=False).returncode == 3
    assert {sf.json("show", i)["status"] for i in (a, b)} == {"closed"}
    sf("reopen", a, b)
    assert {sf.json("show", i)["status"] for i in (a, b)} == {"open"}


def test_a_block_reason_is_the_floors_latest_and_one_line(sf: Runner) -> None:
    sid = sf.json("create", "Stuck")["id"]
    sf("update", sid, "--status", "blocked")
    assert sf("blocked").stdout.splitlines()[-1] == "    status is blocked"  # a person's block: no reason
    assert "⊘" not in sf("list").stdout.split("Stuck")[1]
    sf("comment", sid, "The floor stopped this issue: first reason.\nmore lines")
    sf("comment", sid, "The floor could not start a worker: " + "x" * 300)
    sf("comment", sid, "a person's remark after it")
    reason = sf.json("blocked")[0]["reason"]
    assert reason.startswith("could not start a worker: xxx") and len(reason) == 100 and reason.endswith("…")
    assert sf("blocked").stdout.splitlines()[-1] == f"    status is blocked: {reason}"


def test_a_retry_after_the_queue_refused_counts_only_its_own_queue_rounds(floor: Runner) -> None:
    setup_gate(floor)
    first = floor.json("create", "A", "-p", "1")["id"]
    second = floor.json("create", "B", "-p", "1")["id"]
    scripts = [  # B's agent does nothing about the conflict it is sent back with: blocked
        {"match": first, "turns": write_commit("same.txt", "from a\n", "add a")},
        {"match": second, "turns": [after_landing(first), *write_commit("same.txt", "from b\n", "add b")]},
    ]
    refused = floor.cwd.parent / "refused.json"
    refused.write_text(json.dumps({"scripts": scripts}))
    env = {"SHOPFLOOR_SCENARIO": str(refused)}
    floor(
        "run", "--workers", "2", "--agent", "scripted", "--terminal", "detached", "--until-idle", env=env, check=False
    )
    assert floor.json("show", second)["status"] == "blocked"
    floor("retry", second, "--note", "rebase on main")
    # The new session first ends as it is: its branch head is the one the queue refused before,
    # which, counted with the old rounds, would block it at once. Sent back, it rebases and lands.
    rebase = "git reset -q --hard origin/main && printf 'from b\\n' > same.txt && git commit -qam 'add b again'"
    turns = [{"text": "as it is"}, {"tool": {"name": "Bash", "input": {"command": rebase}}}, {"text": "rebased"}]
    again = floor.cwd.parent / "again.json"
    again.write_text(json.dumps({"scripts": [{"match": second, "turns": turns}]}))
    done = run_floor(floor, again)
    assert floor.json("show", second)["status"] == "closed", done.stdout
    assert floor.git("show", "main:same.txt") == "from b"


def test_a_worker_updates_only_its_own_issue_even_with_several_ids() -> None:
    from shopfloor.channel import policy

    def refusal(**args: Any) -> str | None:
        return policy.refusal("update", args, "t-own", "w", policy.trust_labels([]))

    assert refusal(id="t-own", more_ids=[], status="blocked") is None
    assert "only its own issue t-own, one id" in (refusal(id="t-own", more_ids=["t-other"], status="blocked") or "")


def test_a_spiralled_issue_set_open_by_hand_starts_a_new_series_and_lands(floor: Runner) -> None:
    """`update -s open` (not `retry`) after a spiral: the floor must not judge the old attempts
    again (it blocked the issue within a second, rewriting attempt 1's outcome)."""
    sid = spiral_to_blocked(floor)
    before = [a["outcome"] for a in floor.json("show", sid)["attempts"]]
    floor("update", sid, "-s", "open")
    done = run_floor(floor, passing(floor, sid, "pass.json"))
    assert done.returncode == 0, done.stdout + done.stderr
    shown = floor.json("show", sid)
    assert shown["status"] == "closed"
    attempts = shown["attempts"]
    assert [a["outcome"] for a in attempts[:2]] == before  # the old series is history, unchanged
    assert attempts[-1]["series"] == 2 and attempts[-1]["outcome"] == "merged"
    assert any(c["text"].startswith("Try 2: the issue was set open again") for c in shown["comments"])
