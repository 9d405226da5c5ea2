"""Rules promoted from recurring failures: ``rules list``, ``show``, and a person's ``accept``,
``reject``, ``edit`` and ``retire`` (``floor.promote``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from shopfloor.cli.common import open_tracker, print_json
from shopfloor.cli.parsing import Subcommands, actions

TYPE_CHECKING = False
if TYPE_CHECKING:
    from shopfloor.floor.promote import Published
    from shopfloor.learn.ruledb import Row
    from shopfloor.tracker.service import Tracker


def _refreshed(args: argparse.Namespace) -> Tracker:
    """The tracker with a proposal for every failure that recurred since (``[flywheel] promote_after``)."""
    from shopfloor.floor import promote

    tracker = open_tracker(args)
    promote.refresh(tracker, promote.config(tracker))
    return tracker


def _line(row: Row) -> str:
    issues = len(row.evidence)
    return f"{row.id:>3}  {row.state:<8}  {row.signature}  ({issues} issues)  {row.text}"


def cmd_list(args: argparse.Namespace) -> int:
    from shopfloor.learn import ruledb

    tracker = _refreshed(args)
    rows = ruledb.listed(tracker.conn, args.state)
    if args.json:
        print_json([r.as_json() for r in rows])
        return 0
    if not rows:
        print("no rules" + (f" {args.state}" if args.state else "") + ": a failure becomes one once it recurs")
    for row in rows:
        print(_line(row))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from shopfloor.learn import ruledb

    row = ruledb.get(_refreshed(args).conn, args.id)
    if args.json:
        print_json(row.as_json())
        return 0
    print(f"rule {row.id} ({row.state}{', by ' + row.accepted_by if row.accepted_by else ''}): {row.text}")
    print(f"signature: {row.signature}")
    for e in row.evidence:
        if "lesson" in e:  # a rule from near-identical lessons: what was said in each issue
            what = f"{e['source']} said: {e['lesson']}"
        elif e.get("fixed_by"):
            what = f"fixed by attempt {e['fixed_by']}" + (f" ({e['fix_stat']})" if e.get("fix_stat") else "")
        else:
            what = "never fixed"
        print(f"  {e['issue']}: {what}; retro {e.get('retro') or '-'}")
    return 0


def _published(row: Row, done: Published, json: bool) -> int:
    if json:
        print_json({"rule": row.as_json(), "branch": done.branch, "entry": done.entry, "issue": done.issue,
                    "files": list(done.files)})  # fmt: skip
        return 0
    print(f"rule {row.id}: {row.state}: {row.text}")
    if done.branch:
        print(f"wrote {', '.join(done.files)} on {done.branch}, queued as entry {done.entry}")
        print(f"it lands once a person approves it: shopfloor approve {done.issue}")
    return 0


def _decide(action: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        from shopfloor.floor import promote

        tracker = _refreshed(args)
        row, done = promote.decide(tracker, args.id, action, getattr(args, "text", None))
        return _published(row, done, args.json)

    return handler


def _rule_id(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a rule id (a number: see `shopfloor rules list`)")
    return int(text)


def register(sub: Subcommands, only: str | None) -> None:
    rules = actions(sub, "rules", "rules promoted from failures that recur across issues; a person decides", only)
    p = rules.add("list", cmd_list, "the rules, proposed ones included (a failure met by N finished issues)")
    p.add_argument("--state", choices=("proposed", "accepted", "rejected", "retired"), help="only rules in STATE")
    p = rules.add("show", cmd_show, "one rule and its evidence: the issues, the signature, the fixes")
    p.add_argument("id", type=_rule_id, metavar="ID")
    p = rules.add("accept", _decide("accept"), "accept a rule: it is written into the agents' context files")
    p.add_argument("id", type=_rule_id, metavar="ID")
    p.add_argument("--text", help="the rule's one line, instead of the proposed text")
    p = rules.add("reject", _decide("reject"), "reject a proposed rule")
    p.add_argument("id", type=_rule_id, metavar="ID")
    p = rules.add("edit", _decide("edit"), "change a rule's one line (an accepted rule's section is rewritten)")
    p.add_argument("id", type=_rule_id, metavar="ID")
    p.add_argument("--text", required=True, help="the rule's new one line")
    p = rules.add("retire", _decide("retire"), "retire an accepted rule: its line leaves the context files")
    p.add_argument("id", type=_rule_id, metavar="ID")
