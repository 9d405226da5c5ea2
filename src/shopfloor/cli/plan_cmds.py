"""``plan``: one agent session writes ``.agents/plans/<slug>.md`` for a person to review (``floor.planrun``)."""

from __future__ import annotations

import argparse
import sys

from shopfloor.cli.common import open_tracker, print_json
from shopfloor.cli.parsing import Subcommands, command, no_sandbox


def _timeout(text: str) -> float:
    """``--timeout``: seconds (``900``), or a duration (``15m``, ``1h``)."""
    from shopfloor.errors import UsageError
    from shopfloor.tracker.clock import parse_duration

    value = text.strip()
    if value.isascii() and value.isdigit():
        seconds = float(value)
        if not 1 <= seconds <= 7 * 24 * 3600:
            raise UsageError(f"--timeout {text!r} must be from 1 s to 7 days")
        return seconds
    return parse_duration(value, "--timeout")


def cmd_plan(args: argparse.Namespace) -> int:
    from shopfloor.errors import UsageError
    from shopfloor.floor.planrun import DEFAULT_TIMEOUT_S, PlanRequest, run
    from shopfloor.tracker import plancreate
    from shopfloor.workers.progress import printable

    if not args.goal.strip():
        raise UsageError('plan needs a GOAL: shopfloor plan "Add rate limiting to the public API"')
    timeout_s = _timeout(args.timeout) if args.timeout else DEFAULT_TIMEOUT_S
    tracker = open_tracker(args)
    request = PlanRequest(goal=args.goal, agent=args.agent, timeout_s=timeout_s, dry_run=args.dry_run)
    if not request.sandbox:
        print("warning: --no-sandbox: the planning agent runs with your full powers", file=sys.stderr)

    def progress(line: str) -> None:
        print(f"  ... {printable(line)}", file=sys.stderr, flush=True)

    result = run(tracker, request, progress)
    if args.json:
        print_json(
            {
                "path": result.path,
                "written": result.written,
                "target": result.target,
                "commit": result.commit,
                "agent": result.agent,
                "tokens": result.tokens,
                "cost_usd": result.cost_usd,
                "log": result.log,
                "kept": result.kept,
                "ignored_by": result.ignored_by,
                "issues": plancreate.proposed_json(result.proposed),
            }
        )
        return 0
    cost = f"{result.tokens:,} tokens, ${result.cost_usd:.4f}"
    if result.written:
        print(f"wrote {result.path}: {len(result.proposed)} proposed issue(s) ({cost})")
    else:
        print(f"dry run: {len(result.proposed)} proposed issue(s), nothing written ({cost})")
    for line in plancreate.proposed_lines(result.proposed):
        print(f"  {printable(line)}")
    if result.ignored_by:
        print(f"note: git ignores {result.path} ({printable(result.ignored_by)}): commit it with git add -f")
    if result.written:
        print(f"review it, then: shopfloor create -f {result.path}")
    else:
        print(f"the agent's plan is kept at {result.kept} (outside the repository)")
    return 0


def register(sub: Subcommands, only: str | None) -> None:
    p = command(
        sub,
        "plan",
        cmd_plan,
        "one agent session researches the repository (read-only) and writes .agents/plans/<slug>.md",
        only,
    )
    p.add_argument("goal", help="what the plan is for, in your words")
    p.add_argument("--agent", default="claude", help="which agent CLI (claude, codex, scripted, ...; default claude)")
    p.add_argument("--dry-run", action="store_true", help="run the session and show the issues; write nothing")
    p.add_argument("--timeout", help="stop the session after this long: seconds, or 15m, 1h (default 30m)")
    no_sandbox(p, "the planning agent")
