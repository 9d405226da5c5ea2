"""How a prompt reaches an agent (pure): in its argv when short, on its stdin when long.

Linux refuses an exec whose single argument is over 128 KiB (``MAX_ARG_STRLEN``) with
``Argument list too long``. A prompt over ``LONG_PROMPT`` bytes therefore goes on the agent's
stdin (the shim writes it to a private file in the worker's log directory and opens that as
stdin), in the way the adapter declares with ``stdin_prompt``; no argv element is ever that
large. An agent that cannot read stdin (the ``command`` template) is refused before anything
starts, with one line saying why.
"""

from __future__ import annotations

from dataclasses import dataclass

from shopfloor.agents.base import AgentAdapter, AgentOptions
from shopfloor.agents.registry import ADAPTERS
from shopfloor.errors import ShopfloorError

LONG_PROMPT = 64 * 1024  # bytes: longer prompts go on stdin
MAX_ARG = 128 * 1024  # the kernel's limit for one argument, its terminating NUL included


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    stdin: str | None = None  # the text the agent reads on stdin; None: stdin is /dev/null


def _size(text: str | None) -> int:
    return len((text or "").encode("utf-8", "surrogatepass"))


def start(adapter: AgentAdapter, binary: str, prompt: str, system_extra: str | None, opts: AgentOptions) -> Launch:
    """The argv (and stdin) that starts a session with ``prompt`` and the system text."""
    if _size(prompt) > LONG_PROMPT and adapter.stdin_prompt:
        text = f"{system_extra}\n\n{prompt}" if system_extra and adapter.stdin_prompt == "all" else prompt
        return _checked(adapter, Launch(adapter.start_argv(binary, None, system_extra, opts), text))
    return _checked(adapter, Launch(adapter.start_argv(binary, prompt, system_extra, opts)))


def resume(adapter: AgentAdapter, binary: str, session_id: str, prompt: str, opts: AgentOptions) -> Launch | None:
    """The argv (and stdin) continuing ``session_id`` with ``prompt``; None if the CLI cannot resume."""
    long = _size(prompt) > LONG_PROMPT and bool(adapter.stdin_prompt)
    argv = adapter.resume_argv(binary, session_id, None if long else prompt, opts)
    if argv is None:
        return None
    return _checked(adapter, Launch(argv, prompt if long else None))


def _checked(adapter: AgentAdapter, launch: Launch) -> Launch:
    biggest = max((_size(part) for part in launch.argv), default=0)
    if biggest + 1 > MAX_ARG:
        readers = ", ".join(name for name, other in sorted(ADAPTERS.items()) if other.stdin_prompt)
        why = "" if adapter.stdin_prompt else ", and it cannot read its prompt from stdin"
        raise ShopfloorError(
            f"the {adapter.name} agent would get a {biggest // 1024} KiB argument, over the kernel's "
            f"{MAX_ARG // 1024} KiB limit for one{why}: shorten the issue's text, or use an agent that "
            f"reads stdin ({readers})"
        )
    return launch
