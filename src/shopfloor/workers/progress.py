"""Readable one-line progress for a worker's terminal pane (pure)."""

from __future__ import annotations

import re

from shopfloor.agents.base import AgentEvent, SessionState

MAX_TEXT = 160
MAX_TOOL = 120  # a tool call with its input (the command, the file), one line
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Agent output is untrusted: no escape sequence of it may reach a terminal."""
    return _CONTROL.sub("\ufffd", text)


def _short(text: str, limit: int = MAX_TEXT) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def describe(event: AgentEvent, state: SessionState) -> str | None:
    data = event.data
    if event.kind == "started":
        return f"session {data.get('session_id') or '?'} started (model {data.get('model') or '?'})"
    if event.kind == "tool_use":
        shown = f"tool  {_short(printable(str(data.get('name') or '?')))}"
        if data.get("input"):
            shown += f": {_short(printable(str(data['input'])))}"
        return shown if len(shown) <= MAX_TOOL else shown[: MAX_TOOL - 1] + "…"
    if event.kind == "text":
        text = str(data.get("text") or "")
        return f"text  {_short(text)}" if text.strip() else None
    if event.kind == "usage":
        used = state.context_used
        share = f" ({used:.1%} of {state.window:,})" if used is not None and state.window else ""
        return f"usage context {state.context_tokens:,} tokens{share}, {state.tokens:,} so far"
    if event.kind == "cost":
        return f"cost  ${state.cost_usd:.4f}, {state.tokens:,} tokens"
    if event.kind == "done":
        return "done  " + ("with an error" if data.get("is_error") else "success")
    if event.kind == "error":
        return f"warning: {_short(str(data.get('message') or ''))}"
    return None


_QUIET = ("usage", "cost")  # bookkeeping: a worker's last event is what it did, not what it counted


def headline(events: list[AgentEvent], state: SessionState) -> str | None:
    """The worker's last event for ``status`` (the tool and its input, a text, done): the latest
    of ``events`` that says what the agent did, as one printable line; None when they only count."""
    for event in reversed(events):
        if event.kind not in _QUIET:
            text = describe(event, state)
            if text:
                line = printable(" ".join(text.split()))
                return line if len(line) <= MAX_TOOL else line[: MAX_TOOL - 1] + "…"
    return None
