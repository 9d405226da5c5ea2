"""Agent adapters as pure functions: argv lists and event-stream parsing."""

from __future__ import annotations

import json

import pytest

from shopfloor.agents import registry
from shopfloor.agents.base import AgentOptions, SessionState
from shopfloor.agents.claude import ClaudeCode, context_from_transcript
from shopfloor.errors import UsageError


def test_prompts_stay_single_argv_elements() -> None:
    hostile = "fix it; rm -rf / && echo $(whoami) `id` 'quote\""
    argv = ClaudeCode().start_argv("claude", hostile, "extra; rm -rf ~", AgentOptions())
    assert argv[:2] == ["claude", "-p"] and argv[-2:] == ["--", hostile]
    assert "--append-system-prompt=extra; rm -rf ~" in argv
    resumed = ClaudeCode().resume_argv("claude", "sess-1", hostile, AgentOptions())
    assert "--resume=sess-1" in resumed and resumed[-2:] == ["--", hostile]


def test_stream_lines_add_up_to_a_session_state() -> None:
    lines = [
        json.dumps({"type": "system", "subtype": "init", "session_id": "s1", "model": "m"}),
        "{not json",
        json.dumps(
            {
                "type": "assistant",
                "parent_tool_use_id": None,
                "message": {
                    "content": [{"type": "tool_use", "id": "t1", "name": "Write", "input": {}}],
                    "usage": {"input_tokens": 100, "cache_read_input_tokens": 900, "cache_creation_input_tokens": 50},
                },
            }
        ),
        json.dumps(
            {
                "type": "assistant",
                "parent_tool_use_id": "t1",  # a subagent's turn: not the main chain's context
                "message": {"content": [], "usage": {"input_tokens": 999999}},
            }
        ),
        json.dumps(
            {
                "type": "result",
                "is_error": False,
                "total_cost_usd": 0.25,
                "modelUsage": {"m": {"inputTokens": 1000, "outputTokens": 20, "contextWindow": 200000}},
            }
        ),
    ]
    state = SessionState()
    for line in lines:
        for event in ClaudeCode().parse_line(line):
            state.apply(event)
    assert (state.session_id, state.tool_uses, state.context_tokens) == ("s1", 1, 1050)
    assert (state.tokens, state.cost_usd, state.context_window) == (1020, 0.25, 200000)
    assert state.context_used == pytest.approx(1050 / 200000)
    assert state.done and not state.failed
    assert len(state.errors) == 1 and "malformed event line" in state.errors[0]


def test_context_is_unknown_until_the_window_is_reported() -> None:
    state = SessionState(context_tokens=5000)
    assert state.context_used is None


def test_transcript_context_skips_sidechains_and_garbage() -> None:
    lines = [
        json.dumps({"type": "assistant", "message": {"usage": {"input_tokens": 10}}}),
        "garbage",
        json.dumps({"type": "assistant", "isSidechain": True, "message": {"usage": {"input_tokens": 99999}}}),
        json.dumps({"type": "assistant", "message": {"usage": {"input_tokens": 20, "cache_read_input_tokens": 5}}}),
    ]
    assert context_from_transcript(lines) == 25
    assert context_from_transcript([]) is None


def test_registry_knows_claude_and_names_the_known_ones_otherwise() -> None:
    assert registry.get("claude").name == "claude"
    with pytest.raises(UsageError, match=r"\(known: aider, claude, codex, command, gemini, scripted\)"):
        registry.get("gpt-pilot")
