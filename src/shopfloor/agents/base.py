"""The shape every agent adapter fills in, and the session state built from its events.

Adapters are pure: they build argv lists (never shell strings; prompts are untrusted text)
and turn the CLI's event-stream lines into ``AgentEvent``s. Running processes is the
runner's job.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from shopfloor.agents.windows import known_window

EVENT_KINDS = ("started", "tool_use", "text", "usage", "cost", "done", "error")


@dataclass(frozen=True)
class AgentEvent:
    kind: str  # one of EVENT_KINDS
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentOptions:
    """``[agents.<name>]`` in ``.shopfloor/config.toml``; every key is optional."""

    binary: str | None = None  # the CLI to run, instead of the adapter's default name on PATH
    argv: tuple[str, ...] = ()  # the `command` adapter's template: "{prompt}" and "{system}" are replaced
    context_window: int | None = None  # when the agent does not report its own
    context_limit: float = 0.40  # the 40% rule: hand off at this fraction (used by the floor)
    scenario: str | None = None  # the `scripted` adapter's scenario file
    env: tuple[tuple[str, str], ...] = ()  # extra environment for the agent process
    state_dir: str | None = None  # set by shopfloor, not config: a private directory for the agent's files


@dataclass
class SessionState:
    """What the events of one agent session add up to."""

    session_id: str | None = None
    model: str | None = None
    context_tokens: int = 0  # of the latest main-chain model turn
    context_window: int | None = None  # the agent's own report, else [agents.X] context_window
    model_window: int | None = None  # the model's known size (agents.windows), once the model is named
    default_window: int | None = None  # the adapter's, when nothing else says
    tokens: int = 0  # tokens processed over the session (input incl. cache, and output)
    cost_usd: float = 0.0
    tool_uses: int = 0
    done: bool = False
    failed: bool = False
    last_text: str = ""
    errors: list[str] = field(default_factory=list)
    turn_tokens: dict[str, int] = field(default_factory=dict)  # per model message, until a total is reported

    @property
    def window(self) -> int | None:
        """The context window: the agent's report > config > the model's known size > the adapter's default."""
        return self.context_window or self.model_window or self.default_window

    @property
    def context_used(self) -> float | None:
        """The fraction of the context window in use, or None before the window is known."""
        window = self.window
        if not window:
            return None
        return self.context_tokens / window

    def apply(self, event: AgentEvent) -> None:
        data = event.data
        if event.kind == "started":
            self.session_id = data.get("session_id") or self.session_id
            self.model = data.get("model") or self.model
            self.model_window = known_window(self.model) or self.model_window
            self.context_window = data.get("context_window") or self.context_window
        elif event.kind == "tool_use":
            self.tool_uses += 1
        elif event.kind == "text":
            self.last_text = str(data.get("text", ""))
        elif event.kind == "usage":
            self._usage(data)
        elif event.kind == "cost":
            self.cost_usd = float(data.get("cost_usd", self.cost_usd))
            self.tokens = int(data.get("tokens", self.tokens))
            self.context_window = data.get("context_window") or self.context_window
        elif event.kind == "done":
            self.done = True
            self.failed = bool(data.get("is_error"))
        elif event.kind == "error":
            self.errors.append(str(data.get("message", "")))

    def _usage(self, data: dict[str, Any]) -> None:
        if "context_tokens" in data:
            self.context_tokens = int(data["context_tokens"])
        if "turn_tokens" in data:
            # A message split over several stream lines repeats its usage: count it once.
            self.turn_tokens[str(data.get("message_id") or len(self.turn_tokens))] = int(data["turn_tokens"])
            self.tokens = sum(self.turn_tokens.values())
        if "total_tokens" in data:  # a running total the agent reports itself (Codex)
            self.tokens = int(data["total_tokens"])
        self.context_window = data.get("context_window") or self.context_window


class AgentAdapter(Protocol):
    """One agent CLI. Builds argv lists (prompts are single elements, never shell text)."""

    name: str
    binary: str  # the executable's default name, looked up on PATH
    install: str  # how to install it, for the error when it is missing
    checked_version: str  # the CLI version whose --help the flags were checked against
    default_context_window: int | None  # used when neither config nor the agent's reports give one
    # The context file it reads of its own besides AGENTS.md (CLAUDE.md, GEMINI.md), if any: where
    # accepted rules are written too (``floor.promote``).
    context_file: str | None
    # In a sandbox HOME is a private directory: these files under the user's HOME (the CLI's login)
    # are shown there read-only, and these variables, when set, name state directories it may write.
    credentials: tuple[str, ...]
    state_env: tuple[str, ...]
    # How a long prompt reaches it (agents.launch): given prompt=None, start_argv/resume_argv build
    # an argv that reads it from stdin. "prompt": stdin carries the prompt, the system text stays in
    # argv; "all": stdin carries the system text, then the prompt; "": the CLI cannot read stdin.
    stdin_prompt: str

    def start_argv(
        self, binary: str, prompt: str | None, system_extra: str | None, opts: AgentOptions
    ) -> list[str]: ...

    def resume_argv(self, binary: str, session_id: str, prompt: str | None, opts: AgentOptions) -> list[str] | None:
        """The argv continuing the same session, or None if the CLI cannot."""
        ...

    def env(self) -> dict[str, str]: ...

    def parse_line(self, line: str) -> list[AgentEvent]: ...

    def transcript_path(self, home: str, cwd: str, session_id: str) -> str | None: ...

    def context_from_files(self, home: str, cwd: str, session_id: str) -> tuple[int, int | None] | None:
        """(context tokens, window or None) from the CLI's own session files, for CLIs whose
        event stream does not carry them; None when the stream does, or nothing is found."""
        ...


Context = tuple[int, int | None]  # (tokens in context, the window when the file says it)


def context_in_file(path: str | None, scan: Callable[[Iterable[str]], Context | None]) -> Context | None:
    """``scan`` over a CLI's session file (JSON lines), or None when there is no file."""
    if path is None:
        return None
    with open(path, encoding="utf-8", errors="replace") as lines:
        return scan(lines)


def latest_record(
    lines: Iterable[str], marker: str, read: Callable[[dict[str, Any]], Context | None]
) -> Context | None:
    """The last context ``read`` finds among the records of a session file. Only lines that
    contain ``marker`` are parsed (these files grow to megabytes); broken lines are skipped."""
    latest = None
    for line in lines:
        if marker not in line:
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        found = read(record) if isinstance(record, dict) else None
        latest = found or latest
    return latest


def decode_event(line: str) -> dict[str, Any] | AgentEvent | None:
    """A JSON-lines record as a dict; a malformed line as an error event, never an exception."""

    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return AgentEvent("error", {"message": f"malformed event line ({exc.msg}): {line[:200]}"})
    if not isinstance(record, dict):
        return AgentEvent("error", {"message": f"unexpected event: {line[:200]}"})
    return record


_INPUT_KEYS = ("command", "cmd", "file_path", "path", "notebook_path", "pattern", "url", "query", "description")
MAX_TOOL_INPUT = 200  # kept in the event: enough for a one-line view, never a file's content


def tool_input(value: Any) -> str:
    """The part of a tool call a person watching wants to see (the command run, the file written),
    as one short line; never the bulk of it (a Write's content). Untrusted: ``progress.printable``
    it before a terminal sees it."""
    if isinstance(value, dict):
        picked = next((value[k] for k in _INPUT_KEYS if isinstance(value.get(k), (str, list)) and value[k]), None)
        if picked is None:
            picked = next((v for v in value.values() if isinstance(v, str) and v), "")
        value = picked
    if isinstance(value, list):
        value = " ".join(str(part) for part in value)
    text = " ".join(str(value or "").split())
    return text if len(text) <= MAX_TOOL_INPUT else text[: MAX_TOOL_INPUT - 1] + "…"
