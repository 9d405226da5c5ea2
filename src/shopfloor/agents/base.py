"""The shape every agent adapter fills in, and the session state built from its events.

Adapters are pure: they build argv lists (never shell strings; prompts are untrusted text)
and turn the CLI's event-stream lines into ``AgentEvent``s. Running processes is the
runner's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

EVENT_KINDS = ("started", "tool_use", "text", "usage", "cost", "done", "error")


@dataclass(frozen=True)
class AgentEvent:
    kind: str  # one of EVENT_KINDS
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class SessionState:
    """What the events of one agent session add up to."""

    session_id: str | None = None
    model: str | None = None
    context_tokens: int = 0  # of the latest main-chain model turn
    context_window: int | None = None
    tokens: int = 0  # input + output over the session, as the agent reports them
    cost_usd: float = 0.0
    tool_uses: int = 0
    done: bool = False
    failed: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def context_used(self) -> float | None:
        """The fraction of the context window in use, or None before the window is known."""
        if not self.context_window:
            return None
        return self.context_tokens / self.context_window

    def apply(self, event: AgentEvent) -> None:
        data = event.data
        if event.kind == "started":
            self.session_id = data.get("session_id") or self.session_id
            self.model = data.get("model") or self.model
        elif event.kind == "tool_use":
            self.tool_uses += 1
        elif event.kind == "usage":
            self.context_tokens = int(data.get("context_tokens", self.context_tokens))
        elif event.kind == "cost":
            self.cost_usd = float(data.get("cost_usd", self.cost_usd))
            self.tokens = int(data.get("tokens", self.tokens))
            self.context_window = data.get("context_window") or self.context_window
        elif event.kind == "done":
            self.done = True
            self.failed = bool(data.get("is_error"))
        elif event.kind == "error":
            self.errors.append(str(data.get("message", "")))


class AgentAdapter(Protocol):
    name: str
    checked_version: str  # the CLI version whose --help the flags were checked against

    def start_argv(self, binary: str, prompt: str, system_extra: str | None) -> list[str]: ...

    def resume_argv(self, binary: str, session_id: str, prompt: str) -> list[str]: ...

    def parse_line(self, line: str) -> list[AgentEvent]: ...
