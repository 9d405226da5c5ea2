"""Helpers every command handler shares: opening the tracker, reading text, printing.

The ``*_cmds`` modules import this at their top while their parsers are built, so it imports
nothing heavy itself (see ``parsing``).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from shopfloor.tracker.service import Tracker


def open_tracker(args: argparse.Namespace) -> Tracker:
    from shopfloor.tracker.schema import check_text
    from shopfloor.tracker.service import Tracker

    tracker = Tracker.open(args.actor)
    tracker.flush_notices()
    # Every command sees expired leases returned to ready (a cheap indexed check first).
    tracker.reclaim_expired()
    if args.actor is not None:
        check_text(args.actor, "actor")
    check_text(tracker.actor, "actor")
    return tracker


def print_json(value: Any) -> None:
    import json

    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")
