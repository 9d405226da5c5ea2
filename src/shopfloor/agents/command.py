"""The ``command`` agent: any CLI, from an argv template in ``[agents.command] argv``.

Each template element may contain ``{prompt}`` and ``{system}``; they are replaced inside
that one element, so the prompt never becomes shell text. A template without ``{system}``
gets the system text (shopfloor's protocol) in front of the prompt in ``{prompt}``, so the
agent is always told it. The prompt stays one argument: one over the kernel's 128 KiB limit
for an argument is refused before the worker starts (``agents.launch``). Every line the CLI
prints is a ``text`` event, and it is judged done by its exit status. It cannot continue a
session: a follow-up starts it again with the new prompt.
"""

from __future__ import annotations

import re

from shopfloor.agents.base import AgentEvent, AgentOptions
from shopfloor.errors import UsageError

_PLACEHOLDER = re.compile(r"\{prompt\}|\{system\}")


class CommandAgent:
    name = "command"
    binary = ""
    context_file: str | None = None
    install = 'set [agents.command] argv = ["your-cli", "--prompt", "{prompt}"] in .shopfloor/config.toml'
    checked_version = "any"
    default_context_window: int | None = None
    credentials: tuple[str, ...] = ()
    state_env: tuple[str, ...] = ()
    stdin_prompt = ""  # the template decides where the prompt goes: always an argument

    def start_argv(self, binary: str, prompt: str | None, system_extra: str | None, opts: AgentOptions) -> list[str]:
        if not opts.argv:
            raise UsageError(f"the command agent needs an argv template: {self.install}")
        text = prompt or ""
        if system_extra and not any("{system}" in part for part in opts.argv):
            text = f"{system_extra}\n\n{text}"  # no {system}: the protocol travels in {prompt}
        values = {"{prompt}": text, "{system}": system_extra or ""}
        # One pass, so a "{system}" inside the (untrusted) prompt stays literal text.
        argv = [_PLACEHOLDER.sub(lambda m: values[m.group(0)], part) for part in opts.argv]
        if binary:
            argv[0] = binary
        return argv

    def resume_argv(self, binary: str, session_id: str, prompt: str | None, opts: AgentOptions) -> list[str] | None:
        return None

    def env(self) -> dict[str, str]:
        return {}

    def parse_line(self, line: str) -> list[AgentEvent]:
        text = line.rstrip("\n")
        return [AgentEvent("text", {"text": text})] if text.strip() else []

    def transcript_path(self, home: str, cwd: str, session_id: str) -> str | None:
        return None

    def context_from_files(self, home: str, cwd: str, session_id: str) -> tuple[int, int | None] | None:
        return None
