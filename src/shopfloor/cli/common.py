"""Helpers every command handler shares: opening the tracker, reading text, printing."""

from __future__ import annotations

import argparse
import json
import sys

from shopfloor.errors import ValidationError
from shopfloor.inputs import TEXT_LIMIT, read_at_most
from shopfloor.tracker.schema import check_text
from shopfloor.tracker.service import Tracker

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_STDIN = TEXT_LIMIT


def open_tracker(args: argparse.Namespace) -> Tracker:
    tracker = Tracker.open(args.actor)
    tracker.flush_notices()
    # Every command sees expired leases returned to ready (a cheap indexed check first).
    tracker.reclaim_expired()
    if args.actor is not None:
        check_text(args.actor, "actor")
    check_text(tracker.actor, "actor")
    return tracker


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")


def text_arg(value: str | None, what: str) -> str | None:
    """An argument that may be ``-`` for stdin; either way it must be valid UTF-8."""
    if value is None:
        return None
    if value == "-":
        data = read_at_most(sys.stdin.buffer, MAX_STDIN, f"the {what} on stdin", "shorten it")
        try:
            value = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError(f"{what} on stdin is not valid UTF-8 (byte {exc.start}): re-encode it") from None
    return check_text(value, what)
