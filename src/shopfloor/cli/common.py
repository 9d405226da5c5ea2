"""Helpers every command handler shares: opening the tracker, reading text, printing."""

from __future__ import annotations

import argparse
import json
import sys

from shopfloor.tracker.schema import check_text
from shopfloor.tracker.service import Tracker

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


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
