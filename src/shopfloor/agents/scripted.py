"""The ``scripted`` agent: a pure-Python agent that plays a scenario file (no Node, no model).

For fast tests and machines without Node. Its CLI (``shopfloor.agents.scripted_agent``)
prints Claude Code's stream-json, so its events are read by Claude Code's parser. The
scenario comes from ``[agents.scripted] scenario`` in the config or ``$SHOPFLOOR_SCENARIO``.
"""

from __future__ import annotations

import os
import sys

from shopfloor.agents.base import AgentEvent, AgentOptions
from shopfloor.agents.claude import ClaudeCode
from shopfloor.errors import ShopfloorError, UsageError
from shopfloor.models.scenario import parse_scenario, parse_settings

SCENARIO_ENV = "SHOPFLOOR_SCENARIO"


def _given(prompt: str | None) -> list[str]:
    return [] if prompt is None else [f"--print={prompt}"]


def check_scenario(path: str) -> None:
    """The scenario file opens and parses as the scripted agent will read it; else ``UsageError``
    (exit 2): a missing or broken scenario would make every session crash, and block its issue."""

    fix = f"set ${SCENARIO_ENV} or [agents.scripted] scenario to a scenario file"
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise UsageError(f"the scripted agent cannot read its scenario {path} ({exc.strerror}): {fix}") from None
    try:
        parse_scenario(data, path)
        parse_settings(data, path)
    except ShopfloorError as exc:
        raise UsageError(f"the scripted agent cannot use its scenario: {exc}") from None


class ScriptedAgent:
    name = "scripted"
    binary = sys.executable
    context_file: str | None = None
    install = "nothing to install: it ships with shopfloor"
    checked_version = "shopfloor"
    default_context_window: int | None = None
    credentials: tuple[str, ...] = ()
    state_env: tuple[str, ...] = ("SHOPFLOOR_SCRIPTED_HOME",)
    stdin_prompt = "prompt"  # as Claude Code: without --print=TEXT it reads the prompt from stdin

    def _scenario(self, opts: AgentOptions) -> str:
        scenario = opts.scenario
        if not scenario:
            raise UsageError(
                'the scripted agent needs a scenario: set [agents.scripted] scenario = "FILE" in '
                f".shopfloor/config.toml or ${SCENARIO_ENV}"
            )
        return os.path.abspath(scenario)

    def _base(self, binary: str, opts: AgentOptions) -> list[str]:
        return [binary, "-m", "shopfloor.agents.scripted_agent", "--scenario", self._scenario(opts)]

    def preflight(self, opts: AgentOptions) -> None:
        """What the floor checks before it claims anything, beyond the argv (which stays pure)."""
        check_scenario(self._scenario(opts))

    def start_argv(self, binary: str, prompt: str | None, system_extra: str | None, opts: AgentOptions) -> list[str]:
        argv = [*self._base(binary, opts), *_given(prompt)]
        return [*argv, f"--append-system-prompt={system_extra}"] if system_extra else argv

    def resume_argv(self, binary: str, session_id: str, prompt: str | None, opts: AgentOptions) -> list[str]:
        return [*self._base(binary, opts), *_given(prompt), f"--resume={session_id}"]

    def env(self) -> dict[str, str]:
        return {}

    def parse_line(self, line: str) -> list[AgentEvent]:
        return ClaudeCode().parse_line(line)

    def transcript_path(self, home: str, cwd: str, session_id: str) -> str | None:
        root = os.environ.get("SHOPFLOOR_SCRIPTED_HOME") or os.path.join(home, ".shopfloor", "scripted")
        return os.path.join(root, f"{session_id}.json")

    def context_from_files(self, home: str, cwd: str, session_id: str) -> tuple[int, int | None] | None:
        return None
