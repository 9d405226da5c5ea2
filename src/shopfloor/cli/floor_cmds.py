"""``shopfloor run``, ``status`` and ``metrics``: the floor."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from shopfloor.cli.common import open_tracker, print_json
from shopfloor.cli.parsing import LEASE_HELP, Subcommands, command, limit, no_sandbox

FLOOR_ACTOR = "floor"


def cmd_run(args: argparse.Namespace) -> int:
    import signal

    from shopfloor.floor import stopping
    from shopfloor.floor.lock import acquire
    from shopfloor.paths import state_dir

    if args.actor is None:
        args.actor = FLOOR_ACTOR
    tracker = open_tracker(args)
    stopping.on_sigterm()  # from here on, SIGTERM ends the run as Ctrl-C does, with the same words
    held = None
    try:
        # Inside the try: a signal the moment the lock is taken (when `status` already shows this
        # coordinator) still ends with the parting words, not a bare "interrupted".
        held = acquire(state_dir(tracker))  # one coordinator per repository; kept to the end
        return _run_floor(args, tracker)
    except KeyboardInterrupt as exc:  # during the checks, before the loop
        return _parting(tracker, exc)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if held is not None:
            held.close()


def _parting(tracker: Any, exc: KeyboardInterrupt) -> int:
    """What a coordinator stopped by Ctrl-C or SIGTERM says: its workers run on, and how to end them."""
    from shopfloor.floor import stopping
    from shopfloor.workers import lifecycle as workers

    how = "SIGTERM" if isinstance(exc, stopping.Terminated) else "Ctrl-C"
    running = [w.issue for w in workers.list_workers(tracker) if w.state in ("running", "starting")]
    print(stopping.parting_words(how, running), file=sys.stderr)
    return 143 if how == "SIGTERM" else 130


def _run_floor(args: argparse.Namespace, tracker: Any) -> int:
    from shopfloor.floor import measure, preflight, summary
    from shopfloor.floor.coordinator import FloorConfig, run
    from shopfloor.floor.startfail import FloorStopped

    # Everything is checked before anything is claimed: a mistake here changes nothing.
    _require_sandbox()
    preflight.check_agent(tracker, args.agent)
    if not args.builtins_only:
        _require_configured_checks(tracker)
    from shopfloor.floor import admission, learnings, settings
    from shopfloor.workers import logview

    floor_settings = settings.load(tracker.location.config_path)  # a bad [floor] value stops here
    limits = admission.Limits(floor_settings.min_free_mb, floor_settings.max_load)
    if limits.enabled:
        admission.read_machine()  # a bad injected reading ($SHOPFLOOR_MACHINE_READING) stops here too
    brief_tokens = learnings.budget(tracker.location.config_path)  # a bad [flywheel] value too
    ask_agent = learnings.ask_agent(tracker.location.config_path)
    logview.prune(tracker, floor_settings.keep_logs_days)  # drops the logs of long-closed issues
    from shopfloor.tracker.clock import parse_duration

    cfg = FloorConfig(
        lease_s=parse_duration(args.lease, "lease"),
        workers=args.workers,
        agent=args.agent,
        max_attempts=args.max_attempts,
        context_limit=args.context_limit,
        until_idle=args.until_idle,
        batch=args.batch,
        terminal=args.terminal,
        stall_s=args.stall_timeout,
        tracker_interval_s=None if args.no_tracker_commits else args.tracker_interval,
        limits=limits,
        gate_jobs=args.gate_jobs,
        brief_tokens=brief_tokens,
        ask_agent=ask_agent,
    )

    def progress(line: str) -> None:
        print(f"{tracker.now()[11:19]} {line}", file=sys.stderr if args.json else sys.stdout, flush=True)

    since = summary.mark(tracker.conn)
    stopped: FloorStopped | None = None
    interrupted: KeyboardInterrupt | None = None
    try:
        run(tracker, cfg, progress)
    except FloorStopped as exc:
        stopped = exc
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (stopping.Terminated): the workers run on
        interrupted = exc
    figures = measure.metrics(tracker.conn)
    outcome = summary.of_run(tracker.conn, since)
    if args.json:
        print_json({**figures, **outcome.as_json()})
    else:
        _print_metrics(figures)
        for line in summary.lines(outcome):
            print(line)
    if interrupted is not None:
        return _parting(tracker, interrupted)
    if stopped is not None:
        print(f"error: {stopped}", file=sys.stderr)
        return stopped.exit_code
    return 1 if outcome.blocked else 0  # a run that blocked issues needs a person


def cmd_stop(args: argparse.Namespace) -> int:
    """End the floor: its coordinator, then every running agent, each with its work saved."""
    from shopfloor.floor.stopping import stop_floor

    if args.wait <= 0 or args.wait > 3600:
        print(
            f"error: --wait must be from 0 to 3600 seconds, not {args.wait:g}: give a number of seconds",
            file=sys.stderr,
        )
        return 2
    tracker = open_tracker(args)

    def progress(line: str) -> None:
        print(line, file=sys.stderr if args.json else sys.stdout, flush=True)

    done = stop_floor(tracker, args.wait, progress)
    if args.json:
        print_json({"coordinator": done.coordinator, "workers": done.workers})
        return 0
    if done.coordinator is None and not done.workers:
        print("nothing to stop: no coordinator runs and no worker is running")
    else:
        print(f"stopped {len(done.workers)} worker(s); `shopfloor run` resumes their sessions")
    return 0


def _require_sandbox() -> None:
    """No bubblewrap, no floor (before anything is claimed): agents would run with the user's
    powers. --no-sandbox runs them so on purpose, and says so."""
    from shopfloor.sandbox import bwrap
    from shopfloor.sandbox.config import enabled

    if enabled():
        bwrap.require()
    else:
        print(
            "warning: --no-sandbox: agents and checks run with your full powers (they can move main); "
            "every attempt records it",
            file=sys.stderr,
        )


def _require_configured_checks(tracker: Any) -> None:
    """No gate, no floor: the target's committed config (as the gate reads it) must configure a
    check, or the agents' work would be judged by the built-ins alone (--builtins-only: on purpose)."""
    from shopfloor.errors import NotFoundError, UsageError
    from shopfloor.gate.gating import load_config, repo_of, resolve_base
    from shopfloor.gate.initrun import target_of

    repo = repo_of(tracker)
    try:
        target, _, config = resolve_base(repo, None)
    except NotFoundError:  # e.g. a master-only repository whose config names no target yet
        target, commit, _ = target_of(repo, "set its gate up with `shopfloor gate init`")
        config = load_config(repo, commit, target)
    if not config.checks:
        raise UsageError(
            f"{target}'s committed .shopfloor/config.toml configures no gate check, so only the built-ins would "
            f"judge the agents' work: run `shopfloor gate init`, commit .shopfloor/config.toml on {target}, "
            "then start the floor (or pass --builtins-only to run without configured checks on purpose)"
        )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _print_metrics(m: dict[str, Any]) -> None:
    print(
        f"merged {m['merged']}, attempts {m['attempts']}, first-pass yield {_pct(m['first_pass_yield'])}, "
        f"second-pass rate {_pct(m['second_pass_rate'])}, spirals {m['spirals']}, handoffs {m['handoffs']}"
    )
    cycle = "-" if m["cycle_time_s"] is None else f"{m['cycle_time_s']:.1f} s"
    print(f"cycle time (median) {cycle}, tokens {m['tokens']:,}, cost ${m['cost_usd']:.4f}")
    if m["reviews"]:
        per = "-" if m["reviews_per_merged"] is None else f"{m['reviews_per_merged']:.1f}"
        print(f"reviews {m['reviews']} (rounds per merged issue {per})")
    if m["gate_failures_by_check"]:
        print("gate failures by check: " + ", ".join(f"{k} {v}" for k, v in m["gate_failures_by_check"].items()))
    for name in ("by_agent", "by_vibe"):
        for group, f in m[name].items():
            print(
                f"  {name[3:]} {group}: merged {f['merged']}, attempts {f['attempts']}, "
                f"first-pass yield {_pct(f['first_pass_yield'])}"
            )
    from shopfloor.floor.effect import lines

    for line in lines(m["rules"]):  # the memory's effect: accepted rules, briefed learnings
        print(line)


def cmd_metrics(args: argparse.Namespace) -> int:
    from shopfloor.floor import measure

    tracker = open_tracker(args)
    figures = measure.metrics(tracker.conn)
    if args.json:
        print_json(figures)
    else:
        _print_metrics(figures)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from shopfloor.cli import status_view

    watching = args.watch or args.interval is not None or args.count is not None  # either implies --watch
    if args.interval is not None and not 0.1 <= args.interval <= 3600:
        from shopfloor.errors import UsageError

        raise UsageError(f"--interval {args.interval:g} is out of range: give 0.1 to 3600 seconds")
    tracker = open_tracker(args)
    if watching:
        interval = 2.0 if args.interval is None else args.interval
        terminal = sys.stdout.isatty() and not args.json
        return status_view.watch(
            lambda: status_view.take(tracker), sys.stdout, interval, args.count, terminal=terminal, json_lines=args.json
        )
    snap = status_view.take(tracker)
    if args.json:
        print_json(status_view.as_json(snap))
    else:
        print("\n".join(status_view.lines(snap)))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from shopfloor.floor.demo import main

    return main(keep=args.keep)


def cmd_done(args: argparse.Namespace) -> int:
    """An agent says it is done with its issue: the floor gates its branch now."""
    import os

    from shopfloor.errors import UsageError
    from shopfloor.tracker import writes

    tracker = open_tracker(args)
    target = args.id or os.environ.get("SHOPFLOOR_ISSUE")
    if not target:
        raise UsageError("which issue? give its id, or run this inside a worker (it sets $SHOPFLOOR_ISSUE)")
    issue_id = tracker.resolve(target)
    with tracker.write() as conn:
        writes.event(conn, issue_id, tracker.actor, "agent_done", tracker.now(), None, None, args.summary)
        if args.summary:
            writes.add_comment(conn, issue_id, f"done: {args.summary}", tracker.actor, tracker.now())
    if args.json:
        print_json({"id": issue_id, "done": True, "by": tracker.actor})
    else:
        print(f"{issue_id}: marked done by {tracker.actor}; the floor gates its branch next")
    return 0


def register(sub: Subcommands, only: str | None) -> None:
    p = command(sub, "run", cmd_run, "run the floor: workers on ready issues, gate, refine, land", only)
    no_sandbox(p, "agents and checks")
    p.add_argument("--workers", type=limit, default=3, help="parallel workers (default 3)")
    p.add_argument("--agent", default="claude", help="agent CLI for the workers (default claude)")
    p.add_argument("--until-idle", action="store_true", help="stop when nothing is ready, running or queued")
    p.add_argument(
        "--max-attempts", type=limit, default=4, help="attempts without progress before a spiral (default 4)"
    )
    p.add_argument(
        "--context-limit",
        type=float,
        default=None,
        help="hand off at this context use (default: the agent's [agents.X] context_limit, 0.40)",
    )
    p.add_argument("--batch", type=limit, default=4, help="merge-queue batch size (default 4)")
    p.add_argument(
        "--gate-jobs",
        type=limit,
        default=None,
        help="gates run at once beside the loop (default: half the cores, at least 2; see README)",
    )
    p.add_argument("--lease", default="30m", help=f"each claim's lease, renewed while the floor runs {LEASE_HELP}")
    p.add_argument("--terminal", choices=("tmux", "detached"), help="where workers run (default tmux when installed)")
    p.add_argument(
        "--stall-timeout",
        type=float,
        default=600.0,
        help="seconds without an event before a worker is nudged, then restarted (default 600)",
    )
    p.add_argument(
        "--tracker-interval",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="commit the tracker's JSONL on the target at most this often, and when idle (default 60)",
    )
    p.add_argument("--no-tracker-commits", action="store_true", help="never commit the tracker on the target")
    p.add_argument(
        "--builtins-only",
        action="store_true",
        help="run even though the target's gate has no configured check (only the built-ins judge changes)",
    )
    p = command(sub, "stop", cmd_stop, "stop the floor: its coordinator, then every agent, work saved", only)
    p.add_argument(
        "--wait", type=float, default=30.0, metavar="SECONDS", help="for the coordinator to stop, before SIGKILL (30)"
    )
    p = command(sub, "status", cmd_status, "the floor at a glance: workers, queue, counts", only)
    p.add_argument("--watch", action="store_true", help="refresh in place until Ctrl-C (a pipe gets one per interval)")
    p.add_argument("--interval", type=float, metavar="SECONDS", help="with --watch: seconds between refreshes (2)")
    p.add_argument("--count", type=limit, metavar="N", help="with --watch: stop after N refreshes")
    command(sub, "metrics", cmd_metrics, "yield: first-pass, second passes, failures by check, cost", only)
    p = command(sub, "done", cmd_done, "an agent says its work on the issue is done and committed", only)
    p.add_argument("id", nargs="?", help="the issue (default: $SHOPFLOOR_ISSUE, set inside a worker)")
    p.add_argument("--summary", help="what was done, recorded as a comment")
    p = command(sub, "demo", cmd_demo, "the floor on a sample backlog, offline, with no API key", only)
    p.add_argument("--keep", action="store_true", help="keep the sample repository and print where it is")
