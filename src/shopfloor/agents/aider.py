"""aider (``aider-chat`` on PyPI), driven with ``--message``: it has no JSON output mode.

Flags checked against ``aider --help`` of version 0.86.2, and run against a stand-in chat
completions API: ``--message=<text>``, ``--yes-always``, ``--no-pretty``,
``--no-check-update``, ``--no-show-release-notes``, ``--no-show-model-warnings``,
``--no-analytics``, ``--no-gitignore`` (it would otherwise edit .gitignore), and
``--chat-history-file`` / ``--input-history-file`` (kept in the worker's log directory, not
the worktree, so they are never committed). aider commits its own edits. ``--yes-always``
does not run shell commands. There is no session id and no system-prompt flag: the
protocol goes in front of the message, and a restart starts a new chat. A long message is read
with ``--message-file=/dev/stdin`` (the shim gives stdin a file; see ``agents.launch``).

Its output is text, so each line is a ``text`` event; ``Tokens: 2.4k sent, 45 received.
Cost: $0.0064 message, $0.0064 session.`` lines give usage and cost. aider exits 0 even when
the model API refuses the key, so an authentication error line marks the run failed.
"""

from __future__ import annotations

import os
import re

from shopfloor.agents.base import AgentEvent, AgentOptions

_FLAGS = (
    "--yes-always",
    "--no-pretty",
    "--no-check-update",
    "--no-show-release-notes",
    "--no-show-model-warnings",
    "--no-analytics",
    "--no-gitignore",
)
_TOKENS = re.compile(r"^Tokens: ([\d.]+)(k?) sent.*?, ([\d.]+)(k?) received\.(?: Cost: .*?\$([\d.]+) session\.)?")
_AUTH_FAILED = ("AuthenticationError", "not able to authenticate you")


def _count(number: str, kilo: str) -> int:
    return round(float(number) * (1000 if kilo else 1))


class Aider:
    name = "aider"
    binary = "aider"
    context_file: str | None = None
    install = "pip install aider-chat==0.86.2 (or: pipx install aider-chat)"
    checked_version = "0.86.2"
    default_context_window: int | None = None
    credentials: tuple[str, ...] = (".aider.conf.yml",)
    state_env: tuple[str, ...] = ()
    stdin_prompt = "all"  # no system-prompt flag: the protocol goes in front of the prompt

    def start_argv(self, binary: str, prompt: str | None, system_extra: str | None, opts: AgentOptions) -> list[str]:
        if prompt is None:  # the whole message (protocol included: see agents.launch) is on stdin
            argv = [binary, "--message-file=/dev/stdin", *_FLAGS]
        else:
            text = f"{system_extra}\n\n{prompt}" if system_extra else prompt
            argv = [binary, f"--message={text}", *_FLAGS]
        if opts.state_dir:
            argv += [
                "--chat-history-file",
                os.path.join(opts.state_dir, "aider.chat.history.md"),
                "--input-history-file",
                os.path.join(opts.state_dir, "aider.input.history"),
            ]
        return argv

    def resume_argv(self, binary: str, session_id: str, prompt: str | None, opts: AgentOptions) -> list[str] | None:
        return None

    def env(self) -> dict[str, str]:
        return {}

    def parse_line(self, line: str) -> list[AgentEvent]:
        text = line.rstrip("\n")
        if not text.strip():
            return []
        found = _TOKENS.match(text)
        if found:
            turn = _count(found[1], found[2]) + _count(found[3], found[4])
            events = [AgentEvent("usage", {"turn_tokens": turn})]
            if found[5]:
                events.append(AgentEvent("cost", {"cost_usd": float(found[5])}))
            return events
        if any(marker in text for marker in _AUTH_FAILED):
            return [AgentEvent("error", {"message": text}), AgentEvent("done", {"is_error": True})]
        return [AgentEvent("text", {"text": text})]

    def transcript_path(self, home: str, cwd: str, session_id: str) -> str | None:
        return None

    def context_from_files(self, home: str, cwd: str, session_id: str) -> tuple[int, int | None] | None:
        return None
