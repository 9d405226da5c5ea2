"""The README's command reference, generated from the parser that ``--help`` prints.

``cog -r README.md`` rewrites the table between the README's cog markers with ``table()``;
``tests/integration/test_cli_reference.py`` runs ``cog --check`` so the README cannot drift from the CLI.
"""

from __future__ import annotations

import argparse

from shopfloor.cli.main import build_parser


def commands(parser: argparse.ArgumentParser | None = None) -> list[argparse.ArgumentParser]:
    """Every command's parser, actions included (``dep add``), in ``--help`` order."""
    found: list[argparse.ArgumentParser] = []
    for action in (parser or build_parser())._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                if child.get_default("_handler") is not None:
                    found.append(child)
                found.extend(commands(child))
    return found


def _arguments(parser: argparse.ArgumentParser) -> str:
    """The positional arguments, as the usage line shows them (``ID [ID ...]``)."""
    shown = []
    for action in parser._actions:
        if action.option_strings or isinstance(action, argparse._SubParsersAction):
            continue
        name = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
        shown.append({"?": f"[{name}]", "*": f"[{name} ...]", "+": f"{name} [{name} ...]"}.get(str(action.nargs), name))
    return " ".join(shown)


def table() -> str:
    """A markdown table: each command with its arguments, and its one-line help."""
    rows = ["| command | what it does |", "| --- | --- |"]
    for parser in commands():
        usage = " ".join(filter(None, [parser.get_default("_command"), _arguments(parser)]))
        rows.append(f"| `{_cell(usage)}` | {_cell(parser.description or '')} |")
    return "\n".join(rows)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
