"""Every registered adapter: argv lists that keep prompts as data, and the CLIs' real output parsed.

The files under tests/data/agents are verbatim output of the pinned CLIs (codex 0.171.0,
gemini 0.61.0, aider 0.86.2) run against stand-in model servers; the versions are in the names.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shopfloor.agents import registry
from shopfloor.agents.base import AgentOptions, SessionState
from shopfloor.agents.codex import context_from_rollout
from shopfloor.agents.gemini import context_from_chat

DATA = Path(__file__).parent.parent / "data" / "agents"
HOSTILE = "-rf /; $(touch pwned) `id` 'quote\" && echo"


def replay(agent: str, name: str) -> SessionState:
    state = SessionState()
    adapter = registry.get(agent)
    for line in (DATA / name).read_text().splitlines():
        for event in adapter.parse_line(line):
            state.apply(event)
    return state


@pytest.mark.parametrize("agent", ["claude", "codex", "gemini", "aider", "scripted"])
def test_a_hostile_prompt_is_exactly_one_argument_and_never_an_option(agent: str) -> None:
    adapter = registry.get(agent)
    opts = AgentOptions(scenario="/s.json", state_dir="/logs/w")
    argv = adapter.start_argv("/bin/agent", HOSTILE, "PROTOCOL", opts)
    holding = [arg for arg in argv if HOSTILE in arg]
    assert len(holding) == 1
    arg = holding[0]
    position = argv.index(arg)
    # A value that starts like an option is fenced: by `--` before it, or inside a `--flag=` element.
    assert argv[position - 1] == "--" if arg == HOSTILE else arg.startswith("--") and "=" in arg
    assert any("PROTOCOL" in a for a in argv)
    resumed = adapter.resume_argv("/bin/agent", "sess-1", HOSTILE, opts)
    if resumed is not None:
        assert any("sess-1" in a for a in resumed) and sum(HOSTILE in a for a in resumed) == 1


def test_registry_has_one_entry_per_cli_with_a_checked_version_and_install_hint() -> None:
    assert set(registry.ADAPTERS) == {"claude", "codex", "gemini", "aider", "command", "scripted"}
    for name, adapter in registry.ADAPTERS.items():
        assert adapter.name == name and adapter.checked_version and adapter.install


def test_codex_stream_gives_session_tools_text_tokens_and_done() -> None:
    state = replay("codex", "codex-0.171.0-tool.jsonl")
    assert state.session_id == "01a22263-6254-7562-a040-178edf0e2660"
    assert state.tool_uses == 1 and state.last_text == "MOCK REPLY #2"
    assert state.tokens == 2003 + 100  # the session's running total
    assert state.done and not state.failed


def test_codex_failed_turn_is_a_failure_with_the_message() -> None:
    state = replay("codex", "codex-0.171.0-401.jsonl")
    assert state.done and state.failed
    assert "401 Unauthorized" in state.errors[-1]


def test_codex_context_comes_from_its_token_count_events() -> None:
    lines = (DATA / "codex-0.171.0-rollout-token_count.jsonl").read_text().splitlines()
    assert context_from_rollout(["garbage", *lines]) == (1001, 475000)
    assert context_from_rollout([]) is None


def test_codex_finds_its_session_file_by_thread_id(tmp_path: Path) -> None:
    adapter = registry.get("codex")
    day = tmp_path / ".codex" / "sessions" / "2026" / "11" / "28"
    day.mkdir(parents=True)
    (day / "rollout-2026-11-28T13-54-05-abc-123.jsonl").write_text(
        (DATA / "codex-0.171.0-rollout-token_count.jsonl").read_text()
    )
    assert adapter.context_from_files(str(tmp_path), "/w", "abc-123") == (1001, 475000)
    assert adapter.context_from_files(str(tmp_path), "/w", "other") is None


def test_gemini_stream_gives_session_tools_text_tokens_and_done() -> None:
    state = replay("gemini", "gemini-0.61.0-tool.jsonl")
    assert state.session_id == "532ac28f-bf2c-4fdd-9d31-4db690869b5e"
    assert state.tool_uses == 1 and state.last_text == "MOCK GEMINI REPLY #2"
    assert state.tokens == 1883 and state.context_window is None  # not reported: config or the default decides
    assert registry.get("gemini").default_context_window == 1_048_576
    assert state.done and not state.failed


def test_gemini_error_result_is_a_failure() -> None:
    state = replay("gemini", "gemini-0.61.0-401.jsonl")
    assert state.done and state.failed and "API key not valid" in state.errors[-1]


def test_gemini_context_comes_from_the_latest_model_turn_of_its_chat_file(tmp_path: Path) -> None:
    lines = (DATA / "gemini-0.61.0-chat.jsonl").read_text().splitlines()
    assert context_from_chat(lines) == (901, None)
    chats = tmp_path / ".gemini" / "tmp" / "proj" / "chats"
    chats.mkdir(parents=True)
    (chats / "session-2026-11-28T13-54-1afb6ce8.jsonl").write_text("\n".join(lines))
    found = registry.get("gemini").context_from_files(str(tmp_path), "/w", "1afb6ce8-5f81-42c8-850f-de7984927598")
    assert found == (901, None)


def test_aider_text_output_gives_tokens_and_cost() -> None:
    state = replay("aider", "aider-0.86.2-ok.txt")
    assert state.tokens == 2400 + 45 and state.cost_usd == pytest.approx(0.0064)
    assert not state.failed


def test_aider_authentication_failure_is_a_failure_although_it_exits_zero() -> None:
    state = replay("aider", "aider-0.86.2-401.txt")
    assert state.failed and "AuthenticationError" in state.errors[0] and "authenticate you" in state.errors[-1]


def test_aider_keeps_its_history_files_out_of_the_worktree() -> None:
    argv = registry.get("aider").start_argv("aider", "p", None, AgentOptions(state_dir="/logs/w"))
    assert argv[argv.index("--chat-history-file") + 1] == "/logs/w/aider.chat.history.md"
    assert "--no-gitignore" in argv


def test_the_command_agent_substitutes_inside_elements_and_needs_a_template() -> None:
    adapter = registry.get("command")
    argv = adapter.start_argv("", HOSTILE, "sys", AgentOptions(argv=("tool", "--ask={prompt}", "{system}")))
    assert argv == ["tool", f"--ask={HOSTILE}", "sys"]
    with pytest.raises(Exception, match="argv template"):
        adapter.start_argv("", "p", None, AgentOptions())


def test_a_configured_window_is_not_overridden_by_an_agent_that_does_not_report_one() -> None:
    state = SessionState(context_window=200_000)
    for line in (DATA / "gemini-0.61.0-tool.jsonl").read_text().splitlines():
        for event in registry.get("gemini").parse_line(line):
            state.apply(event)
    assert state.context_window == 200_000


def test_the_command_agent_leaves_placeholders_inside_the_prompt_alone() -> None:
    argv = registry.get("command").start_argv(
        "", "title with {system} and {prompt}", "SYS", AgentOptions(argv=("t", "{prompt}"))
    )
    assert argv == ["t", "SYS\n\ntitle with {system} and {prompt}"]  # no {system}: the protocol goes first
