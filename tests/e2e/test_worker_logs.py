"""Nothing an agent did is lost from view: removed workers' logs are archived per issue and run,
`shopfloor logs` shows them, `show` says where each attempt's log is, and old ones are pruned."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from conftest import Runner
from test_floor import setup_gate, write_commit
from workerkit import commit_turn, issue, scenario, start, wait_for


def archive_of(runner: Runner, issue_id: str) -> Path:
    return runner.cwd / ".git" / "shopfloor" / "archive" / issue_id


def test_a_spiralled_issue_keeps_each_attempts_logs(floor: Runner) -> None:
    setup_gate(floor)
    sid = issue(floor, "Add d")
    turns = write_commit("d.txt", "d FIXME\n", "add d") + write_commit("d.txt", "d FIXME again\n", "retry d")
    floor(
        "run", "--workers", "1", "--agent", "scripted", "--terminal", "detached", "--until-idle", "--max-attempts", "2",
        env={"SHOPFLOOR_SCENARIO": str(scenario(floor, [{"match": sid, "turns": turns}]))},
        check=False,  # it ends with an issue blocked
    )  # fmt: skip
    assert floor.json("show", sid)["status"] == "blocked"
    peek = floor("worker", "peek", sid, check=False)  # the worker is gone...
    assert peek.returncode == 3 and "`shopfloor logs ISSUE`" in peek.stderr

    shown = floor("logs", sid).stdout  # ...and what its agent did and said is not
    assert shown.count("== attempt ") == 2, shown
    assert "== run 3, the lessons turn: scripted gen 3" in shown  # asked what the next agent should know
    first, second = shown.split("== attempt 2")
    assert "tool  Write" in first and "tool  Bash" in first and "text  add d: done" in first
    assert "text  retry d: done" in second and "text  add d: done" not in second
    assert "prompt (start, " in first and f"Work on issue {sid}" in first  # the prompts it was sent
    assert "prompt (resume, " in second and "The independent gate" in second

    runs = sorted(p.name for p in archive_of(floor, sid).iterdir())
    assert runs == ["001-gen1", "002-gen2", "003-gen3"], runs
    for path in archive_of(floor, sid).rglob("*"):
        assert path.name != "spec.json" and path.name not in ("home", "tmp"), path
        if path.is_file():
            text = path.read_text(errors="replace")
            assert "SHOPFLOOR_TOKEN" not in text and '"token"' not in text, path

    attempts = floor.json("show", sid)["attempts"]
    assert [Path(a["log"]).name for a in attempts] == ["001-gen1", "002-gen2"]
    assert f"log {attempts[1]['log']}" in floor("show", sid).stdout

    picked = floor.json("logs", sid, "--attempt", "2")
    assert [(p["attempt"], p["generation"]) for p in picked] == [(2, 2)]
    assert picked[0]["path"] == attempts[1]["log"]
    assert any("retry d: done" in line for line in picked[0]["lines"])
    assert not any("add d: done" in line for line in picked[0]["lines"])
    assert any(line.startswith("prompt (") for line in picked[0]["lines"])  # the gate's report sent back
    too_far = floor("logs", sid, "--attempt", "4", check=False)
    assert too_far.returncode == 3 and "pick --attempt 1..3" in too_far.stderr


def test_removing_a_finished_hand_started_worker_archives_its_logs(floor: Runner) -> None:
    sid = issue(floor, "Add hello")
    wait = {"tool": {"name": "Bash", "input": {"command": "sleep 1.5"}}}
    turns = [*commit_turn("hello.txt", "hi\n", "add hello"), wait, {"text": "hello is in"}]
    start(floor, sid, scenario(floor, [{"match": sid, "turns": turns}]), "--terminal", "detached")
    followed = floor("logs", sid, "--follow").stdout  # what is there, then what comes, until it ends
    assert followed.count("tool  Write") == 1 and followed.count("text  hello is in") == 1, followed
    assert "worker done (exit status 0)" in followed
    worker = wait_for(floor, sid)
    live = floor.json("logs", sid)
    assert [(e["attempt"], e["live"]) for e in live] == [(1, True)]
    assert any("text  hello is in" in line for line in live[0]["lines"])

    floor("worker", "rm", sid, "--force")  # its commit is kept on its branch
    assert not Path(worker["log_dir"]).exists()
    kept = floor.json("logs", sid)
    assert [(e["attempt"], e["generation"], e["live"]) for e in kept] == [(1, 1, False)]
    assert any("tool  Write" in line for line in kept[0]["lines"])
    assert any("text  hello is in" in line for line in kept[0]["lines"])
    run = archive_of(floor, sid) / "001-gen1"
    assert Path(kept[0]["path"]) == run
    assert sorted(p.name for p in run.iterdir()) == ["events.jsonl", "meta.json", "pane.log", "prompts.jsonl"]
    prompt = json.loads((run / "prompts.jsonl").read_text())
    assert prompt["generation"] == 1 and "Add hello" in prompt["prompt"]


def test_logs_of_an_unknown_id_or_an_issue_never_worked_on_is_one_line(sf: Runner) -> None:
    unknown = sf("logs", "t-zzzz", check=False)
    assert unknown.returncode == 3 and len(unknown.stderr.splitlines()) == 1, unknown.stderr
    sid = issue(sf)
    none = sf("logs", sid, check=False)
    assert none.returncode == 3 and none.stderr.strip() == (
        f"error: no agent logs for {sid}: no worker has run on it (or its logs were pruned)"
    )


def test_the_archive_of_a_long_closed_issue_is_pruned(floor: Runner) -> None:
    sid = issue(floor, "Add hello")
    start(floor, sid, scenario(floor, [{"match": sid, "turns": [{"text": "nothing to do"}]}]), "--terminal", "detached")
    wait_for(floor, sid)
    floor("worker", "rm", sid)
    floor("close", sid)
    assert floor("logs", sid).returncode == 0  # closed just now: kept
    assert archive_of(floor, sid).is_dir()

    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + "\n[floor]\nkeep_logs_days = -1\n")
    bad = floor("logs", sid, check=False)
    assert bad.returncode != 0 and "keep_logs_days must be a number of days >= 0" in bad.stderr
    assert len(bad.stderr.splitlines()) == 1 and archive_of(floor, sid).is_dir()

    config.write_text(config.read_text().replace("keep_logs_days = -1", "keep_logs_days = 3"))
    with sqlite3.connect(floor.cwd / ".git" / "shopfloor" / "tracker.db") as conn:
        conn.execute("UPDATE issues SET closed_at = '2026-01-01T00:00:00.000000Z' WHERE id = ?", (sid,))
    gone = floor("logs", sid, check=False)
    assert gone.returncode == 3 and "no agent logs" in gone.stderr
    assert not archive_of(floor, sid).exists()


def test_a_start_whose_setup_fails_keeps_what_the_setup_printed(floor: Runner) -> None:
    config = floor.cwd / ".shopfloor" / "config.toml"
    setup = """["sh", "-c", "echo installing; echo 'no such package: lefpad' >&2; exit 3"]"""
    config.write_text(config.read_text() + f"\n[workspace]\nsetup = [{setup}]\n")
    floor.git("commit", "-qam", "setup")
    sid = issue(floor)
    failed = floor(
        "worker", "start", sid, "--agent", "scripted", "--terminal", "detached", check=False,
        env={"SHOPFLOOR_SCENARIO": str(scenario(floor, [{"match": sid, "turns": [{"text": "hi"}]}]))},
    )  # fmt: skip
    assert failed.returncode != 0 and "exit code 3" in failed.stderr, failed.stderr
    shown = floor("logs", sid).stdout
    assert "== attempt 1: scripted gen 1 (its start failed, archived)" in shown, shown
    assert "setup  installing" in shown and "setup  no such package: lefpad" in shown
    assert floor.json("show", sid)["attempts"] == []


def test_a_log_directory_splits_into_runs_at_each_recorded_prompt() -> None:
    from shopfloor.workers.archive import SPLIT, split

    def at(events: int, pane: int) -> dict[str, int]:
        return {name: 0 for name in SPLIT} | {"events.jsonl": events, "pane.log": pane}

    records = [
        {"generation": 1, "prompt": "start", "offsets": at(0, 0)},
        {"generation": 2, "prompt": "the gate's report", "offsets": at(500, 80)},
        {"generation": 3, "prompt": "a handoff note", "offsets": at(900, 120)},
    ]
    runs = split(records, 3)
    assert [(g, r["events.jsonl"], r["pane.log"], [p["prompt"] for p in ps]) for g, r, ps in runs] == [
        (1, (0, 500), (0, 80), ["start"]),
        (2, (500, 900), (80, 120), ["the gate's report"]),
        (3, (900, None), (120, None), ["a handoff note"]),
    ]
    assert [g for g, _, _ in split([], 4)] == [4]  # logs from before prompts were recorded: one run


def test_only_long_closed_or_long_forgotten_issues_lose_their_logs() -> None:
    from shopfloor.workers.archive import expired

    day, now = 86400.0, 100 * 86400.0
    assert expired(now - 15 * day, True, now, now, 14)  # closed 15 days ago
    assert not expired(now - 13 * day, True, now - 20 * day, now, 14)  # closed 13 days ago
    assert not expired(None, True, now - 400 * day, now, 14)  # open: kept, however old its files
    assert expired(None, False, now - 15 * day, now, 14)  # not in the tracker, files 15 days old
    assert not expired(None, False, now - day, now, 14)
