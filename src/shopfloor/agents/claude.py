"""Claude Code (``@anthropic-ai/claude-code``), driven headless with stream-json output.

Flags checked against ``claude --help`` of version 2.1.197, and run end to end against the
scripted model server: ``-p`` (a switch: the prompt is the positional argument, after ``--``
so a prompt starting with ``-`` stays a prompt), ``--output-format stream-json`` (which needs
``--verbose``), ``--dangerously-skip-permissions`` (refused as root unless ``IS_SANDBOX=1``),
``--append-system-prompt=<text>``, ``--resume=<session id>``. With no positional prompt, ``-p``
reads the prompt from stdin (how a long prompt arrives; see ``agents.launch``).

Context in use is input + cache_creation + cache_read tokens of the latest main-chain
assistant turn; the window comes from the result's ``modelUsage`` (1,000,000 for the
default model at that version), never assumed.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from shopfloor.agents.base import AgentEvent, AgentOptions, decode_event, tool_input

_FLAGS = ("--output-format", "stream-json", "--verbose", "--dangerously-skip-permissions")


def _positional(prompt: str | None) -> list[str]:
    """`-p` is a switch; the prompt is positional, fenced by `--`. None: it comes on stdin."""
    return [] if prompt is None else ["--", prompt]


def context_tokens(usage: dict[str, Any]) -> int:
    keys = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    return sum(int(usage.get(k) or 0) for k in keys)


class ClaudeCode:
    name = "claude"
    binary = "claude"
    context_file: str | None = "CLAUDE.md"
    install = "npm install -g @anthropic-ai/claude-code@2.1.197"
    checked_version = "2.1.197"
    default_context_window: int | None = None
    credentials: tuple[str, ...] = (".claude/.credentials.json",)
    state_env: tuple[str, ...] = ("CLAUDE_CONFIG_DIR",)
    stdin_prompt = "prompt"

    def start_argv(self, binary: str, prompt: str | None, system_extra: str | None, opts: AgentOptions) -> list[str]:
        argv = [binary, "-p", *_FLAGS]
        if system_extra:
            argv.append(f"--append-system-prompt={system_extra}")
        return [*argv, *_positional(prompt)]

    def resume_argv(self, binary: str, session_id: str, prompt: str | None, opts: AgentOptions) -> list[str]:
        return [binary, "-p", f"--resume={session_id}", *_FLAGS, *_positional(prompt)]

    def env(self) -> dict[str, str]:
        """What the process needs beyond the model address (which the caller passes in)."""
        return {"IS_SANDBOX": "1"} if hasattr(os, "geteuid") and os.geteuid() == 0 else {}

    def transcript_path(self, home: str, cwd: str, session_id: str) -> str:
        # Every character but letters and digits becomes '-' (seen at 2.1.197: '/' and '_' do).
        project = re.sub(r"[^A-Za-z0-9]", "-", cwd)
        return os.path.join(home, ".claude", "projects", project, f"{session_id}.jsonl")

    def context_from_files(self, home: str, cwd: str, session_id: str) -> tuple[int, int | None] | None:
        return None

    def parse_line(self, line: str) -> list[AgentEvent]:
        """One stream-json line -> events. A malformed line becomes an error event, never a crash."""
        record = decode_event(line)
        if not isinstance(record, dict):
            return [record] if record else []
        kind = record.get("type")
        if kind == "system" and record.get("subtype") == "init":
            return [AgentEvent("started", {"session_id": record.get("session_id"), "model": record.get("model")})]
        if kind == "assistant":
            return self._assistant(record)
        if kind == "result":
            return self._result(record)
        return []

    def _assistant(self, record: dict[str, Any]) -> list[AgentEvent]:
        message = record.get("message") or {}
        events = []
        for block in message.get("content") or []:
            if block.get("type") == "tool_use":
                data = {"name": block.get("name"), "id": block.get("id"), "input": tool_input(block.get("input"))}
                events.append(AgentEvent("tool_use", data))
            elif block.get("type") == "text":
                events.append(AgentEvent("text", {"text": block.get("text", "")}))
        usage = message.get("usage")
        if isinstance(usage, dict) and record.get("parent_tool_use_id") is None:  # main chain only
            context = context_tokens(usage)
            turn = context + int(usage.get("output_tokens") or 0)
            events.append(
                AgentEvent("usage", {"context_tokens": context, "turn_tokens": turn, "message_id": message.get("id")})
            )
        return events

    def _result(self, record: dict[str, Any]) -> list[AgentEvent]:
        models = record.get("modelUsage") or {}
        window = max((int(m.get("contextWindow") or 0) for m in models.values()), default=0) or None
        keys = ("inputTokens", "outputTokens", "cacheReadInputTokens", "cacheCreationInputTokens")
        tokens = sum(int(m.get(k) or 0) for m in models.values() for k in keys)
        return [
            AgentEvent(
                "cost",
                {"cost_usd": float(record.get("total_cost_usd") or 0.0), "tokens": tokens, "context_window": window},
            ),
            AgentEvent("done", {"is_error": bool(record.get("is_error")), "result": record.get("result")}),
        ]


def context_from_transcript(lines: list[str]) -> int | None:
    """Context in use from Claude Code's transcript: the latest main-chain assistant line."""
    latest = None
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("type") == "assistant" and not record.get("isSidechain"):
            usage = (record.get("message") or {}).get("usage")
            if isinstance(usage, dict):
                latest = context_tokens(usage)
    return latest
