"""`shopfloor run` checks its agent before it claims anything; a worker that cannot start puts its
issue back to open; a run that blocks issues says so; agents always reach `shopfloor` (issue 12)."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import Runner
from workerkit import issue, scenario, wait_for, workers

RUN = ("run", "--agent", "scripted", "--terminal", "detached", "--until-idle", "--builtins-only")
SYSTEM_PATH = os.pathsep.join(sorted({os.path.dirname(shutil.which(t) or "/usr/bin") for t in ("git", "bwrap")}))


def nothing_claimed(runner: Runner, sid: str) -> None:
    shown = runner.json("show", sid)
    assert shown["status"] == "open" and not shown["assignee"], shown
    assert [e["kind"] for e in shown["events"]] == ["created"]
    assert runner.json("worker", "list") == []


def test_a_typo_in_the_agent_is_one_line_with_the_nearest_name_and_claims_nothing(sf: Runner) -> None:
    sid = issue(sf)
    done = sf("run", "--agent", "cluade", "--until-idle", check=False)
    assert done.returncode == 2, done
    assert done.stderr.strip().splitlines() == [
        "error: unknown agent 'cluade': did you mean claude? (known: aider, claude, codex, command, gemini, scripted)"
    ]
    nothing_claimed(sf, sid)


def test_a_missing_agent_cli_names_its_install_command_and_claims_nothing(sf: Runner) -> None:
    sid = issue(sf)
    assert not shutil.which("claude", path=SYSTEM_PATH), "this test needs a PATH without claude"
    done = sf("run", "--until-idle", check=False, env={"PATH": SYSTEM_PATH})  # the default agent: claude
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "'claude' was not found on PATH" in lines[0], lines
    assert "npm install -g @anthropic-ai/claude-code" in lines[0]
    nothing_claimed(sf, sid)


def test_a_bad_agent_config_is_one_line_and_claims_nothing(sf: Runner) -> None:
    sid = issue(sf)
    config = sf.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + "\n[agents.scripted]\ncontext_limit = 7\n")
    done = sf("run", "--agent", "scripted", "--until-idle", check=False)
    assert done.returncode == 2 and "[agents.scripted] context_limit" in done.stderr, done
    assert len(done.stderr.strip().splitlines()) == 1
    nothing_claimed(sf, sid)


def test_a_failing_setup_puts_the_issue_back_to_open_and_three_in_a_row_stop_the_floor(floor: Runner) -> None:
    sid = issue(floor)
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + '\n[workspace]\nsetup = [["false"]]\n')
    plan = scenario(floor, [{"match": sid, "turns": [{"text": "hi"}]}])
    done = floor(*RUN, check=False, env={"SHOPFLOOR_SCENARIO": str(plan)})
    assert done.returncode == 1, done
    assert "error: the floor stopped: 3 workers in a row failed to start" in done.stderr, done.stderr
    assert "workspace setup ['false'] failed" in done.stderr.strip().splitlines()[-1]
    assert done.stdout.count("could not start a worker") == 3 and "blocked" not in done.stdout, done.stdout
    shown = floor.json("show", sid)
    assert shown["status"] == "open" and not shown["assignee"]
    notes = [c["text"] for c in shown["comments"]]
    assert len(notes) == 3 and all("open again (not blocked)" in n and "workspace setup" in n for n in notes)
    assert floor.json("worker", "list") == []


def blocked_by_spiral(sid: str, extra_turns: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """An agent that commits nothing: the gate's `change` check fails, and with --max-attempts 1
    that is a spiral, so the issue is blocked after one attempt."""
    return [{"match": sid, "turns": [*(extra_turns or []), {"text": "nothing to do", "usage": {"input_tokens": 9}}]}]


def test_a_run_that_blocks_an_issue_exits_non_zero_with_a_summary(floor: Runner) -> None:
    first = issue(floor, "Add a")
    plan = scenario(floor, blocked_by_spiral(first))
    done = floor(*RUN, "--max-attempts", "1", "--json", check=False, env={"SHOPFLOOR_SCENARIO": str(plan)})
    assert done.returncode == 1, done
    figures = json.loads(done.stdout)
    assert (
        figures["blocked"] == [{"id": first, "title": "Add a", "reason": "spiral: 1 attempts without progress"}]
        and figures["landed"] == []
    )
    assert figures["spirals"] == 1  # still the metrics object
    # A second run reports only what it blocked itself, as text with what to run next.
    second = issue(floor, "Add b")
    plan = scenario(floor, blocked_by_spiral(second))
    done = floor(*RUN, "--max-attempts", "1", check=False, env={"SHOPFLOOR_SCENARIO": str(plan)})
    assert done.returncode == 1, done
    tail = done.stdout.split("landed 0\n", 1)[1].splitlines()
    assert tail == [
        "blocked 1:",
        f"  {second}  Add b: spiral: 1 attempts without progress",
        f"next: `shopfloor show {second}` for what was tried, then `shopfloor retry {second}` "
        "(with --note to guide the agent) to give it another series of attempts",
    ], done.stdout


def test_a_run_that_blocks_nothing_exits_zero(floor: Runner) -> None:
    sid = issue(floor, "Add a")
    turns = [
        {"tool": {"name": "Write", "input": {"file_path": "a.txt", "content": "a\n"}}},
        {"tool": {"name": "Bash", "input": {"command": "git add -A && git commit -qm 'add a'"}}},
        {"text": "done"},
    ]
    plan = scenario(floor, [{"match": sid, "turns": turns}])
    done = floor(*RUN, "--json", check=False, env={"SHOPFLOOR_SCENARIO": str(plan)})
    assert done.returncode == 0, done
    figures = json.loads(done.stdout)
    assert [i["id"] for i in figures["landed"]] == [sid] and figures["blocked"] == []


def test_an_agent_runs_shopfloor_when_the_floor_was_started_from_a_venv_not_on_path(floor: Runner) -> None:
    assert not shutil.which("shopfloor", path=SYSTEM_PATH), "this test needs a PATH without shopfloor"
    sid = issue(floor)
    bash = {"tool": {"name": "Bash", "input": {"command": f"shopfloor comment {sid} 'reached the tracker'"}}}
    plan = scenario(floor, [{"match": sid, "turns": [bash, {"text": "ok"}]}])
    env = {"SHOPFLOOR_SCENARIO": str(plan), "PATH": SYSTEM_PATH}  # run as .venv/bin/shopfloor, by its path
    floor.json("worker", "start", sid, "--agent", "scripted", "--terminal", "detached", env=env)
    wait_for(floor, sid)
    texts = [c["text"] for c in floor.json("show", sid)["comments"]]
    assert "reached the tracker" in texts, (texts, (Path(workers(floor)[sid]["log_dir"]) / "pane.log").read_text())


def test_worker_start_refuses_when_the_agent_could_not_run_shopfloor(floor: Runner) -> None:
    """`python -m shopfloor` from an interpreter with no `shopfloor` next to it, on a PATH without one."""
    sid = issue(floor)
    plan = scenario(floor, [{"match": sid, "turns": [{"text": "hi"}]}])
    base = os.path.realpath(sys.executable)  # the interpreter behind the venv: no console script beside it
    assert not os.path.exists(os.path.join(os.path.dirname(base), "shopfloor"))
    src = Path(__file__).resolve().parents[2] / "src"
    env = dict(floor.env, PATH=SYSTEM_PATH, SHOPFLOOR_SCENARIO=str(plan))
    env["PYTHONPATH"] = os.pathsep.join([str(src), *site.getsitepackages()])
    done = subprocess.run(
        [base, "-m", "shopfloor", "worker", "start", sid, "--agent", "scripted", "--terminal", "detached"],
        cwd=floor.cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done
    assert done.stderr.strip().splitlines() == [
        f"error: the agent could not run `shopfloor`: it is not on the worker's PATH ({SYSTEM_PATH!r}), so "
        "`shopfloor done` and `comment` would fail: start shopfloor through its installed `shopfloor` command "
        "(e.g. .venv/bin/shopfloor), not `python -m shopfloor` from an environment without it"
    ]
    assert floor.json("show", sid)["status"] == "open" and workers(floor) == {}


def test_the_pure_parts(tmp_path: Path) -> None:
    from shopfloor.floor.summary import reason_of
    from shopfloor.workers.selfpath import own_dir, path_first

    assert reason_of("The floor stopped this issue: spiral: 4 attempts without progress.\nLast gate run: 3") == (
        "spiral: 4 attempts without progress"
    )
    assert reason_of(None) == "no reason recorded"
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "shopfloor"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert own_dir(str(script), "/usr/bin/python3") == str(bin_dir)  # started as the console script
    assert own_dir("-m", str(bin_dir / "python")) == str(bin_dir)  # python -m shopfloor from the venv
    assert own_dir("-m", str(tmp_path / "python")) is None
    assert path_first("/usr/bin:/x:/bin", "/x") == "/x:/usr/bin:/bin"
    assert path_first(None, "/x") == "/x" and path_first("/a", None) == "/a"
