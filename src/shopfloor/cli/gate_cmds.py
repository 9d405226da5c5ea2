"""``shopfloor gate``: run the gate on a revision, show and list runs, write a default config."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from shopfloor.cli.common import open_tracker, print_json
from shopfloor.cli.parsing import Subcommands, actions, command, limit, no_sandbox
from shopfloor.errors import EXIT_ERROR, ShopfloorError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from shopfloor.gate.results import GateReport


def printable(text: str) -> str:
    from shopfloor.workers.progress import printable as clean

    return clean(text)


def _render(report: GateReport) -> None:
    from shopfloor.gate.report import check_lines

    flag = {"pass": "PASS", "fail": "FAIL", "needs-approval": "NEEDS APPROVAL"}[report["verdict"]]
    cached = ", replayed from cache" if report.get("cached") else ""
    print(
        f"gate run {report['id']}: {flag}  ({report['rev']} {report['commit'][:10]}, base {report['base']}, "
        f"config {report['config_hash']}, {report['duration_s']:.1f} s{cached})"
    )
    width = max([len(c["name"]) for c in report["checks"]] + [5])
    print(f"  {'check':<{width}}  {'status':<14} {'time':>7}  signature")
    for check in report["checks"]:
        took = f"{check['duration_s']:.1f} s" if check["duration_s"] else "-"
        print(f"  {check['name']:<{width}}  {check['status']:<14} {took:>7}  {check.get('signature') or ''}".rstrip())
        if check["status"] not in ("pass", "skipped") or check.get("note"):
            for line in check_lines(check, report["id"]):
                print(f"  {'':<{width}}  | {printable(line)}")
    if report.get("approval_required") and report["verdict"] != "fail":
        print(f"  vibe {report.get('vibe')}: a human approves before merge (`shopfloor approve {report.get('issue')}`)")


def cmd_gate_run(args: argparse.Namespace) -> int:
    import signal

    from shopfloor.gate.gating import GateRequest, run

    tracker = open_tracker(args)
    # Run from inside a worker, it is the agent's own check: advisory, never a verdict the floor uses.
    advisory = bool(os.environ.get("SHOPFLOOR_WORKER"))
    request = GateRequest(
        rev=args.rev,
        base=args.base,
        issue=args.issue,
        attempt=args.attempt,
        use_cache=not args.no_cache,
        advisory=advisory,
    )

    def progress(line: str) -> None:
        if not args.json:
            print(f"  ... {line}", file=sys.stderr, flush=True)

    # SIGTERM and SIGHUP end the gate like Ctrl-C: its checks are killed and its worktree removed.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    report = run(tracker, request, progress)
    if args.json:
        print_json(report)
    else:
        _render(report)
    if advisory:
        print(
            "note: an advisory run (started inside a worker): the floor gates your branch itself when you are done",
            file=sys.stderr,
        )
    from shopfloor.gate.config import CONFIG_PATH
    from shopfloor.gate.drift import drift_warning
    from shopfloor.paths import main_tree

    warning = drift_warning(main_tree(tracker) / CONFIG_PATH, report["base"], report["config_hash"])
    if warning:  # e.g. an uncommitted `gate init`: its rules are not the ones in force
        print(warning, file=sys.stderr)
    return 0 if report["verdict"] == "pass" else EXIT_ERROR


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def cmd_gate_show(args: argparse.Namespace) -> int:
    from shopfloor.gate import runlog

    tracker = open_tracker(args)
    report = runlog.get_run(tracker.conn, args.run)
    if args.json:
        print_json(report)
    else:
        _render(report)
    return 0


def cmd_gate_list(args: argparse.Namespace) -> int:
    from shopfloor.gate import runlog

    tracker = open_tracker(args)
    issue = tracker.resolve(args.issue) if args.issue else None
    runs = runlog.list_runs(tracker.conn, issue, args.limit)
    if args.json:
        print_json(runs)
        return 0
    if not runs:
        print("no gate runs yet: `shopfloor gate run [REV]`")
    for r in runs:
        cached = " (cached)" if r["cached"] else ""
        print(
            f"{r['id']:>5}  {r['verdict']:<14} {r['commit'][:10]}  {r['rev']:<20} {r['issue'] or '-':<10} "
            f"{r['created_at']}{cached}"
        )
    return 0


def cmd_gate_init(args: argparse.Namespace) -> int:
    """Propose the checks the project uses, try each on the target, write the ones that can run."""
    from shopfloor.cli.gate_init import init

    return init(args)


def cmd_gate_install(args: argparse.Namespace) -> int:
    from shopfloor.gate.hook import install

    tracker = open_tracker(args)
    hook = install(tracker.location.worktree, force=args.force)
    if args.json:
        print_json({"hook": str(hook)})
    else:
        print(f"installed {hook}: pushes are gated, and worker branches cannot be pushed to the target")
    return 0


def cmd_gate_pre_push(args: argparse.Namespace) -> int:
    """Run by the hook: git gives the pushed refs on stdin."""
    from shopfloor.gate.gating import GateRequest, repo_of, resolve_base, run
    from shopfloor.gate.hook import parse_lines, refusal, worker_tips

    tracker = open_tracker(args)
    repo = repo_of(tracker)
    target = "main"
    with contextlib.suppress(ShopfloorError):  # no target branch yet: the default stands
        target = resolve_base(repo, None)[0]
    tips = worker_tips(repo)
    from shopfloor.inputs import PLAN_LIMIT, read_at_most

    pushed = read_at_most(sys.stdin.buffer, PLAN_LIMIT, "the pushed refs on stdin", "push fewer refs at once")
    for push in parse_lines(pushed.decode("utf-8", "replace")):
        reason = refusal(push, target, tips)
        if reason:
            print(f"error: {reason}", file=sys.stderr)
            return EXIT_ERROR
        report = run(tracker, GateRequest(rev=push.local_sha, base=target))
        if report["verdict"] != "pass":
            print(
                f"error: the gate says {report['verdict']} for {push.local_ref} (run {report['id']}): "
                f"see `shopfloor gate show {report['id']}`",
                file=sys.stderr,
            )
            return EXIT_ERROR
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    """A human's approval for a change that needs one (vibe 1-2, protected files, a large diff)."""
    from shopfloor.floor.approval import approve

    tracker = open_tracker(args)
    issue_id = tracker.resolve(args.id)
    added = approve(tracker, issue_id)
    if args.json:
        print_json({"id": issue_id, "approved": True, "by": tracker.actor, "already": not added})
    else:
        print(f"{issue_id}: approved by {tracker.actor}" + (" (already approved)" if not added else ""))
    return 0


def register(sub: Subcommands, only: str | None) -> None:
    p = command(sub, "approve", cmd_approve, "approve an issue's change for merge (vibe 1-2 need this)", only)
    p.add_argument("id")
    gate = actions(sub, "gate", "re-check a change independently: configured and built-in checks, one verdict", only)
    p = gate.add("run", cmd_gate_run, "gate a revision (exit 0 only for a pass verdict)")
    no_sandbox(p, "the checks")
    p.add_argument("rev", nargs="?", default="HEAD", metavar="REV", help="the candidate (default HEAD)")
    p.add_argument("--base", help="the target whose rules apply and which the change is compared with (default main)")
    p.add_argument("--issue", metavar="ID", help="the issue the change is for (its vibe level and labels apply)")
    p.add_argument("--attempt", metavar="ATTEMPT", help="the attempt the run belongs to (recorded with it)")
    p.add_argument("--no-cache", action="store_true", help="run every check again instead of replaying cached results")
    p = gate.add("show", cmd_gate_show, "show one gate run's report")
    p.add_argument("run", type=limit, metavar="RUN", help="the run's number (see gate list)")
    p = gate.add("list", cmd_gate_list, "list gate runs, newest first")
    p.add_argument("--issue", metavar="ID", help="only runs for this issue")
    p.add_argument("-n", "--limit", type=limit, default=20, help="at most N runs (default 20)")
    p = gate.add("init", cmd_gate_init, "propose the checks the project uses, try them, write them")
    no_sandbox(p, "the checks")
    p.add_argument("--force", action="store_true", help="replace an existing [gate] section")
    p.add_argument("--no-run", action="store_true", help="write the proposed checks without trying them on the target")
    p = gate.add("install", cmd_gate_install, "install a git pre-push hook that gates every push")
    p.add_argument("--force", action="store_true", help="replace a pre-push hook that is not shopfloor's")
    p = gate.add("pre-push", cmd_gate_pre_push, "what the pre-push hook runs (reads git's lines on stdin)")
    p.add_argument("remote", nargs="?", help="the remote's name (from git)")
    p.add_argument("url", nargs="?", help="the remote's URL (from git)")
