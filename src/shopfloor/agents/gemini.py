"""Gemini CLI (``@google/gemini-cli``), driven headless with ``--output-format stream-json``.

Flags checked against ``gemini --help`` of version 0.61.0, and run against a stand-in
Gemini API: ``--prompt=<text>`` (the ``=`` form keeps a prompt that starts with ``-`` a
prompt), ``--output-format stream-json``, ``--yolo`` (approve every tool call),
``--skip-trust`` (without it an untrusted folder exits 55), ``--resume <session uuid>``.
There is no flag that adds to the system prompt (``GEMINI_SYSTEM_MD`` replaces it whole), so
shopfloor's protocol goes in front of the prompt. ``--prompt`` is "appended to input on stdin (if
any)": a long prompt comes on stdin (the protocol in front of it), and ``--prompt`` says so.

Events: ``init`` (session id, model), ``message`` (assistant text arrives in ``delta``
chunks), ``tool_use``, ``tool_result``, ``error`` (not fatal), ``result`` with ``status`` and
``stats`` (tokens of this run only; no cost). The context in use is the latest model turn's
``tokens.input`` in the session file (``~/.gemini/tmp/<project>/chats/session-*-<id8>.jsonl``);
the window is not reported, so it is taken from config (default 1,048,576, the CLI's own
figure for its default models). A 401 exits with status 145; an unreachable server is retried
for minutes: the floor's no-event timeout handles it.
"""

from __future__ import annotations

import glob
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

_FLAGS = ("--output-format", "stream-json", "--yolo", "--skip-trust")
DEFAULT_WINDOW = 1_048_576
ON_STDIN = "(Your task is the text above.)"


class GeminiCLI:
    name = "gemini"
    binary = "gemini"
    context_file: str | None = "GEMINI.md"
    install = "npm install -g @google/gemini-cli@0.61.0"
    checked_version = "0.61.0"
    default_context_window: int | None = DEFAULT_WINDOW  # when neither config nor the agent says
    credentials: tuple[str, ...] = (".gemini/oauth_creds.json", ".gemini/settings.json", ".gemini/google_accounts.json")
    state_env: tuple[str, ...] = ("GEMINI_CLI_HOME",)
    stdin_prompt = "all"  # no system-prompt flag: the protocol goes in front of the prompt

    def start_argv(self, binary: str, prompt: str | None, system_extra: str | None, opts: AgentOptions) -> list[str]:
        text = f"{system_extra}\n\n{prompt}" if system_extra and prompt is not None else prompt
        # None: the protocol and the prompt are on stdin, and --prompt is appended to them
        return [binary, f"--prompt={ON_STDIN if text is None else text}", *_FLAGS]

    def resume_argv(self, binary: str, session_id: str, prompt: str | None, opts: AgentOptions) -> list[str]:
        return [binary, "--resume", session_id, f"--prompt={ON_STDIN if prompt is None else prompt}", *_FLAGS]

    def env(self) -> dict[str, str]:
        return {}

    def parse_line(self, line: str) -> list[AgentEvent]:
        record = decode_event(line)
        if not isinstance(record, dict):
            return [record] if record else []
        kind = record.get("type")
        if kind == "init":
            return [AgentEvent("started", {"session_id": record.get("session_id"), "model": record.get("model")})]
        if kind == "message" and record.get("role") == "assistant":
            return [AgentEvent("text", {"text": str(record.get("content", ""))})]
        if kind == "tool_use":
            data = {"name": record.get("tool_name"), "id": record.get("tool_id")}
            return [AgentEvent("tool_use", {**data, "input": tool_input(record.get("parameters"))})]
        if kind == "error":
            return [AgentEvent("error", {"message": str(record.get("message", ""))})]
        if kind == "result":
            return self._result(record)
        return []

    def _result(self, record: dict[str, Any]) -> list[AgentEvent]:
        stats = record.get("stats") or {}
        failed = record.get("status") != "success"
        events = [AgentEvent("usage", {"turn_tokens": int(stats.get("total_tokens") or 0), "message_id": "run"})]
        if failed:
            message = str((record.get("error") or {}).get("message", "the run failed"))
            events.append(AgentEvent("error", {"message": message}))
        events.append(AgentEvent("done", {"is_error": failed}))
        return events

    def transcript_path(self, home: str, cwd: str, session_id: str) -> str | None:
        root = os.environ.get("GEMINI_CLI_HOME") or home
        pattern = os.path.join(
            glob.escape(root), ".gemini", "tmp", "*", "chats", f"session-*-{glob.escape(session_id[:8])}.jsonl"
        )
        found = glob.glob(pattern)
        return max(found, key=os.path.getmtime) if found else None

    def context_from_files(self, home: str, cwd: str, session_id: str) -> tuple[int, int | None] | None:
        return context_in_file(self.transcript_path(home, cwd, session_id), context_from_chat)


def context_from_chat(lines: Iterable[str]) -> Context | None:
    """(tokens in context, window) from the latest model record of a Gemini CLI session file."""
    return latest_record(lines, '"gemini"', _model_tokens)


def _model_tokens(record: dict[str, Any]) -> Context | None:
    tokens = record.get("tokens") if record.get("type") == "gemini" else None
    if isinstance(tokens, dict) and "input" in tokens:
        return (int(tokens.get("input") or 0), None)
    return None
