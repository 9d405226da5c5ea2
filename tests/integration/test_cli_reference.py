"""The CLI's commands, registered by their own modules: the README's reference, the parser
built for one command, what the worker channel lets an agent run, and start-up imports."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from cogapp import Cog

from shopfloor.channel import policy
from shopfloor.channel.cli import op_of
from shopfloor.cli.main import build_parser
from shopfloor.cli.reference import commands

README = Path(__file__).resolve().parents[2] / "README.md"


def _top(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no commands")


def test_the_readme_command_reference_is_what_the_parser_says() -> None:
    status = Cog().main(["cog", "--check", "--diff", "--check-fail-msg", "run `cog -r README.md`", str(README)])
    assert status == 0, "README.md's command reference is out of date: run `cog -r README.md`"


def test_the_parser_built_for_one_command_is_that_command_in_the_whole_parser() -> None:
    whole = _top(build_parser())
    assert len(whole) >= 30
    for name, parser in whole.items():
        alone = _top(build_parser(name))
        assert list(alone) == [name]
        assert alone[name].format_help() == parser.format_help(), name
    # An unknown name builds every command, so the usage error lists them all.
    assert list(_top(build_parser("frobnicate"))) == list(whole)


def test_every_command_has_a_handler_and_a_distinct_channel_operation() -> None:
    found = commands()
    ops = [op_of(p.get_default("_command")) for p in found]
    assert all(callable(p.get_default("_handler")) for p in found)
    assert len(set(ops)) == len(ops)
    assert {"dep tree", "merge driver", "scripted model serve", "gate pre push", "label add"} <= set(ops)


def test_the_channel_lets_a_worker_run_only_the_commands_the_policy_names() -> None:
    ops = {op_of(p.get_default("_command")) for p in commands()}
    allowed = {op for op in ops if policy.static_refusal(op) is None}
    assert allowed == {
        *("show", "list", "ready", "blocked", "search", "dep tree", "dep cycles"),
        *("comment", "done", "update", "heartbeat", "create", "prime"),
        *("learn search", "learn show"),  # the memory, read-only (issue 15): never `learn stats`
    }
    assert policy.static_refusal("learn stats") == (
        "refused: a worker may search the memory (`shopfloor learn search WORDS`) and read a learning "
        "(`shopfloor learn show ID`), not inspect it"
    )
    assert policy.refusal("learn search", {"words": ["x"]}, "t-1", "t-1") is None
    # Every name the policy rules on is a command's (a renamed command would slip past it).
    for name in policy.ALLOWED_OPS | policy.LOCAL_OPS | set(policy.STATIC):
        assert any(op == name or op.startswith(f"{name} ") for op in ops), name


def test_building_the_whole_parser_imports_no_handler_dependencies() -> None:
    """Every ``*_cmds`` module imports only what its parsers need at its top (start-up time):
    building every parser loads nothing beyond the ``shopfloor.cli`` package itself does."""
    code = (
        "import sys, shopfloor.cli; before = set(sys.modules); import shopfloor.cli.main as m; m.build_parser(); "
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(done.stdout.split())
    assert {"shopfloor.cli.main", "shopfloor.cli.issue_cmds", "shopfloor.cli.log_cmds"} <= loaded
    ours = {m for m in loaded if m.startswith("shopfloor.")}
    assert {m for m in ours if not m.startswith("shopfloor.cli.")} <= {"shopfloor.errors"}
    assert not {"sqlite3", "json", "datetime", "subprocess", "pathlib", "tomllib"} & loaded
