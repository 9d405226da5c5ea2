"""The CLI inside a worker: commands go through the channel, never to the database.

When ``$SHOPFLOOR_CHANNEL`` is set, ``shopfloor`` sends each allowed command to the floor over
the worker's socket, with ``$SHOPFLOOR_TOKEN``, and prints the reply as the command prints
without a channel (human text, or ``--json``). Commands no worker may run are refused here with
one line (the server refuses them too). ``--actor`` and ``$SHOPFLOOR_ACTOR`` are ignored: the
token decides who acts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from typing import Any

from shopfloor.channel import policy
from shopfloor.channel.client import call
from shopfloor.channel.paths import CHANNEL_ENV, TOKEN_ENV
from shopfloor.channel.protocol import CODE_REFUSED, Request
from shopfloor.errors import ShopfloorError, UsageError
from shopfloor.tracker.schema import text_arg

# Arguments that may be ``-`` (read from stdin) in the CLI: read here, sent as text.
_STDIN_ARGS = ("text", "description")
_LOCAL_ARGS = ("json", "actor", "lease")


def op_of(command: str) -> str:
    """The channel's name for a command, given its path on the command line: ``dep tree`` ->
    ``dep tree``, ``merge-driver`` -> ``merge driver`` (the names ``policy`` rules on)."""
    return " ".join(command.replace("-", " ").split())


def is_local(command: str) -> bool:
    return op_of(command) in policy.LOCAL_OPS


def _sent(args: argparse.Namespace) -> dict[str, Any]:
    return {k: v for k, v in vars(args).items() if not k.startswith("_") and k not in _LOCAL_ARGS}


def _tell_the_floor(path: str, op: str, sent: dict[str, Any]) -> None:
    """Send a refused operation to the server anyway: it refuses it again (the same policy) and
    records the refusal for the attempt. Unreachable or not, the refusal stands."""

    with contextlib.suppress(ShopfloorError, OSError, TypeError, ValueError):
        call(path, Request(op=op, args=sent, token=os.environ.get(TOKEN_ENV, "")))


def run(command: str, args: argparse.Namespace) -> int:
    """Run ``command`` (its path, as ``parsing.command`` records it) through the channel."""

    path = os.environ.get(CHANNEL_ENV, "")
    op = op_of(command)
    refused = policy.static_refusal(op, vars(args))
    if refused is not None:
        _tell_the_floor(path, op, _sent(args))  # so the attempt records what was tried
        print(refused, file=sys.stderr)
        return CODE_REFUSED
    token = os.environ.get(TOKEN_ENV)
    if not token:
        raise UsageError(f"${CHANNEL_ENV} is set but ${TOKEN_ENV} is not: run shopfloor from the worker's environment")
    if getattr(args, "actor", None) is not None:
        print("note: --actor is ignored inside a worker: its channel token decides who acts", file=sys.stderr)
    sent = _sent(args)
    for key in _STDIN_ARGS:
        if isinstance(sent.get(key), str):
            sent[key] = text_arg(sent[key], key)
    if op == "done" and not sent.get("id"):
        sent["id"] = os.environ.get("SHOPFLOOR_ISSUE") or None

    reply = call(path, Request(op=op, args=sent, token=token))
    for line in reply.notices:
        print(line, file=sys.stderr)
    if not reply.ok:
        message = reply.error or "error"
        print(message if message.startswith("refused: ") else f"error: {message}", file=sys.stderr)
        return reply.code
    if args.json:
        sys.stdout.write(json.dumps(reply.result, ensure_ascii=False) + "\n")
    elif reply.text:
        print(reply.text)
    return CODE_REFUSED if op == "dep cycles" and reply.result else 0  # as `dep cycles` exits when it finds some
