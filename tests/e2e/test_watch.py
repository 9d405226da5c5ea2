"""Watching the floor (issue 12, item 7): `status --watch` refreshes workers, context bars, last
events, the queue and the counts; the context bar is known from an agent's first usage event.

tests/data/agents/claude-2.1.197-stream.jsonl is verbatim stdout of the pinned Claude Code
(2.1.197, its default model) against the scripted model server: a Bash turn, then a text turn.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import SHOPFLOOR, Runner
from shopfloor.agents import registry
from shopfloor.agents.base import AgentEvent, SessionState
from shopfloor.agents.windows import known_window
from shopfloor.cli.status_view import ERASE_BELOW, ERASE_LINE, HOME, Snapshot, frame, lines
from shopfloor.queue.entries import Entry
from shopfloor.workers.progress import headline
from shopfloor.workers.records import Worker
from workerkit import issue, scenario, start, wait_for, workers

DATA = Path(__file__).parent.parent / "data" / "agents"


def claude_states(**start: int | None) -> list[SessionState]:
    """The session state after each line of Claude Code's real stream."""
    state, seen = SessionState(**start), []  # type: ignore[arg-type]
    adapter = registry.get("claude")
    for line in (DATA / "claude-2.1.197-stream.jsonl").read_text().splitlines():
        for event in adapter.parse_line(line):
            state.apply(event)
        seen.append(SessionState(**{**state.__dict__}))
    return seen


def test_the_first_usage_event_of_a_claude_stream_already_gives_a_context_fraction() -> None:
    init, first_turn, _, second_turn, result = claude_states()
    assert init.model == "claude-opus-4-8[1m]" and init.window == 1_000_000  # known from the model's name
    assert first_turn.context_used == 12_000 / 1_000_000  # before the result, which alone reports the window
    assert second_turn.context_used == (2_000 + 30_000) / 1_000_000
    assert result.context_window == 1_000_000 and result.done


def test_the_window_comes_from_the_agents_report_then_config_then_the_model_then_the_default() -> None:
    # [agents.claude] context_window beats the model's known size until the agent reports its own.
    _, first_turn, *_, result = claude_states(context_window=400_000)
    assert first_turn.window == 400_000 and first_turn.context_used == 12_000 / 400_000
    assert result.window == 1_000_000  # the agent's own report wins
    # The adapter's default comes last: the known size beats it, and it holds for an unknown model.
    state = SessionState(default_window=50_000)
    state.apply(AgentEvent("started", {"model": "claude-sonnet-4-5"}))
    assert state.window == 200_000
    unknown = SessionState(default_window=50_000)
    unknown.apply(AgentEvent("started", {"model": "scripted-model"}))
    state.apply(AgentEvent("usage", {"context_tokens": 10_000}))
    assert unknown.window == 50_000 and state.context_used == 0.05


@pytest.mark.parametrize(
    ("model", "window"),
    [
        ("claude-opus-4-8[1m]", 1_000_000),  # as Claude Code 2.1.197 reports them
        ("claude-sonnet-5[1m]", 1_000_000),
        ("claude-sonnet-4-5", 200_000),
        ("gemini-3.1-pro-preview", 1_048_576),  # Gemini CLI's tokenLimit()
        ("scripted-model", None),
        (None, None),
    ],
)
def test_known_windows_by_model_name(model: str | None, window: int | None) -> None:
    assert known_window(model) == window


def test_a_workers_last_event_is_what_it_did_with_the_tool_input_not_a_usage_count() -> None:
    state = SessionState()
    bash = AgentEvent("tool_use", {"name": "Bash", "input": "git commit -qm 'add \x1b[2J app'"})
    assert headline([bash, AgentEvent("usage", {"context_tokens": 5})], state) == (
        "tool Bash: git commit -qm 'add \ufffd[2J app'"
    )
    assert headline([AgentEvent("usage", {"context_tokens": 5})], state) is None  # keeps the previous one
    long = headline([AgentEvent("tool_use", {"name": "Bash", "input": "x" * 500})], state)
    assert long is not None and len(long) <= 120 and long.endswith("…")


def worker(name: str, state: str, used: float | None, last: str | None) -> Worker:
    return Worker(
        name, name, "floor", f"floor/{name}", "/w", "claude", state, "detached", "/logs", "2026-01-01T00:00:00Z",
        context_used=used, last_event=last,
    )  # fmt: skip


def entry(number: int, branch: str, state: str) -> Entry:
    return Entry(number, branch, None, "main", state, "abc", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z")


def test_a_snapshot_renders_workers_live_queue_entries_and_counts() -> None:
    busy = worker("t-a1", "running", 0.25, "tool  Bash: make \x1b[31m test " + "y" * 100)
    snap = Snapshot(
        at="2026-11-30T05:01:02.5Z",
        workers=(busy, worker("t-b2", "done", None, None)),
        queue=(entry(1, "floor/t-c3", "merged"), entry(2, "floor/t-d4", "conflict"), entry(3, "floor/t-d4", "queued")),
        counts={"open": 2, "in_progress": 1},
        unconfined=(),
    )
    shown = lines(snap)
    assert shown[0] == "workers:"
    last = ("tool Bash: make \ufffd[31m test " + "y" * 100)[:71] + "…"  # printable, one line, cut to 72
    assert shown[1] == "  t-a1           t-a1         claude   running  [##........] 25%  " + last
    assert shown[2] == "  t-b2           t-b2         claude   done     -                 -"
    assert shown[3:] == [
        "queue: 1 waiting, 1 merged",  # the conflict round before the branch was queued again is history
        "     3 queued         floor/t-d4",
        "issues: in_progress 1, open 2",
    ]
    piped = frame(snap, 0.5, terminal=False)
    assert piped.splitlines()[0] == "shopfloor status at 05:01:02 (every 0.5s; Ctrl-C ends)"
    assert "\x1b" not in piped
    drawn = frame(snap, 0.5, terminal=True)  # redrawn in place: from the top, each line erased to its end
    assert drawn.startswith(HOME) and drawn.endswith(ERASE_BELOW)
    assert drawn.count(ERASE_LINE) == len(shown) + 1
    narrow = frame(snap, 0.5, terminal=True, width=40)  # a wrapped line would push the next redraw down
    assert max(len(line.removesuffix(ERASE_LINE)) for line in narrow.removeprefix(HOME).splitlines()) == 40


def test_status_watch_shows_a_running_workers_context_share_and_then_what_changed(floor: Runner) -> None:
    sid = issue(floor)
    worktree = (floor.cwd.parent / "repo.floor" / sid).resolve()
    turns = [
        {
            "tool": {"name": "Bash", "input": {"command": "until [ -e go ]; do sleep 0.05; done; rm go"}},
            "usage": {"input_tokens": 50_000, "output_tokens": 10},
        },
        {"text": "All done.", "usage": {"input_tokens": 60_000, "output_tokens": 5}},
    ]
    # No [agents.scripted] context_window: the bar comes from the model the agent names.
    plan = scenario(floor, [{"match": sid, "turns": turns}], model="claude-sonnet-4-5", context_window=300_000)
    start(floor, sid, plan)
    running = wait_for(floor, sid, {"running"}, timeout=60)
    deadline = time.monotonic() + 60
    while not running["context_used"] and running["state"] == "running" and time.monotonic() < deadline:
        running = workers(floor)[sid]
    assert running["state"] == "running" and running["context_used"] == 50_000 / 200_000
    assert "[##........] 25%" in floor("status").stdout
    peeked = "\n".join(floor.json("worker", "peek", sid)["lines"])
    assert "usage context 50,000 tokens (25.0% of 200,000)" in peeked

    watch = subprocess.Popen(
        [str(SHOPFLOOR), "status", "--watch", "--interval", "0.5", "--count", "3"],
        cwd=floor.cwd,
        env=floor.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert watch.stdout is not None
    first = [watch.stdout.readline()]
    while first[-1] and not first[-1].startswith("issues:"):  # the first snapshot ends with the counts
        first.append(watch.stdout.readline())
    watch.send_signal(signal.SIGSTOP)  # hold the watcher between two snapshots while the floor changes
    try:
        (worktree / "go").touch()
        wait_for(floor, sid)
        floor("create", "Another one")
    finally:
        watch.send_signal(signal.SIGCONT)
    rest, err = watch.communicate(timeout=30)
    assert watch.returncode == 0 and err == ""
    snapshots = ("".join(first) + rest).split("\n\n")
    assert len(snapshots) == 3 and all(s.startswith("shopfloor status at ") for s in snapshots)
    worker_line = next(line for line in snapshots[0].splitlines() if line.startswith(f"  {sid} "))
    assert "scripted running  [##........] 25%" in worker_line
    assert "tool Bash: until [ -e go ]; do sleep 0.05; done; rm go" in worker_line
    assert "issues: in_progress 1" in snapshots[0]
    later = snapshots[-1].splitlines()
    done_line = next(line for line in later if line.startswith(f"  {sid} "))
    assert "scripted done     [##........] 20%" in done_line and done_line.endswith("done success")
    assert "issues: in_progress 1, open 1" in later  # the new issue shows up


def test_status_watch_ends_quietly_on_ctrl_c_and_refuses_a_bad_interval(sf: Runner) -> None:
    watch = subprocess.Popen(
        [str(SHOPFLOOR), "status", "--watch", "--interval", "0.2"],
        cwd=sf.cwd,
        env=sf.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert watch.stdout is not None
    assert watch.stdout.readline().startswith("shopfloor status at ")
    watch.send_signal(signal.SIGINT)
    _, err = watch.communicate(timeout=30)
    assert watch.returncode == 0 and err == ""
    bad = sf("status", "--watch", "--interval", "0", check=False)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.splitlines() == ["error: --interval 0 is out of range: give 0.1 to 3600 seconds"]
    streamed = sf("status", "--watch", "--interval", "0.1", "--count", "2", "--json").stdout.splitlines()
    assert [json.loads(line)["issues"] for line in streamed] == [{}, {}]


def test_a_running_claude_code_worker_shows_its_context_share_before_it_ends(floor: Runner) -> None:
    """The situation of the issue, with the real CLI (pinned) and the scripted model server."""
    from shopfloor.models.scenario import parse_scenario
    from shopfloor.models.server import ScriptedModelServer
    from test_claude_code import claude_binary

    binary = claude_binary()
    sid = issue(floor)
    worktree = (floor.cwd.parent / "repo.floor" / sid).resolve()
    wait = {"command": "until [ -e go ]; do sleep 0.05; done; rm go", "description": "wait"}
    turns = [
        {"tool": {"name": "Bash", "input": wait}, "usage": {"input_tokens": 30_000, "output_tokens": 40}},
        {"text": "Waited.", "usage": {"input_tokens": 40_000, "output_tokens": 10}},
    ]
    plan = {"scripts": [{"match": sid, "turns": turns}]}
    server = ScriptedModelServer(parse_scenario(json.dumps(plan).encode(), "claude.json")).start()
    try:
        config = floor.cwd / ".shopfloor" / "config.toml"
        config.write_text(config.read_text() + f'\n[agents.claude]\nbinary = "{binary}"\n')
        model_env = {
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "scripted",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        }
        floor.json("worker", "start", sid, "--agent", "claude", "--terminal", "detached", env=model_env)
        deadline = time.monotonic() + 120
        running = workers(floor)[sid]
        while not running["context_used"] and running["state"] in ("starting", "running"):
            assert time.monotonic() < deadline, running
            time.sleep(0.1)
            running = workers(floor)[sid]
        assert running["state"] == "running", running
        # Claude Code reports the window only in its final result; its model's name gives it now.
        assert running["context_used"] == 30_000 / 1_000_000 and running["context_window"] == 1_000_000
        assert "[..........] 3%" in floor("status").stdout
        (worktree / "go").touch()
        ended = wait_for(floor, sid, timeout=120)
    finally:
        server.stop()
    assert ended["state"] == "done" and ended["context_used"] == 40_000 / 1_000_000
