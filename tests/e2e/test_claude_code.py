"""The real Claude Code CLI (pinned; `make test` installs it) against the scripted model server.

This is the end-to-end proof the workers will rely on: a headless session edits files in its
working directory through its own Write tool, reports the usage the scenario chose, and a
follow-up continues the same session with --resume.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Runner, base_env
from shopfloor.agents import registry
from shopfloor.agents.base import AgentOptions, SessionState
from shopfloor.agents.claude import ClaudeCode, context_from_transcript
from shopfloor.models.scenario import parse_scenario
from shopfloor.models.server import ScriptedModelServer
from workerkit import pane_log, wait_for

REPO = Path(__file__).resolve().parents[2]
PINNED = REPO / ".venv" / "npm" / "node_modules" / ".bin" / "claude"


def claude_binary() -> str:
    found = os.environ.get("SHOPFLOOR_CLAUDE") or (str(PINNED) if PINNED.exists() else None)
    if not found:
        hint = "install node and npm (apt-get install nodejs npm), then run `make test`, which installs it"
        if shutil.which("npm") is None:
            hint = "npm is missing: " + hint
        pytest.fail(f"the Claude Code CLI is not installed at {PINNED}: {hint}", pytrace=False)
    return found


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    path.mkdir()
    return path


@pytest.fixture
def server(workspace: Path) -> Iterator[ScriptedModelServer]:
    scenario = {
        "scripts": [
            {
                "match": "sf-e2e1",
                "turns": [
                    {
                        "tool": {
                            "name": "Write",
                            "input": {"file_path": str(workspace / "hello.txt"), "content": "hello from a script\n"},
                        },
                        "usage": {"input_tokens": 1200, "output_tokens": 40},
                    },
                    {"text": "Wrote hello.txt.", "usage": {"input_tokens": 1500, "output_tokens": 10}},
                    {
                        "text": "Follow-up handled.",
                        "usage": {"input_tokens": 2000, "output_tokens": 5, "cache_read_input_tokens": 40000},
                    },
                ],
            }
        ]
    }
    running = ScriptedModelServer(parse_scenario(json.dumps(scenario).encode(), "e2e.json")).start()
    yield running
    running.stop()


def run_claude(workspace: Path, server: ScriptedModelServer, tmp_path: Path, argv: list[str]) -> list[str]:
    """Run the argv the claude adapter built (so its exact flags are what is proven here)."""
    env = base_env(tmp_path)
    env.update(
        ANTHROPIC_BASE_URL=server.url,
        ANTHROPIC_API_KEY="scripted",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        IS_SANDBOX="1",  # --dangerously-skip-permissions is refused as root without it
    )
    done = subprocess.run(
        argv,
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [line for line in done.stdout.splitlines() if line.strip()]


def session_state(lines: list[str]) -> SessionState:
    state = SessionState()
    adapter = registry.get("claude")
    for line in lines:
        for event in adapter.parse_line(line):
            state.apply(event)
    return state


def test_claude_code_session_writes_files_and_reports_usage(
    workspace: Path, server: ScriptedModelServer, tmp_path: Path
) -> None:
    adapter, opts = ClaudeCode(), AgentOptions()
    # A prompt that starts like an option, and a system-prompt addition: both must arrive as text.
    argv = adapter.start_argv(claude_binary(), "-rf Please work on sf-e2e1", "Be brief.", opts)
    raw = run_claude(workspace, server, tmp_path, argv)
    lines = [json.loads(line) for line in raw]
    assert (workspace / "hello.txt").read_text() == "hello from a script\n"
    init = next(line for line in lines if line.get("type") == "system" and line.get("subtype") == "init")
    result = lines[-1]
    assert result["type"] == "result" and result["is_error"] is False
    assert result["session_id"] == init["session_id"]
    model_usage = next(iter(result["modelUsage"].values()))
    assert model_usage["inputTokens"] == 1200 + 1500
    assert model_usage["outputTokens"] == 40 + 10
    assert model_usage["contextWindow"] > 0
    assert len(server.requests) == 2
    first = server.requests[0]
    assert "-rf Please work on sf-e2e1" in json.dumps(first["messages"][0])
    assert "Be brief." in json.dumps(first.get("system"))
    assert server.requests[1]["messages"][-1]["content"][0]["type"] == "tool_result"

    state = session_state(raw)
    assert (state.session_id, state.done, state.failed) == (init["session_id"], True, False)
    assert state.tool_uses == 1 and state.tokens == 2700 + 50
    assert state.context_tokens == 1500 and state.context_used == 1500 / model_usage["contextWindow"]

    follow_raw = run_claude(
        workspace, server, tmp_path, adapter.resume_argv(claude_binary(), init["session_id"], "One more thing", opts)
    )
    follow = [json.loads(line) for line in follow_raw]
    result = follow[-1]
    assert result["session_id"] == init["session_id"]
    assert result["result"] == "Follow-up handled."
    assert next(iter(result["modelUsage"].values()))["cacheReadInputTokens"] == 40000
    assert session_state(follow_raw).context_tokens == 2000 + 40000
    # The transcript agrees: context in use is the latest main-chain assistant turn's usage.
    home = base_env(tmp_path)["HOME"]
    transcript = Path(ClaudeCode().transcript_path(home, str(workspace.resolve()), init["session_id"]))
    assert context_from_transcript(transcript.read_text().splitlines()) == 42000


def test_worker_start_runs_claude_code_to_a_commit_and_reads_its_usage(floor: Runner) -> None:
    """The issue's proof: `worker start` with the real CLI and the scripted model, in tmux."""
    binary = claude_binary()
    sid = floor.json("create", "Say hello")["id"]
    worktree = (floor.cwd.parent / "repo.floor" / sid).resolve()
    scenario = {
        "scripts": [
            {
                "match": sid,
                "turns": [
                    {
                        "tool": {
                            "name": "Write",
                            "input": {"file_path": str(worktree / "hello.txt"), "content": "hello\n"},
                        },
                        "usage": {"input_tokens": 3000, "output_tokens": 40},
                    },
                    {
                        "tool": {
                            "name": "Bash",
                            "input": {
                                "command": "git add hello.txt && git commit -qm 'Say hello'",
                                "description": "commit",
                            },
                        },
                        "usage": {"input_tokens": 3500, "output_tokens": 30},
                    },
                    {
                        "text": "Committed hello.txt.",
                        "usage": {"input_tokens": 4000, "output_tokens": 12, "cache_read_input_tokens": 96000},
                    },
                ],
            }
        ]
    }
    server = ScriptedModelServer(parse_scenario(json.dumps(scenario).encode(), "worker.json")).start()
    try:
        config = floor.cwd / ".shopfloor" / "config.toml"
        config.write_text(config.read_text() + f'\n[agents.claude]\nbinary = "{binary}"\n')
        started = floor.json(
            "worker",
            "start",
            sid,
            "--agent",
            "claude",
            "--terminal",
            "tmux",
            env={
                "ANTHROPIC_BASE_URL": server.url,
                "ANTHROPIC_API_KEY": "scripted",
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            },
        )
        assert started["terminal"].startswith("tmux:")
        worker = wait_for(floor, sid, timeout=180)
    finally:
        server.stop()
    assert worker["state"] == "done", (worker, pane_log(worker))
    assert floor.git("log", "-1", "--format=%s", f"floor/{sid}", cwd=worktree) == "Say hello"  # in its clone
    assert floor.git("show", f"floor/{sid}:hello.txt", cwd=worktree) == "hello"
    listed = {w["name"]: w for w in floor.json("worker", "list")}[sid]
    assert listed["tokens"] >= 3000 + 3500 + 4000 + 96000
    window = listed["context_window"]
    assert window and listed["context_used"] == (4000 + 96000) / window  # Claude Code's own usage report
    assert listed["session_id"] and listed["agent"] == "claude"
    # In its sandbox the agent's HOME is private, in the worker's log directory (`home/`).
    private_home = str(Path(listed["log_dir"]) / "home")
    transcript = Path(ClaudeCode().transcript_path(private_home, str(worktree), listed["session_id"]))
    assert context_from_transcript(transcript.read_text().splitlines()) == 4000 + 96000
