"""The ``shopfloor`` command line.

argparse, not click: agents call this CLI constantly, and start-up time is a budget
(click alone costs more than argparse, sqlite3 and json together). Each command's handler
lives in the module that registers its arguments (``register``, see ``parsing``); the modules
are imported only until the invoked command is found, and a handler imports what it uses when
it runs, so ``ready --json`` loads nothing it does not use.
"""

from __future__ import annotations

import argparse
import os
import sys

from shopfloor.cli.parsing import Parser, common_options
from shopfloor.errors import EXIT_ERROR, EXIT_USAGE, ShopfloorError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from shopfloor.cli.parsing import Subcommands

EPILOG = """\
ids: a full id (sf-a3f8), the id without its prefix (a3f8), or a unique start of at least
3 characters. Add --json to any command: stdout then carries only JSON; notices (such as
"imported issues.jsonl") and errors go to stderr.

exit codes: 0 ok, 1 error, 2 usage or invalid input, 3 not found, 4 conflict (claimed by
someone else, a dependency cycle; `dep cycles` also exits 4 when it finds cycles).

environment: SHOPFLOOR_ACTOR (who acts; else $USER), SHOPFLOOR_DB (database path; default
<git common dir>/shopfloor/tracker.db), SHOPFLOOR_DEBUG=1 (tracebacks for internal errors),
SHOPFLOOR_CHANNEL and SHOPFLOOR_TOKEN (set inside a worker: commands go through the floor's
channel and act as the worker, whatever --actor says).
"""


def _registers() -> Iterator[Callable[[Subcommands, str | None], None]]:
    """Each ``*_cmds`` module's ``register``, imported one at a time (in ``--help`` order), so
    that building one command's parser stops at the module that has it."""
    from shopfloor.cli import issue_cmds

    yield issue_cmds.register
    from shopfloor.cli import work_cmds

    yield work_cmds.register
    from shopfloor.cli import dep_cmds

    yield dep_cmds.register
    from shopfloor.cli import tracker_cmds

    yield tracker_cmds.register
    from shopfloor.cli import model_cmds

    yield model_cmds.register
    from shopfloor.cli import worker_cmds

    yield worker_cmds.register
    from shopfloor.cli import gate_cmds

    yield gate_cmds.register
    from shopfloor.cli import queue_cmds

    yield queue_cmds.register
    from shopfloor.cli import floor_cmds

    yield floor_cmds.register
    from shopfloor.cli import retry_cmds

    yield retry_cmds.register
    from shopfloor.cli import review_cmds

    yield review_cmds.register
    from shopfloor.cli import log_cmds

    yield log_cmds.register
    from shopfloor.cli import learn_cmds

    yield learn_cmds.register
    from shopfloor.cli import plan_cmds

    yield plan_cmds.register
    from shopfloor.cli import rules_cmds

    yield rules_cmds.register
    from shopfloor.cli import compact_cmds

    yield compact_cmds.register
    from shopfloor.cli import dashboard_cmds

    yield dashboard_cmds.register


def build_parser(only: str | None = None) -> Parser:
    """The whole parser, or (with ``only``) just the top level and that one command (the whole
    parser when no command has that name, so that the error lists them all)."""
    parser = Parser(
        prog="shopfloor",
        description="Run many AI coding agents in parallel on one repository; this is its issue tracker.",
        epilog=EPILOG,
        parents=[common_options()],
    )
    parser.add_argument("--version", action="version", version="shopfloor " + _version())
    sub = parser.add_subparsers(metavar="COMMAND", parser_class=Parser)
    for register in _registers():
        register(sub, only)
        if only in sub.choices:
            return parser
    if only is not None:
        return build_parser()
    return parser


def _version() -> str:
    from shopfloor import __version__

    return __version__


def _command_name(argv: Sequence[str]) -> str | None:
    """The subcommand in ``argv``, skipping the global options that may precede it."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--actor":
            skip = True
        elif not arg.startswith("-"):
            return arg
        elif arg in ("-h", "--help", "--version"):
            return None
    return None


def _arg_names(parser: argparse.ArgumentParser, names: dict[str, str]) -> dict[str, str]:
    """How each destination was spelt on the command line (``--assignee``, ``ID``), for errors."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _arg_names(child, names)
        elif action.option_strings:
            names.setdefault(action.dest, max(action.option_strings, key=len))
        else:
            metavar = action.metavar if isinstance(action.metavar, str) else None
            names.setdefault(action.dest, metavar or action.dest.upper())
    return names


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse any argument that is not valid UTF-8 before a handler sees it.

    Undecodable bytes in ``argv`` arrive as lone surrogates, which crash the first ``encode``
    (SQLite, a file name, stdout); checking them here covers every command and option at once.
    """
    from shopfloor.tracker.schema import check_text

    names = _arg_names(parser, {})
    for dest, value in vars(args).items():
        if dest.startswith("_"):
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                check_text(item, names.get(dest, dest))


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_name(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, a usage error: argparse has printed what to say
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    handler = getattr(args, "_handler", None)
    if not handler:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if not hasattr(args, "json"):
        args.json = False
    if not hasattr(args, "actor"):
        args.actor = None
    if getattr(args, "no_sandbox", False):
        os.environ["SHOPFLOOR_SANDBOX"] = "off"  # for this process and what it starts (the gate, the floor)
    try:
        _check_args(parser, args)
        if os.environ.get("SHOPFLOOR_CHANNEL"):
            # Inside a worker: through the floor's channel, as the token's worker, never the database.
            from shopfloor.channel import cli as channel_cli

            if not channel_cli.is_local(args._command):
                return channel_cli.run(args._command, args)
        # Every package's tables, registered before the handler opens the database (floor.tables);
        # here, not at import, so --help and usage errors do not pay for sqlite3 and the schema.
        import shopfloor.floor.tables  # noqa: F401
        return int(handler(args) or 0)
    except ShopfloorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except Exception as exc:
        import sqlite3

        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            print(
                "error: the tracker database stayed locked for 60 s: another process holds it; retry", file=sys.stderr
            )
            return EXIT_ERROR
        if isinstance(exc, sqlite3.DatabaseError):
            from shopfloor.tracker import db

            if db.is_corruption(exc):  # a damaged page read after connect: the same line as at connect
                print(f"error: {db.corrupt_error(_database_path(), exc)}", file=sys.stderr)
                return EXIT_ERROR
        if os.environ.get("SHOPFLOOR_DEBUG"):
            raise
        print(
            f"error: internal error: {type(exc).__name__}: {exc} (set SHOPFLOOR_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_ERROR


def _database_path() -> str:
    """The tracker database this command used, for an error message (never raises)."""
    try:
        from shopfloor.tracker.locate import locate

        return locate().db_file
    except Exception:
        return "(the tracker database)"
