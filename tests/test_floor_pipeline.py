"""The floor as a pipeline (issue 13): gates run beside the loop, up to ``--gate-jobs`` at once.

Through the real CLI, the scripted agent and a real gate check that takes a while: the gate runs
of two agents that finish together overlap in time (the loop did not wait for the first), and
``--gate-jobs 1`` makes them take turns.
"""

from __future__ import annotations

import json
from typing import Any

from conftest import Runner
from test_floor import write_commit

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
    return any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:], strict=False))


def _two_issues(floor: Runner, tag: str) -> list[str]:
    ids = [floor.json("create", f"{tag} {n}")["id"] for n in (1, 2)]
    scripts: list[dict[str, Any]] = [
        {"match": i, "turns": write_commit(f"{i}.txt", f"{i}\n", f"add {i}")} for i in ids
    ]
    (floor.cwd.parent / f"{tag}.json").write_text(json.dumps({"scripts": scripts}))
    return ids


def _run(floor: Runner, tag: str, *extra: str) -> str:
    done = floor(
        "run", "--workers", "2", "--agent", "scripted", "--terminal", "detached", "--until-idle", *extra,
        env={"SHOPFLOOR_SCENARIO": str(floor.cwd.parent / f"{tag}.json")}, timeout=180,
    )  # fmt: skip
    return str(done.stdout)


def test_gates_run_beside_the_loop_and_gate_jobs_bounds_how_many_at_once(floor: Runner) -> None:
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + SLOW_GATE)
    floor.git("add", "-A")
    floor.git("commit", "-qm", "a slow gate")

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
