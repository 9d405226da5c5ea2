"""Helpers for worker tests: a repository with a commit, scenario files, waiting for a worker."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from conftest import Runner

FINAL = {"done", "failed", "killed", "lost"}
T = TypeVar("T")


def issue(runner: Runner, title: str = "Add hello", **fields: str) -> str:
    args = [title]
    for key, value in fields.items():
        args += [f"--{key}", value]
    return str(runner.json("create", *args)["id"])


def scenario(runner: Runner, scripts: list[dict[str, Any]], **top: Any) -> Path:
    path = runner.cwd.parent / f"scenario-{len(list(runner.cwd.parent.glob('scenario-*')))}.json"
    path.write_text(json.dumps({"scripts": scripts, **top}))
    return path


def commit_turn(path: str, content: str, message: str, tokens: int = 1000) -> list[dict[str, Any]]:
    """Turns that write a file and commit it, as an agent following the protocol does."""
    return [
        {
            "tool": {"name": "Write", "input": {"file_path": path, "content": content}},
            "usage": {"input_tokens": tokens, "output_tokens": 40},
        },
        {
            "tool": {"name": "Bash", "input": {"command": f"git add -A && git commit -qm '{message}'"}},
            "usage": {"input_tokens": tokens + 200, "output_tokens": 30},
        },
    ]


def start(runner: Runner, issue_id: str, scenario_file: Path | None = None, *args: str, **kw: Any) -> Any:
    env = {"SHOPFLOOR_SCENARIO": str(scenario_file)} if scenario_file else {}
    return runner.json("worker", "start", issue_id, "--agent", kw.pop("agent", "scripted"), *args, env=env, **kw)


def until(check: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    """Wait for a fact, not for a time: poll ``check`` until it returns something truthy, and return it.

    The deadline only bounds a test that would otherwise hang; it says nothing about how fast the
    fact comes, so a loaded machine makes the test slower, never wrong. Fails naming ``what``.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.05)


def workers(runner: Runner) -> dict[str, Any]:
    return {w["name"]: w for w in runner.json("worker", "list")}


def wait_for(runner: Runner, name: str, states: set[str] = FINAL, timeout: float = 90.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        worker = workers(runner)[name]
        if worker["state"] in states:
            return worker
        if time.monotonic() > deadline:
            raise AssertionError(f"worker {name} stayed {worker['state']}: {worker}")
        time.sleep(0.1)


def pane_log(worker: dict[str, Any]) -> str:
    return (Path(worker["log_dir"]) / "pane.log").read_text()
