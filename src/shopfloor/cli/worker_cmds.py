"""``shopfloor worker``: start, list, attach, peek, kill, restart and remove workers."""

from __future__ import annotations

import argparse
import os
import sys
import time

from shopfloor.cli.common import open_tracker, print_json
from shopfloor.cli.parsing import LEASE_HELP, Subcommands, actions, limit, no_sandbox
from shopfloor.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from shopfloor.workers.records import Worker


def _bar(used: float | None, width: int = 10) -> str:
    if used is None:
        return "-"
    filled = min(width, round(used * width))
    return "[" + "#" * filled + "." * (width - filled) + f"] {used:.0%}"


def _print_worker(worker: Worker) -> None:
    from shopfloor.workspace.ports import label

    print(f"{worker.name}  {worker.state}  {worker.agent} on {worker.issue}")
    print(f"  branch    {worker.branch}")
    print(f"  worktree  {worker.worktree}")
    if worker.port_base is not None:
        print(f"  ports     {label(worker.port_base, worker.port_count)}  (SHOPFLOOR_PORT_BASE, SHOPFLOOR_PORT_COUNT)")
    print(f"  terminal  {worker.terminal}  (logs: {worker.log_dir})")


def cmd_worker_start(args: argparse.Namespace) -> int:
    from shopfloor.tracker.clock import parse_duration
    from shopfloor.tracker.schema import text_arg
    from shopfloor.workers import lifecycle

    tracker = open_tracker(args)
    lease_s = parse_duration(args.lease)
    request = lifecycle.StartRequest(
        issue=args.issue,
        agent=args.agent,
        prompt_extra=text_arg(args.prompt_extra, "--prompt-extra"),
        terminal=args.terminal,
        lease_s=lease_s,
    )
    worker = lifecycle.start(tracker, request)
    tracker.flush_notices()
    from shopfloor.workers.launched import await_launch

    worker = await_launch(tracker, worker)  # an agent that could not be launched is an error here
    if args.json:
        print_json(worker.as_json())
    else:
        _print_worker(worker)
        how = f"`shopfloor worker attach {worker.name}` to watch, " if worker.tmux_session else ""
        print(f"  {how}`shopfloor worker peek {worker.name}` for the latest lines")
    return 0


def cmd_worker_list(args: argparse.Namespace) -> int:
    from shopfloor.workers import lifecycle
    from shopfloor.workers.progress import printable
    from shopfloor.workspace.ports import label

    tracker = open_tracker(args)
    workers = lifecycle.list_workers(tracker)
    if args.json:
        print_json([w.as_json() for w in workers])
        return 0
    if not workers:
        print("no workers: start one with `shopfloor worker start ISSUE`")
        return 0
    for w in workers:
        tokens = f"{w.tokens:,} tok" if w.tokens else "-"
        cost = f"${w.cost_usd:.2f}" if w.cost_usd else ""
        ports = label(w.port_base, w.port_count)
        print(
            f"{w.name:<16} {w.state:<8} {w.agent:<8} {_bar(w.context_used):<17} {tokens:>12} {cost:>7}  "
            f"ports {ports:<11}  {w.worktree}"
        )
        if w.state in ("failed", "lost") and w.error:
            print(f"{'':<16} {printable(w.error.splitlines()[0])}")
    return 0


def cmd_worker_peek(args: argparse.Namespace) -> int:
    from pathlib import Path

    from shopfloor.workers import lifecycle
    from shopfloor.workers.progress import printable

    tracker = open_tracker(args)
    worker = lifecycle.find(tracker, args.worker)
    lines = lifecycle.tail(Path(worker.log_dir) / "pane.log", args.lines)
    if args.json:
        print_json({"name": worker.name, "state": worker.state, "lines": lines})
    else:
        print("\n".join(printable(line) for line in lines) if lines else f"(no output from {worker.name} yet)")
    return 0


def cmd_worker_attach(args: argparse.Namespace) -> int:
    from pathlib import Path

    from shopfloor.workers import lifecycle, procs, terminal
    from shopfloor.workers.progress import printable
    from shopfloor.workers.records import FINAL_STATES

    if args.json:
        raise UsageError("worker attach shows a terminal and prints no JSON: use `shopfloor worker peek WORKER --json`")
    tracker = open_tracker(args)
    worker = lifecycle.find(tracker, args.worker)
    session = worker.tmux_session
    interactive = sys.stdin.isatty()  # tmux attaches only a terminal; a pipe or a script gets the log
    if interactive and session and terminal.session_exists(session):
        argv = terminal.attach_argv(session)
        sys.stdout.flush()
        os.execvp(argv[0], argv)
    # No terminal (detached, or tmux is gone): follow the progress log until the worker ends.
    log = Path(worker.log_dir) / "pane.log"
    why = "no tmux window" if interactive else "not a terminal"
    print(f"({why} for {worker.name}: following {log}; Ctrl-C stops)", file=sys.stderr)
    position = 0
    while True:
        try:
            with log.open("rb") as source:
                source.seek(position)
                chunk = source.read()
                position += len(chunk)
        except FileNotFoundError:
            chunk = b""
        if chunk:
            sys.stdout.write(printable(chunk.decode("utf-8", "replace")))
            sys.stdout.flush()
        elif worker.state in FINAL_STATES or not procs.is_alive(worker.pid, worker.pid_start):
            worker = lifecycle.find(tracker, worker.name)
            if worker.state in FINAL_STATES:
                return 0
        time.sleep(0.2)


def cmd_worker_kill(args: argparse.Namespace) -> int:
    from shopfloor.workers import lifecycle

    tracker = open_tracker(args)
    worker = lifecycle.kill(tracker, lifecycle.find(tracker, args.worker))
    if args.json:
        print_json(worker.as_json())
    else:
        saved = f"; uncommitted work saved as {worker.wip_commit[:12]}" if worker.wip_commit else ""
        print(f"{worker.name}: {worker.state}{saved}")
    return 0


def cmd_worker_restart(args: argparse.Namespace) -> int:
    from shopfloor.workers import lifecycle

    tracker = open_tracker(args)
    worker = lifecycle.restart(tracker, lifecycle.find(tracker, args.worker), args.terminal)
    from shopfloor.workers.launched import await_launch

    worker = await_launch(tracker, worker)
    if args.json:
        print_json(worker.as_json())
    else:
        resumed = f" (resuming session {worker.session_id})" if worker.session_id else ""
        print(f"{worker.name}: restarted{resumed}")
    return 0


def cmd_worker_rm(args: argparse.Namespace) -> int:
    from shopfloor.queue import branches
    from shopfloor.workers import lifecycle

    tracker = open_tracker(args)
    worker = lifecycle.find(tracker, args.worker)
    wip = lifecycle.remove(tracker, worker, force=args.force, drop_landed=branches.after_remove)
    from shopfloor.git import is_branch
    from shopfloor.paths import main_tree

    kept = is_branch(main_tree(tracker), worker.branch)  # a landed branch is deleted (queue.branches)
    if args.json:
        print_json(
            {"name": worker.name, "removed": True, "branch": worker.branch, "branch_kept": kept, "wip_commit": wip}
        )
    else:
        saved = f"; uncommitted work saved as {wip[:12]}" if wip else ""
        what = "kept" if kept else "landed and deleted"
        print(f"removed {worker.name} (branch {worker.branch} {what}{saved})")
    return 0


def register(sub: Subcommands, only: str | None) -> None:
    worker = actions(sub, "worker", "run agents in isolated worktrees: start, list, attach, peek, kill, ...", only)
    terminal_help = "tmux (default when installed) or detached (no window; also $SHOPFLOOR_TERMINAL)"
    p = worker.add("start", cmd_worker_start, "claim an issue and start an agent on it in its worktree")
    no_sandbox(p, "the agent")
    p.add_argument("issue", metavar="ISSUE")
    p.add_argument("--agent", default="claude", help="which agent CLI (claude, scripted, command, ...; default claude)")
    p.add_argument("--prompt-extra", metavar="TEXT", help="text added to the prompt (- reads stdin)")
    p.add_argument("--terminal", choices=("tmux", "detached"), help=terminal_help)
    p.add_argument("--lease", default="30m", help=f"the issue's lease, renewed while the agent runs {LEASE_HELP}")
    worker.add("list", cmd_worker_list, "list workers with state, context used, tokens and worktree")
    p = worker.add("attach", cmd_worker_attach, "show a worker's live terminal (tmux)")
    p.add_argument("worker", metavar="WORKER", help="worker name or issue id")
    p = worker.add("peek", cmd_worker_peek, "print the last lines of a worker's progress")
    p.add_argument("worker", metavar="WORKER", help="worker name or issue id")
    p.add_argument("-n", "--lines", type=limit, default=20, help="how many lines (default 20)")
    p = worker.add("kill", cmd_worker_kill, "stop a worker's agent (uncommitted work becomes a wip: commit)")
    p.add_argument("worker", metavar="WORKER", help="worker name or issue id")
    p = worker.add("restart", cmd_worker_restart, "stop and start a worker again, resuming its session")
    p.add_argument("worker", metavar="WORKER", help="worker name or issue id")
    p.add_argument("--terminal", choices=("tmux", "detached"), help=terminal_help)
    p = worker.add("rm", cmd_worker_rm, "remove a finished worker, its worktree and logs (branch kept)")
    p.add_argument("worker", metavar="WORKER", help="worker name or issue id")
    p.add_argument("--force", action="store_true", help="also when running or unmerged (work saved as wip: commit)")
