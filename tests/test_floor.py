"""The floor end to end with the scripted agent: real workers, real gate, real queue."""

from __future__ import annotations

import json
from typing import Any

from conftest import Runner

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
    )
    metrics = json.loads(done.stdout)
    status = {i: floor.json("show", i)["status"] for i in (first, second, refine, stuck)}
    assert status == {first: "closed", second: "closed", refine: "closed", stuck: "blocked"}, done.stderr
    log = floor.git("log", "--format=%s", "main").splitlines()
    assert log.index("add b") < log.index("add a")  # b (which depends on a) landed after a
    assert "fix c" in log and not any("retry d" in line for line in log)
    assert metrics["merged"] == 3 and metrics["spirals"] == 1
    assert metrics["second_pass_rate"] == 1 / 3 and metrics["first_pass_yield"] == 2 / 3
    assert metrics["gate_failures_by_check"]["no-fixme"] >= 3
    blocked = floor.json("show", stuck)
    assert any("spiral" in c["text"] for c in blocked["comments"])
    assert floor.json("worker", "list") == []  # merged and blocked issues leave no worker behind
