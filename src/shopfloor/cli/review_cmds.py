"""``shopfloor review``: a person's line comments on an issue's change, sent back to the same agent session."""

from __future__ import annotations

import argparse
from typing import Any

from shopfloor.cli.common import open_tracker, print_json
from shopfloor.cli.parsing import Subcommands, command

SIGNS = {"add": "+", "del": "-", "ctx": " "}


def cmd_review(args: argparse.Namespace) -> int:
    from shopfloor.floor import review

    tracker = open_tracker(args)
    if args.show:
        if args.comment or args.note is not None or args.from_file:
            from shopfloor.errors import UsageError

            raise UsageError("--show prints the change; give comments without it to send a review")
        found = review.change(tracker, tracker.resolve(args.issue))
        if args.json:
            print_json(found.as_json())
        else:
            _print_change(found.as_json())
        return 0
    from shopfloor.actors import is_agent
    from shopfloor.errors import ConflictError

    if is_agent(tracker.actor):
        raise ConflictError(f"{tracker.actor} is an agent: only a person reviews a change")
    sent = review.send_review(tracker, args.issue, _review(args), args.terminal)
    if args.json:
        print_json(sent.as_json())
    elif sent.resumed:
        print(
            f"{sent.issue}: review {sent.review} ({sent.summary}) sent to {sent.worker}'s session "
            f"{sent.session_id}; its answer is gated when it ends"
        )
    else:
        print(
            f"{sent.issue}: review {sent.review} ({sent.summary}) recorded; the running floor resumes "
            f"{sent.worker}'s session with it on its next turn"
        )
    return 0


def _review(args: argparse.Namespace) -> Any:
    import json

    from shopfloor.errors import ValidationError
    from shopfloor.floor import reviews
    from shopfloor.tracker.schema import text_arg

    comments = [reviews.parse_comment(spec) for spec in args.comment or []]
    note = text_arg(args.note, "note")
    if args.from_file:
        data = _read(args.from_file)
        try:
            loaded = reviews.from_json(json.loads(data))
        except ValueError as exc:
            if isinstance(exc, ValidationError):
                raise
            raise ValidationError(f"{args.from_file} is not JSON: {exc}") from None
        comments += loaded.comments
        note = "\n\n".join(n for n in (loaded.note, note) if n) or None
    return reviews.review(comments, note)


def _read(path: str) -> str:
    import sys

    from shopfloor.errors import NotFoundError, ValidationError
    from shopfloor.inputs import PLAN_LIMIT, read_at_most

    try:
        if path == "-":
            data = read_at_most(sys.stdin.buffer, PLAN_LIMIT, "the review on stdin", "shorten it")
        else:
            with open(path, "rb") as handle:
                data = read_at_most(handle, PLAN_LIMIT, path, "shorten it")
    except FileNotFoundError:
        raise NotFoundError(f"no review file {path}") from None
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{path} is not valid UTF-8 (byte {exc.start})") from None


def _print_change(change: dict[str, Any]) -> None:
    files = change["files"]
    n = f"{len(files)} file" + ("s" if len(files) != 1 else "")
    print(f"{change['issue']}: {change['branch']} against {change['target']} ({n}, {change['head'][:12]})")
    width = max(
        (len(str(ln["new"] or ln["old"] or "")) for f in files for h in f["hunks"] for ln in h["lines"]), default=1
    )
    for f in files:
        renamed = f" (from {f['old_path']})" if f["old_path"] and f["old_path"] != f["path"] else ""
        print(f"\n{f['status']} {f['path']}{renamed}")
        if f["binary"]:
            print("  (binary)")
        for hunk in f["hunks"]:
            print(f"  {hunk['header']}")
            for ln in hunk["lines"]:
                number = ln["old"] if ln["kind"] == "del" else ln["new"]
                print(f"  {number:>{width}} {SIGNS[ln['kind']]}{ln['text']}")
    print(f"\ncomment with: shopfloor review {change['issue']} --comment FILE:LINE:TEXT (a line number above)")


def register(sub: Subcommands, only: str | None) -> None:
    p = command(sub, "review", cmd_review, "send line comments on an issue's change back to its agent's session", only)
    p.add_argument("issue", metavar="ISSUE")
    p.add_argument(
        "--comment",
        action="append",
        metavar="FILE:LINE:TEXT",
        help="a comment on a line of the change (the new side's number, as --show prints it); repeat for more",
    )
    p.add_argument("--note", metavar="TEXT", help="an overall note besides the line comments (- reads stdin)")
    p.add_argument(
        "--from-file",
        metavar="FILE",
        help='comments as JSON: {"comments": [{"path", "line", "text"}], "note": "..."} (- reads stdin)',
    )
    p.add_argument("--show", action="store_true", help="print the change of the latest attempt, file by file")
    p.add_argument("--terminal", choices=("tmux", "detached"), help="where the resumed agent runs (as worker restart)")
