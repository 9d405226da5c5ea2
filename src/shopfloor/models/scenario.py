"""Scenarios for the scripted model server, and the Anthropic Messages events they produce.

Pure functions over plain data: which script answers a conversation, which turn comes next,
and the exact server-sent events (or JSON body) for that turn. The HTTP adapter lives in
``models.server``.

A scenario file is JSON::

    {"scripts": [
      {"match": "sf-a3f8",                      # substring of the conversation's first prompt
       "turns": [
         {"tool": {"name": "Write", "input": {"file_path": "hello.txt", "content": "hi\\n"}},
          "usage": {"input_tokens": 1200, "output_tokens": 40}},
         {"text": "Done.", "usage": {"input_tokens": 1500, "output_tokens": 10,
                                     "cache_read_input_tokens": 30000}}]}]}

A script is chosen by its ``match`` in the first prompt leaving out the floor's block of
learnings (from ``Learnings from earlier work on this repository`` to the next blank line): it
names other issues' ids (``retro:sf-a3f8``), which would otherwise pick their scripts.

A script may also hold ``"branches": [{"contains": "TEXT", "turns": [...]}, ...]``: when its
first prompt also contains a branch's ``contains`` (the first such branch, in order), that
branch's turns are played instead of the script's own (branches see the whole prompt, learnings
included). A way to script an agent that acts on what it was told, e.g. takes the right path
only when its briefing names a lesson.

Optional top-level keys ``context_window``, ``usd_per_mtok`` ({"input": .., "output": ..}) and
``model`` (the model it names, as Claude Code does) set what the pure-Python ``scripted`` agent
reports. Turn N answers the request that already holds N assistant messages. Past the last turn, and
for prompts no script matches, the model ends the turn with a short text saying so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from shopfloor.errors import ValidationError

LEARNINGS = "Learnings from earlier work on this repository"  # how learn.brief.HEADER starts
USAGE_KEYS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
DEFAULT_MODEL = "scripted-model"


@dataclass(frozen=True)
class Turn:
    text: str = ""
    tool: dict[str, Any] | None = None  # {"name": ..., "input": {...}}
    usage: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Script:
    match: str
    turns: tuple[Turn, ...]
    branches: tuple[tuple[str, tuple[Turn, ...]], ...] = ()  # (contains, turns), the first that matches wins

    def turns_for(self, prompt: str) -> tuple[Turn, ...]:
        """The turns this script plays for a conversation whose first prompt is ``prompt``."""
        return next((turns for contains, turns in self.branches if contains in prompt), self.turns)


def _turn(raw: Any, where: str) -> Turn:
    if not isinstance(raw, dict) or not set(raw) <= {"text", "tool", "usage"}:
        raise ValidationError(f"{where}: a turn is an object with text, tool and/or usage")
    text = raw.get("text", "")
    tool = raw.get("tool")
    if not isinstance(text, str):
        raise ValidationError(f"{where}: text must be a string")
    if tool is not None and (
        not isinstance(tool, dict) or not isinstance(tool.get("name"), str) or not isinstance(tool.get("input"), dict)
    ):
        raise ValidationError(f'{where}: tool must be {{"name": "...", "input": {{...}}}}')
    if not text and tool is None:
        raise ValidationError(f"{where}: a turn needs text or a tool call")
    usage = raw.get("usage", {})
    if not isinstance(usage, dict) or any(
        k not in USAGE_KEYS or not isinstance(v, int) or isinstance(v, bool) or v < 0 for k, v in usage.items()
    ):
        raise ValidationError(f"{where}: usage takes non-negative integers for {', '.join(USAGE_KEYS)}")
    return Turn(text=text, tool=tool, usage=dict(usage))


def parse_scenario(data: bytes, path: str) -> tuple[Script, ...]:
    """Validate a scenario file; errors name the file, the script and the turn."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValidationError(f"{path}: not valid UTF-8: re-encode the file") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("scripts"), list) or not raw["scripts"]:
        raise ValidationError(f'{path}: expected {{"scripts": [...]}} with at least one script')
    scripts = []
    for n, script in enumerate(raw["scripts"], start=1):
        where = f"{path}: script {n}"
        if not isinstance(script, dict) or not isinstance(script.get("match"), str) or not script["match"]:
            raise ValidationError(f"{where}: needs a non-empty match string")
        branches = script.get("branches", [])
        if not isinstance(branches, list):
            raise ValidationError(f'{where}: branches must be a list of {{"contains": "...", "turns": [...]}}')
        parsed = []
        for b, branch in enumerate(branches, start=1):
            if not isinstance(branch, dict) or set(branch) != {"contains", "turns"}:
                raise ValidationError(f'{where}, branch {b}: must be {{"contains": "...", "turns": [...]}}')
            if not isinstance(branch["contains"], str) or not branch["contains"]:
                raise ValidationError(f"{where}, branch {b}: needs a non-empty contains string")
            parsed.append((branch["contains"], _turns(branch["turns"], f"{where}, branch {b}")))
        scripts.append(Script(script["match"], _turns(script.get("turns"), where), tuple(parsed)))
    return tuple(scripts)


def _turns(raw: Any, where: str) -> tuple[Turn, ...]:
    if not isinstance(raw, list) or not raw:
        raise ValidationError(f"{where}: needs a non-empty list of turns")
    return tuple(_turn(t, f"{where}, turn {i}") for i, t in enumerate(raw, start=1))


@dataclass(frozen=True)
class Settings:
    """Optional top-level keys, used by the pure-Python ``scripted`` agent (the server ignores them)."""

    context_window: int = 200_000
    usd_per_mtok_input: float = 0.0
    usd_per_mtok_output: float = 0.0
    model: str = DEFAULT_MODEL


def parse_settings(data: bytes, path: str) -> Settings:
    raw = json.loads(data.decode("utf-8"))  # parse_scenario has validated the document already
    window = raw.get("context_window", Settings.context_window)
    price = raw.get("usd_per_mtok", {})
    if not isinstance(window, int) or isinstance(window, bool) or window < 1:
        raise ValidationError(f"{path}: context_window must be a whole number of tokens")
    if not isinstance(price, dict) or any(
        k not in ("input", "output") or not isinstance(v, int | float) or v < 0 for k, v in price.items()
    ):
        raise ValidationError(f'{path}: usd_per_mtok must look like {{"input": 3, "output": 15}}')
    model = raw.get("model", DEFAULT_MODEL)
    if not isinstance(model, str) or not model.strip():
        raise ValidationError(f'{path}: model must be a model name, e.g. "claude-sonnet-4-5"')
    return Settings(window, float(price.get("input", 0)), float(price.get("output", 0)), model)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def first_prompt(messages: list[Any]) -> str:
    """All user text of the conversation's first message (Claude Code may split it in blocks)."""
    for message in messages:
        if isinstance(message, dict) and message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def without_learnings(prompt: str) -> str:
    """``prompt`` without the floor's block of learnings (its header line to the next blank line)."""
    start = prompt.find(LEARNINGS)
    if start < 0:
        return prompt
    end = prompt.find("\n\n", start)
    return prompt[:start] + (prompt[end + 2 :] if end >= 0 else "")


def next_turn(scripts: tuple[Script, ...], messages: list[Any]) -> Turn:
    """The turn that answers a conversation (the ``messages`` of a Messages API request)."""
    prompt = first_prompt(messages)
    own = without_learnings(prompt)
    done = sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "assistant")
    for script in scripts:
        if script.match in own:
            turns = script.turns_for(prompt)
            if done < len(turns):
                return turns[done]
            return Turn(text="(scripted model: the scenario has no more turns)")
    return Turn(text="(scripted model: no script matches this prompt)")


def _usage(turn: Turn) -> dict[str, int]:
    return {key: turn.usage.get(key, 0) for key in USAGE_KEYS}


def content_blocks(turn: Turn, tool_id: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if turn.text:
        blocks.append({"type": "text", "text": turn.text})
    if turn.tool is not None:
        blocks.append({"type": "tool_use", "id": tool_id, "name": turn.tool["name"], "input": turn.tool["input"]})
    return blocks


def message_json(turn: Turn, message_id: str, model: str) -> dict[str, Any]:
    """The non-streaming response body."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content_blocks(turn, f"toolu_{message_id}"),
        "stop_reason": "tool_use" if turn.tool is not None else "end_turn",
        "stop_sequence": None,
        "usage": _usage(turn),
    }


def sse_events(turn: Turn, message_id: str, model: str) -> list[tuple[str, dict[str, Any]]]:
    """The streaming response: (event type, data) pairs in the order the API sends them."""
    usage = _usage(turn)
    start_usage = {**usage, "output_tokens": 1}
    events: list[tuple[str, dict[str, Any]]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": start_usage,
                },
            },
        )
    ]
    for index, block in enumerate(content_blocks(turn, f"toolu_{message_id}")):
        start: dict[str, Any]
        if block["type"] == "text":
            start = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        else:
            start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        events.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": start}))
        events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use" if turn.tool is not None else "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def encode_sse(events: list[tuple[str, dict[str, Any]]]) -> bytes:
    return "".join(f"event: {kind}\ndata: {json.dumps(data)}\n\n" for kind, data in events).encode("utf-8")
