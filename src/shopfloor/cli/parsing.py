"""What every command's parser shares, and how a ``*_cmds`` module registers its commands.

Each ``*_cmds`` module has a ``register(sub, only)`` that adds its commands with ``command``
(or, for a command with actions such as ``dep add``, ``actions``), naming the real handler
function, so mypy checks the link and there is no table of names to keep in step.

Start-up time is a budget: this module imports argparse and os only, and so must every
``*_cmds`` module at its top (their handlers import what they use). With ``only`` set to the
invoked command, every other command is skipped by a stand-in that costs nothing, so
``ready --json`` builds one command's parser, not forty.
"""

from __future__ import annotations

import argparse
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Handler = Callable[[argparse.Namespace], int]

LEASE_HELP = "(s, m, h, d or w, from 1s to 365d; default 30m)"
LIMIT_MAX = 1_000_000_000


class Formatter(argparse.RawDescriptionHelpFormatter):
    """A help formatter that does not import shutil (argparse builds one per add_argument)."""

    def __init__(self, prog: str) -> None:
        columns = os.environ.get("COLUMNS", "")
        width = int(columns) if columns.isdigit() else 100
        super().__init__(prog, width=max(40, width - 2))


class Parser(argparse.ArgumentParser):
    """Usage errors in one line, naming the fix, with exit code 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        from shopfloor.errors import EXIT_USAGE

        self.exit(EXIT_USAGE, f"error: {message} (see `{self.prog} --help`)\n")


if TYPE_CHECKING:
    # What a ``register(sub, only)`` adds its commands to.
    Subcommands = argparse._SubParsersAction[Parser]
else:
    Subcommands = argparse._SubParsersAction


def limit(text: str) -> int:
    """An argparse type for ``-n/--limit``: a whole number of at least 1."""
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 10 or not 1 <= int(value) <= LIMIT_MAX:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to {LIMIT_MAX}")
    return int(value)


def common_options() -> Parser:
    """``--json`` and ``--actor``, accepted before the command and after it."""
    common = Parser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    common.add_argument(
        "--actor", default=argparse.SUPPRESS, metavar="NAME", help="who acts (default: $SHOPFLOOR_ACTOR, then $USER)"
    )
    return common


def no_sandbox(p: Any, who: str) -> None:
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help=f"run {who} without the bubblewrap sandbox (a warning is recorded; also SHOPFLOOR_SANDBOX=off)",
    )


class _Skipped:
    """Stands in for the parsers of commands that were not invoked: building all of them
    costs milliseconds, so only the invoked command's parser is built."""

    def add_argument(self, *args: object, **kwargs: object) -> None:
        return None

    def add(self, *args: object, **kwargs: object) -> _Skipped:
        return self


_SKIPPED = _Skipped()


def command(sub: Subcommands, name: str, handler: Handler, help_text: str, only: str | None = None) -> Any:
    """Add the command ``name`` run by ``handler``, unless another command was invoked (then a
    stand-in that ignores its arguments). The parser records ``_handler`` and ``_command``, the
    command's path (``dep tree``), which is how the worker channel names the operation."""
    return _parser(sub, name, help_text, only, handler)


class Actions:
    """The actions of a command such as ``dep`` (``dep add``, ``dep tree``, ...)."""

    def __init__(self, sub: Subcommands, name: str) -> None:
        self._sub = sub
        self._name = name

    def add(self, name: str, handler: Handler, help_text: str) -> Any:
        return _parser(self._sub, name, help_text, None, handler, path=f"{self._name} {name}")


def actions(sub: Subcommands, name: str, help_text: str, only: str | None = None) -> Actions | _Skipped:
    """Add the command ``name`` whose actions are then added with ``.add``."""
    parser = _parser(sub, name, help_text, only, None)
    if isinstance(parser, _Skipped):
        return parser
    return Actions(parser.add_subparsers(metavar="ACTION", parser_class=Parser, required=True), name)


def _parser(
    sub: Subcommands, name: str, help_text: str, only: str | None, handler: Handler | None, path: str | None = None
) -> Any:
    if only is not None and name != only:
        return _SKIPPED
    # argparse %-formats help strings but prints descriptions as they are.
    parser = sub.add_parser(name, help=help_text, description=help_text.replace("%%", "%"), parents=[common_options()])
    if handler is not None:
        parser.set_defaults(_handler=handler, _command=path or name)
    return parser
