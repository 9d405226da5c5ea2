"""The pure parts of workers, and the process checks they rely on."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shopfloor.agents.base import AgentEvent, SessionState
from shopfloor.agents.claude import ClaudeCode
from shopfloor.errors import ConflictError
from shopfloor.tracker.schema import blank_issue
from shopfloor.workers import procs
from shopfloor.workers.progress import describe
from shopfloor.workers.prompt import build_prompt, system_extra
from shopfloor.workers.terminal import session_name


def test_tmux_session_names_are_safe_and_differ_per_repository() -> None:
    one = session_name("/srv/a/app/.git", "t-a3f8")
    two = session_name("/srv/b/app/.git", "t-a3f8")
    assert one != two and one.startswith("sf-app-") and one.endswith("-t-a3f8")
    weird = session_name("/srv/my.repo: x/.git", "t-a.b")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", weird)


def test_a_message_split_over_stream_lines_counts_its_tokens_once() -> None:
    line = {
        "type": "assistant",
        "parent_tool_use_id": None,
        "message": {"id": "msg_1", "content": [{"type": "text", "text": "a"}], "usage": {"input_tokens": 100}},
    }
    state = SessionState()
    for _ in range(3):  # Claude Code prints one line per content block, each with the message's usage
        for event in ClaudeCode().parse_line(json.dumps(line)):
            state.apply(event)
    assert state.tokens == 100 and state.context_tokens == 100


def test_progress_lines_are_short_and_show_the_context_share() -> None:
    state = SessionState(context_tokens=50_000, context_window=200_000, tokens=60_000)
    assert describe(AgentEvent("usage", {}), state) == "usage context 50,000 tokens (25.0% of 200,000), 60,000 so far"
    long = describe(AgentEvent("text", {"text": "word " * 200}), state)
    assert long is not None and len(long) <= 170 and long.endswith("…")
    assert describe(AgentEvent("text", {"text": "  "}), state) is None


def test_the_prompt_carries_the_issue_and_the_protocol_names_the_branch() -> None:
    issue = blank_issue("t-1", "Fix `rm -rf` $(x)", "2026-11-30T10:00:00.000000Z", "me")
    issue.update(description="Details", acceptance="Tests pass", vibe=2)
    prompt = build_prompt(issue, "Also: be brief")
    assert prompt.startswith("Work on issue t-1: Fix `rm -rf` $(x)")
    assert "Details" in prompt and "Acceptance criteria:\nTests pass" in prompt and "Vibe level 2" in prompt
    assert prompt.endswith("Also: be brief")
    assert "branch floor/t-1" in system_extra("t-1", "floor/t-1")


def test_a_pid_is_alive_only_with_its_own_start_time_and_not_as_a_zombie() -> None:
    me = os.getpid()
    assert procs.is_alive(me, procs.start_time(me))
    assert not procs.is_alive(me, "1")  # the same pid with another start time is another process
    assert not procs.is_alive(None, None)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = procs.start_time(child.pid)
    deadline = time.monotonic() + 10
    while procs.start_time(child.pid) is not None and time.monotonic() < deadline:
        time.sleep(0.01)  # exited but not reaped: a zombie
    assert not procs.is_alive(child.pid, started)
    child.wait()


def test_an_existing_workspace_is_reused_and_a_stranger_directory_refused(tmp_path: Path, monkeypatch) -> None:
    from conftest import base_env
    from shopfloor.workspace import worktrees

    for key, value in base_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    repo = tmp_path / "r"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "x"], cwd=repo, check=True)
    first = worktrees.ensure(repo, "t-1")
    again = worktrees.ensure(repo, "t-1")
    assert first.created and first.new_branch and not again.created and again.path == first.path
    (tmp_path / "r.floor" / "t-2").mkdir()
    with pytest.raises(ConflictError, match="not a shared clone of this repository"):
        worktrees.ensure(repo, "t-2")


def test_a_finished_worker_still_closing_down_is_waited_for_not_called_running() -> None:
    """`worker rm` right after a worker reports done: its shim records the ending, then closes its
    channel and log. That moment is waited out (liveness.settled), not refused as "running"."""
    import dataclasses
    import threading

    from shopfloor.workers.liveness import is_running, settled
    from shopfloor.workers.records import Worker

    def process(seconds: float) -> subprocess.Popen[bytes]:
        child = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"])
        threading.Thread(target=child.wait, daemon=True).start()  # reaped, so it does not linger as a zombie
        return child

    closing = process(0.5)
    worker = Worker(
        name="w",
        issue="t-1",
        actor="worker/w",
        branch="floor/t-1",
        worktree="/nonexistent",
        agent="scripted",
        state="done",
        terminal="detached",
        log_dir="/nonexistent",
        started_at="2026-11-30T00:00:00.000000Z",
        pid=closing.pid,
        pid_start=procs.start_time(closing.pid),
    )
    assert is_running(worker)  # its shim is still there ...
    assert settled(worker, timeout=30)  # ... and ends: nothing of it runs any more
    lingering = process(60)
    try:
        stuck = dataclasses.replace(worker, pid=lingering.pid, pid_start=procs.start_time(lingering.pid))
        assert not settled(stuck, timeout=0.3)  # a shim that does not end is still refused
    finally:
        lingering.kill()
    assert not settled(dataclasses.replace(worker, state="running", pid=None), timeout=0.1)
