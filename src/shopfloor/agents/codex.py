"""Codex CLI (``@openai/codex``), driven headless with ``codex exec --json``.

Flags checked against ``codex exec --help`` and ``codex exec resume --help`` of version
0.171.0, and run against a stand-in Responses API server: ``exec --json``,
``--skip-git-repo-check``, ``--dangerously-bypass-approvals-and-sandbox``, ``-c
developer_instructions=<TOML string>`` (there is no system-prompt flag; this adds a developer
message), ``exec resume <thread id> <prompt>``, and ``--`` before the prompt so a prompt that
starts with ``-`` stays a prompt. ``-`` as the prompt reads it from stdin (``exec -``, ``exec
resume <id> -``): how a long prompt arrives (see ``agents.launch``). Otherwise stdin must not be
an open pipe (codex reads it to EOF); the shim gives it /dev/null.

Events: ``thread.started`` (the session id), ``item.*`` (commands, file changes, messages),
``turn.completed`` whose ``usage`` is a running total for the whole session (input includes
cached), ``turn.failed``. No cost is reported. The context in use and the window
(``model_context_window``) are only in the session file's ``token_count`` events
(``~/.codex/sessions/YYYY/MM/DD/rollout-*-<thread id>.jsonl``), so they are read from there.
Against an unreachable server codex retries forever: the floor's no-event timeout handles it.
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterable
from typing import Any

from shopfloor.agents.base import (
    AgentEvent,
    AgentOptions,
    Context,
    context_in_file,
    decode_event,
    latest_record,
    tool_input,
)

_FLAGS = ("--json", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox")
_TOOL_ITEMS = ("command_execution", "file_change", "mcp_tool_call", "web_search")


class CodexCLI:
    name = "codex"
    binary = "codex"
    context_file: str | None = None
    install = "npm install -g @openai/codex@0.171.0"
    checked_version = "0.171.0"
    default_context_window: int | None = None
    credentials: tuple[str, ...] = (".codex/auth.json", ".codex/config.toml")
    state_env: tuple[str, ...] = ("CODEX_HOME",)
    stdin_prompt = "prompt"

    def start_argv(self, binary: str, prompt: str | None, system_extra: str | None, opts: AgentOptions) -> list[str]:
        argv = [binary, "exec", *_FLAGS]
        if system_extra:
            # -c takes a TOML value; a JSON string (non-ASCII kept as is) is a valid TOML basic string.
            argv += ["-c", "developer_instructions=" + json.dumps(system_extra, ensure_ascii=False)]
        return [*argv, "--", "-" if prompt is None else prompt]  # `-`: read it from stdin

    def resume_argv(self, binary: str, session_id: str, prompt: str | None, opts: AgentOptions) -> list[str]:
        return [binary, "exec", "resume", *_FLAGS, "--", session_id, "-" if prompt is None else prompt]

    def env(self) -> dict[str, str]:
        return {}

    def parse_line(self, line: str) -> list[AgentEvent]:
        record = decode_event(line)
        if not isinstance(record, dict):
            return [record] if record else []
        kind = record.get("type")
        if kind == "thread.started":
            return [AgentEvent("started", {"session_id": record.get("thread_id")})]
        if kind == "item.completed":
            return self._item(record.get("item") or {})
        if kind == "turn.completed":
            usage = record.get("usage") or {}
            total = int(usage.get("input_tokens") or 0) + int(usage.get("output_tokens") or 0)
            return [AgentEvent("usage", {"total_tokens": total}), AgentEvent("done", {"is_error": False})]
        if kind == "turn.failed":
            message = str((record.get("error") or {}).get("message", "turn failed"))
            return [AgentEvent("error", {"message": message}), AgentEvent("done", {"is_error": True})]
        if kind == "error":  # also non-fatal notices such as "Reconnecting..."
            return [AgentEvent("error", {"message": str(record.get("message", ""))})]
        return []

    def _item(self, item: dict[str, Any]) -> list[AgentEvent]:
        kind = item.get("type")
        if kind in _TOOL_ITEMS:
            changed = [c.get("path") for c in item.get("changes") or [] if isinstance(c, dict)]
            shown = tool_input(item.get("command") or changed or item.get("query") or "")
            return [AgentEvent("tool_use", {"name": kind, "id": item.get("id"), "input": shown})]
        if kind == "agent_message":
            return [AgentEvent("text", {"text": str(item.get("text", ""))})]
        if kind == "error":
            return [AgentEvent("error", {"message": str(item.get("message", ""))})]
        return []

    def transcript_path(self, home: str, cwd: str, session_id: str) -> str | None:
        root = os.environ.get("CODEX_HOME") or os.path.join(home, ".codex")
        found = glob.glob(
            os.path.join(glob.escape(root), "sessions", "*", "*", "*", f"rollout-*-{glob.escape(session_id)}.jsonl")
        )
        return max(found) if found else None

    def context_from_files(self, home: str, cwd: str, session_id: str) -> tuple[int, int | None] | None:
        return context_in_file(self.transcript_path(home, cwd, session_id), context_from_rollout)


def context_from_rollout(lines: Iterable[str]) -> Context | None:
    """(tokens in context, window) from the latest ``token_count`` event of a Codex session file."""
    return latest_record(lines, '"token_count"', _token_count)


def _token_count(record: dict[str, Any]) -> Context | None:
    payload = record.get("payload") if isinstance(record.get("payload"), dict) else record
    info = payload.get("info") if isinstance(payload, dict) and payload.get("type") == "token_count" else None
    if isinstance(info, dict) and isinstance(info.get("last_token_usage"), dict):
        window = info.get("model_context_window")
        return (int(info["last_token_usage"].get("input_tokens") or 0), int(window) if window else None)
    return None
