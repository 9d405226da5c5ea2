"""``shopfloor retry``: give blocked, spiralled or failed issues another series of attempts."""

from __future__ import annotations

import argparse

from shopfloor.cli.common import open_tracker, print_json
from shopfloor.tracker.schema import text_arg


def cmd_retry(args: argparse.Namespace) -> int:
    from shopfloor.cli.issue_cmds import _refuse_agent
    from shopfloor.floor import retry

    tracker = open_tracker(args)
    _refuse_agent(tracker, "retry an issue")
    note = text_arg(args.note, "note")
    note = note.strip() if note else None
    plans = retry.plan(tracker, args.ids, args.agent)  # every id checked before anything changes
    done = retry.apply(tracker, plans, args.fresh, args.agent, note)
    if args.json:
        print_json(done)
        return 0
    for item in done:
        how = f", from the target (old branch kept as {item['kept_branch']})" if item["kept_branch"] else ""
        how += f", agent {item['agent']}" if item["agent"] else ""
        how += ", with your note" if item["note"] else ""
        print(f"{item['id']}: try {item['series']} is ready for the floor{how}")
    return 0
