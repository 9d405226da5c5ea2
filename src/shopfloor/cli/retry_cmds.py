"""``shopfloor retry``: give blocked, spiralled or failed issues another series of attempts."""

from __future__ import annotations

import argparse

from shopfloor.cli.common import open_tracker, print_json
from shopfloor.cli.parsing import Subcommands, command


def cmd_retry(args: argparse.Namespace) -> int:
    from shopfloor.cli.issue_cmds import _refuse_agent
    from shopfloor.floor import retry
    from shopfloor.tracker.schema import text_arg

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


def register(sub: Subcommands, only: str | None) -> None:
    p = command(sub, "retry", cmd_retry, "give blocked, spiralled or failed issues another try", only)
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument(
        "--fresh", action="store_true", help="start from the target; the old branch is kept as floor/ID-tryN"
    )
    p.add_argument("--agent", help="the agent for the new series (default: the one `run --agent` names)")
    p.add_argument("--note", help="guidance for the next agent, shown to it first (- to read it from stdin)")
