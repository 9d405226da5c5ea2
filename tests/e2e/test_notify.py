"""`[notify] command` tells the person who is needed: a real `shopfloor run` with the scripted
agent, and a command that records every event it is given on stdin."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import Runner
from shopfloor.errors import ValidationError
from shopfloor.floor.notify import event, kind_of_block, parse
from test_floor import GATE  # the one no-fixme gate the floor tests share

RECORDER = "import sys; open(sys.argv[1], 'a').write(sys.stdin.read())"


def commit(path: str, text: str) -> list[dict[str, Any]]:
    return [
        {"tool": {"name": "Write", "input": {"file_path": path, "content": text}}},
        {"tool": {"name": "Bash", "input": {"command": f"git add -A && git commit -qm 'write {path}'"}}},
        {"text": "done"},
    ]


def quiet(floor: Runner) -> dict[str, str]:
    """A scenario for runs that have nothing to do: the scripted agent must have one to start."""
    path = floor.cwd.parent / "nothing.json"
    path.write_text(json.dumps({"scripts": [{"match": "nothing", "turns": [{"text": "done"}]}]}))
    return {"SHOPFLOOR_SCENARIO": str(path)}


def events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_the_person_is_told_of_a_spiral_a_waiting_approval_and_an_idle_floor(floor: Runner) -> None:
    log = floor.cwd.parent / "notified.jsonl"
    config = floor.cwd / ".shopfloor" / "config.toml"
    notify = f"\n[notify]\ncommand = {json.dumps([sys.executable, '-c', RECORDER, str(log)])}\n"
    config.write_text(config.read_text() + GATE + notify)
    floor.git("add", "-A")
    floor.git("commit", "-qm", "gate and notify")
    stuck = floor.json("create", "Add d")["id"]
    careful = floor.json("create", "Add e", "--vibe", "1")["id"]  # vibe 1: a person approves it
    scripts = [
        {"match": stuck, "turns": commit("d.txt", "d FIXME\n") + commit("d.txt", "d FIXME\n")},
        {"match": careful, "turns": commit("e.txt", "e\n")},
    ]
    scenario = floor.cwd.parent / "notify.json"
    scenario.write_text(json.dumps({"scripts": scripts}))
    done = floor(
        "run",
        "--agent",
        "scripted",
        "--terminal",
        "detached",
        "--until-idle",
        "--max-attempts",
        "2",
        env={"SHOPFLOOR_SCENARIO": str(scenario)},
        check=False,
    )
    got = events(log)
    kinds = [e["event"] for e in got]
    spiral = next(e for e in got if e["event"] == "spiral")
    assert spiral["issue"] == stuck and spiral["title"] == "Add d" and "no-fixme" in spiral["reason"]
    waiting = [e for e in got if e["event"] == "needs-approval"]
    assert [e["issue"] for e in waiting] == [careful]  # once, however many turns it waited
    assert kinds[-1] == "idle" and got[-1]["counts"]["blocked"] == 1
    assert all(e["repo"] == str(floor.cwd) and e["at"].endswith("Z") for e in got)
    # The change that needs approval waits in the queue (it is not sent back to its agent, which
    # would only make it spiral); once a person approves it, it lands.
    assert f"{careful}: gate needs approval" in done.stdout
    assert floor.json("show", careful)["status"] != "blocked"
    floor("approve", careful)
    floor("queue", "run", "--until-empty")
    assert floor.json("show", careful)["status"] == "closed"
    assert floor.git("show", "main:e.txt") == "e"


def test_a_failing_notify_command_is_a_warning_and_the_floor_goes_on(floor: Runner) -> None:
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + '\n[notify]\ncommand = ["no-such-notifier-xyz"]\n')
    floor.git("commit", "-qam", "notify")
    done = floor(
        "run", "--agent", "scripted", "--builtins-only", "--terminal", "detached", "--until-idle", env=quiet(floor)
    )
    assert "warning: [notify] command 'no-such-notifier-xyz' was not found" in done.stdout


def test_a_bad_notify_table_stops_run_before_it_claims_anything(floor: Runner) -> None:
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + '\n[notify]\ncommand = "notify-send shopfloor"\n')
    floor.git("commit", "-qam", "notify")
    issue = floor.json("create", "ready work")["id"]
    done = floor("run", "--agent", "scripted", "--builtins-only", "--until-idle", check=False, env=quiet(floor))
    assert done.returncode == 2 and "notify.command must be a list of strings" in done.stderr
    assert floor.json("show", issue)["status"] == "open"


def test_the_pure_parts() -> None:
    assert kind_of_block("spiral: the same failure twice") == "spiral"
    assert kind_of_block("a crash loop: the agent crashed 3 times") == "crash-loop"
    assert kind_of_block("the merge queue could not land it") == "blocked"
    assert event("idle", "/r", "2026-01-01T00:00:00Z", counts={}) == {
        "event": "idle",
        "repo": "/r",
        "at": "2026-01-01T00:00:00Z",
        "counts": {},
    }
    with pytest.raises(ValueError):
        event("party", "/r", "now")
    assert parse({}, "c.toml") is None
    assert parse({"notify": {"command": ["curl", "-d@-", "https://x"]}}, "c.toml") == ("curl", "-d@-", "https://x")
    with pytest.raises(ValidationError, match="unknown key"):
        parse({"notify": {"cmd": ["x"]}}, "c.toml")
    with pytest.raises(ValidationError, match="must name a program"):
        parse({"notify": {"command": []}}, "c.toml")


def test_a_floor_stopped_by_failed_starts_tells_the_person_why(floor: Runner) -> None:
    log = floor.cwd.parent / "notified.jsonl"
    config = floor.cwd / ".shopfloor" / "config.toml"
    notify = f"\n[notify]\ncommand = {json.dumps([sys.executable, '-c', RECORDER, str(log)])}\n"
    config.write_text(config.read_text() + '\n[workspace]\nsetup = [["false"]]\n' + notify)
    floor.git("commit", "-qam", "a setup that fails, and notify")
    floor.json("create", "never starts")
    done = floor(
        "run", "--agent", "scripted", "--builtins-only", "--terminal", "detached", "--until-idle", check=False,
        env=quiet(floor),
    )  # fmt: skip
    assert done.returncode != 0
    stopped = [e for e in events(log) if e["event"] == "stopped"]
    assert len(stopped) == 1 and "setup" in stopped[0]["reason"], events(log)
