"""The one registry of agent CLIs. Nothing else branches on an agent's name."""

from __future__ import annotations

from difflib import get_close_matches

from shopfloor.agents.aider import Aider
from shopfloor.agents.base import AgentAdapter
from shopfloor.agents.claude import ClaudeCode
from shopfloor.agents.codex import CodexCLI
from shopfloor.agents.command import CommandAgent
from shopfloor.agents.gemini import GeminiCLI
from shopfloor.agents.scripted import ScriptedAgent
from shopfloor.errors import UsageError

ADAPTERS: dict[str, AgentAdapter] = {
    adapter.name: adapter
    for adapter in (ClaudeCode(), CodexCLI(), GeminiCLI(), Aider(), CommandAgent(), ScriptedAgent())
}


def get(name: str) -> AgentAdapter:
    try:
        return ADAPTERS[name]
    except KeyError:
        raise UsageError(unknown(name)) from None


def unknown(name: str) -> str:
    """One line for a name that is no agent: the nearest known name, then all of them."""

    near = get_close_matches(name, sorted(ADAPTERS), n=1, cutoff=0.5)
    hint = f": did you mean {near[0]}?" if near else ""
    return f"unknown agent {name!r}{hint} (known: {', '.join(sorted(ADAPTERS))})"
