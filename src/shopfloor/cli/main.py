"""The ``shopfloor`` command line.

argparse, not click: agents call this CLI constantly, and start-up time is a budget
(click alone costs more than argparse, sqlite3 and json together). Each command's handler
lives in a module that is imported only when that command runs, so ``ready --json`` loads
nothing it does not use.
"""

from __future__ import annotations

import argparse
import os
import sys

from shopfloor.errors import EXIT_ERROR, EXIT_USAGE, ShopfloorError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

# Top-level commands (kept in step with build_parser by a test).
COMMANDS = [
    "init",
    "create",
    "show",
    "list",
    "update",
    "close",
    "reopen",
    "ready",
    "blocked",
    "heartbeat",
    "dep",
    "comment",
    "label",
    "search",
    "stats",
    "export",
    "import",
    "doctor",
    "prime",
    "merge-driver",
    "scripted-model",
    "worker",
    "gate",
    "approve",
    "queue",
    "run",
    "retry",
    "stop",
    "status",
    "metrics",
    "logs",
    "demo",
    "done",
]


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """A help formatter that does not import shutil (argparse builds one per add_argument)."""

    def __init__(self, prog: str) -> None:
        columns = os.environ.get("COLUMNS", "")
        width = int(columns) if columns.isdigit() else 100
        super().__init__(prog, width=max(40, width - 2))


EPILOG = """\
ids: a full id (sf-a3f8), the id without its prefix (a3f8), or a unique start of at least
3 characters. Add --json to any command: stdout then carries only JSON; notices (such as
"imported issues.jsonl") and errors go to stderr.

exit codes: 0 ok, 1 error, 2 usage or invalid input, 3 not found, 4 conflict (claimed by
someone else, a dependency cycle; `dep cycles` also exits 4 when it finds cycles).

environment: SHOPFLOOR_ACTOR (who acts; else $USER), SHOPFLOOR_DB (database path; default
<git common dir>/shopfloor/tracker.db), SHOPFLOOR_DEBUG=1 (tracebacks for internal errors),
SHOPFLOOR_CHANNEL and SHOPFLOOR_TOKEN (set inside a worker: commands go through the floor's
channel and act as the worker, whatever --actor says).
"""
LEASE_HELP = "(s, m, h, d or w, from 1s to 365d; default 30m)"


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, naming the fix, with exit code 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"error: {message} (see `{self.prog} --help`)\n")


LIMIT_MAX = 1_000_000_000


def _limit(text: str) -> int:
    """An argparse type for ``-n/--limit``: a whole number of at least 1."""
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 10 or not 1 <= int(value) <= LIMIT_MAX:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to {LIMIT_MAX}")
    return int(value)


def _common() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    common.add_argument(
        "--actor", default=argparse.SUPPRESS, metavar="NAME", help="who acts (default: $SHOPFLOOR_ACTOR, then $USER)"
    )
    return common


def _no_sandbox(p: Any, who: str) -> None:
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help=f"run {who} without the bubblewrap sandbox (a warning is recorded; also SHOPFLOOR_SANDBOX=off)",
    )


class _Skipped:
    """Stands in for the parsers of commands that were not invoked: building all of them
    costs milliseconds, so only the invoked command's parser is built."""

    def add_argument(self, *args: object, **kwargs: object) -> None:
        return None

    def add_subparsers(self, *args: object, **kwargs: object) -> _Skipped:
        return self


_SKIPPED = _Skipped()


def _add(sub: Any, name: str, handler: str, help_text: str, only: str | None = None) -> Any:
    if isinstance(sub, _Skipped) or (only is not None and name != only):
        return _SKIPPED
    # argparse %-formats help strings but prints descriptions as they are.
    parser = sub.add_parser(name, help=help_text, description=help_text.replace("%%", "%"), parents=[_common()])
    parser.set_defaults(_handler=handler)
    return parser


def _issue_fields(p: Any, *, create: bool) -> None:
    p.add_argument("-d", "--description", help="description text, or - to read it from stdin")
    p.add_argument("--design", help="design notes")
    p.add_argument("--acceptance", help="acceptance criteria")
    p.add_argument("--notes", help="working notes")
    p.add_argument("-t", "--type", help="bug, feature, task, epic or chore" + (" (default task)" if create else ""))
    p.add_argument("-p", "--priority", help="0 (most urgent) to 4" + (" (default 2)" if create else ""))
    p.add_argument("--vibe", help="trust level 1-5: lower gets a stricter gate" + (" (default 3)" if create else ""))
    p.add_argument("--assignee", help="who works on it")
    p.add_argument("--defer-until", help="hide from ready until then: 2026-12-01, +3d, ...")
    p.add_argument("--external-ref", help="a link to the same work elsewhere (e.g. gh-123)")


def build_parser(only: str | None = None) -> _Parser:
    """The whole parser, or (with ``only``) just the top level and that one command."""
    parser = _Parser(
        prog="shopfloor",
        description="Run many AI coding agents in parallel on one repository; this is its issue tracker.",
        epilog=EPILOG,
        parents=[_common()],
    )
    parser.add_argument("--version", action="version", version="shopfloor " + _version())
    sub = parser.add_subparsers(metavar="COMMAND", parser_class=_Parser)

    p = _add(sub, "init", "tracker_cmds:cmd_init", "set this repository up for shopfloor", only)
    p.add_argument("--prefix", help="issue id prefix (default: from the repository name)")
    p.add_argument("--hooks", action="store_true", help="install a git pre-commit hook that exports the tracker first")
    p.add_argument("--force", action="store_true", help="with --hooks: replace another pre-commit hook (kept aside)")

    p = _add(sub, "create", "issue_cmds:cmd_create", "create an issue (or many with -f)", only)
    p.add_argument("title", nargs="?", help="one line, 1-500 characters")
    _issue_fields(p, create=True)
    p.add_argument("-l", "--label", action="append", default=[], help="a label (repeatable)")
    p.add_argument("--parent", help="make this a child of ID (its id becomes ID.N)")
    p.add_argument("--deps", help="dependencies: TYPE:ID,... (types: blocks, parent-child, related, discovered-from)")
    p.add_argument(
        "-f",
        "--file",
        help="create every issue in a plan file, all or nothing (- for stdin): markdown with a '## Title' "
        "heading per issue, 'key: value' lines under it (priority, type, labels, deps, vibe, parent, ...), "
        "then the description and '### Acceptance' / '### Design' sections; or JSONL with one issue object "
        "per line. '#N' names the N-th issue of the file",
    )

    p = _add(sub, "show", "issue_cmds:cmd_show", "show an issue with its comments and history", only)
    p.add_argument("id")

    p = _add(sub, "list", "issue_cmds:cmd_list", "list issues (open ones by default)", only)
    p.add_argument("-s", "--status", action="append", default=[], help="filter by status (repeatable)")
    p.add_argument("-t", "--type", action="append", default=[], help="filter by type (repeatable)")
    p.add_argument("-p", "--priority", action="append", default=[], help="filter by priority (repeatable)")
    p.add_argument("--assignee", help="filter by assignee")
    p.add_argument("-l", "--label", action="append", default=[], help="must have this label (repeatable)")
    p.add_argument("--all", action="store_true", help="include closed issues")
    p.add_argument("-n", "--limit", type=_limit, help="at most N issues")

    p = _add(sub, "update", "issue_cmds:cmd_update", "change issues' fields, or claim one", only)
    p.add_argument("id")
    p.add_argument("more_ids", nargs="*", metavar="ID", help="more issues to change the same way (all or none)")
    p.add_argument("--title", help="new title")
    p.add_argument("-s", "--status", help="open, blocked or deferred (to work on it use --claim; to close it, `close`)")
    _issue_fields(p, create=False)
    p.add_argument("--metadata", help="a JSON object to store with the issue")
    p.add_argument("--claim", action="store_true", help="claim it for the actor (exit 4 if someone else holds it)")
    p.add_argument("--lease", default="30m", help=f"with --claim: how long it holds without a heartbeat {LEASE_HELP}")

    p = _add(sub, "close", "issue_cmds:cmd_close", "close issues", only)
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument("-r", "--reason", default="done", help="why (default: done)")

    p = _add(sub, "reopen", "issue_cmds:cmd_reopen", "reopen closed issues", only)
    p.add_argument("ids", nargs="+", metavar="ID")

    p = _add(sub, "ready", "work_cmds:cmd_ready", "list issues ready to work on (no open blockers)", only)
    p.add_argument("-n", "--limit", type=_limit, default=20, help="at most N issues (default 20)")
    p.add_argument(
        "--claim", action="store_true", help="claim the top ready issue atomically and print it (JSON: null if none)"
    )
    p.add_argument("--lease", default="30m", help=f"with --claim: the lease length {LEASE_HELP}")

    _add(sub, "blocked", "work_cmds:cmd_blocked", "list blocked issues and what blocks them", only)

    p = _add(sub, "heartbeat", "work_cmds:cmd_heartbeat", "renew the lease on a claimed issue", only)
    p.add_argument("id")
    p.add_argument("--lease", default="30m", help=f"new lease length from now {LEASE_HELP}")

    dep = _add(sub, "dep", "", "manage dependencies", only)
    dep_sub = dep.add_subparsers(metavar="ACTION", parser_class=_Parser, required=True)
    p = _add(dep_sub, "add", "dep_cmds:cmd_dep_add", "ISSUE depends on DEPENDS_ON")
    p.add_argument("issue")
    p.add_argument("depends_on")
    p.add_argument("--type", default="blocks", help="blocks (default), parent-child, related, discovered-from")
    p = _add(dep_sub, "remove", "dep_cmds:cmd_dep_remove", "remove a dependency")
    p.add_argument("issue")
    p.add_argument("depends_on")
    p.add_argument("--type", help="only this dependency type")
    p = _add(dep_sub, "tree", "dep_cmds:cmd_dep_tree", "show what an issue depends on, as a tree")
    p.add_argument("id")
    p.add_argument("--up", action="store_true", help="show what depends on it instead")
    _add(dep_sub, "cycles", "dep_cmds:cmd_dep_cycles", "list dependency cycles")

    p = _add(sub, "comment", "issue_cmds:cmd_comment", "add a comment to an issue", only)
    p.add_argument("id")
    p.add_argument("text", help="the comment, or - to read it from stdin")

    label = _add(sub, "label", "", "add or remove labels", only)
    label_sub = label.add_subparsers(metavar="ACTION", parser_class=_Parser, required=True)
    for action in ("add", "remove"):
        p = _add(label_sub, action, f"issue_cmds:cmd_label_{action}", f"{action} labels")
        p.add_argument("id")
        p.add_argument("labels", nargs="+", metavar="LABEL")

    p = _add(
        sub,
        "search",
        "issue_cmds:cmd_search",
        "full-text search over title, description, design, acceptance and notes; every word must match",
        only,
    )
    p.add_argument("query", nargs="+")
    p.add_argument("-n", "--limit", type=_limit, default=50, help="at most N results (default 50)")

    _add(sub, "stats", "work_cmds:cmd_stats", "counts by status, type and priority", only)

    p = _add(sub, "export", "tracker_cmds:cmd_export", "write the tracker to .shopfloor/issues.jsonl", only)
    p.add_argument("-o", "--output", help="write here instead")
    p.add_argument("--force", action="store_true", help="overwrite a JSONL file that could not be imported")
    p.add_argument(
        "--commit",
        action="store_true",
        help="commit the export on the target branch instead (as the floor does): no working tree is written",
    )
    p.add_argument(
        "--wait", type=float, default=60.0, help="with --commit: seconds to wait for a queue pass (default 60)"
    )
    p = _add(sub, "import", "tracker_cmds:cmd_import", "merge a JSONL file into the database", only)
    p.add_argument("-i", "--input", help="read this file (default .shopfloor/issues.jsonl)")
    p.add_argument("--dry-run", action="store_true", help="report what would change, change nothing")
    p = _add(sub, "doctor", "tracker_cmds:cmd_doctor", "check the database, the JSONL and the git setup", only)
    p.add_argument("--fix", action="store_true", help="repair what can be repaired (rebuilds a corrupt database)")
    p = _add(sub, "prime", "work_cmds:cmd_prime", "print the instructions an agent needs to use the tracker", only)
    p.add_argument(
        "--worker", action="store_true", help="the worker's form, as the floor's agents get it (default in a worker)"
    )
    p = _add(
        sub, "merge-driver", "tracker_cmds:cmd_merge_driver", "git merge driver for issues.jsonl (%%O %%A %%B)", only
    )
    p.add_argument("base")
    p.add_argument("ours")
    p.add_argument("theirs")

    model = _add(sub, "scripted-model", "", "a local stand-in for a model API, for tests and demos", only)
    model_sub = model.add_subparsers(metavar="ACTION", parser_class=_Parser, required=True)
    p = _add(model_sub, "serve", "model_cmds:cmd_serve", "serve the Anthropic Messages API from a scenario file")
    p.add_argument("--scenario", required=True, help="the scenario JSON file (see shopfloor.models.scenario)")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default 0: a free one, printed)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    _worker_parsers(sub, only)
    _gate_parsers(sub, only)
    _queue_parsers(sub, only)
    _floor_parsers(sub, only)
    return parser


def _floor_parsers(sub: Any, only: str | None) -> None:
    p = _add(sub, "run", "floor_cmds:cmd_run", "run the floor: workers on ready issues, gate, refine, land", only)
    _no_sandbox(p, "agents and checks")
    p.add_argument("--workers", type=_limit, default=3, help="parallel workers (default 3)")
    p.add_argument("--agent", default="claude", help="agent CLI for the workers (default claude)")
    p.add_argument("--until-idle", action="store_true", help="stop when nothing is ready, running or queued")
    p.add_argument(
        "--max-attempts", type=_limit, default=4, help="attempts without progress before a spiral (default 4)"
    )
    p.add_argument(
        "--context-limit",
        type=float,
        default=None,
        help="hand off at this context use (default: the agent's [agents.X] context_limit, 0.40)",
    )
    p.add_argument("--batch", type=_limit, default=4, help="merge-queue batch size (default 4)")
    p.add_argument(
        "--gate-jobs",
        type=_limit,
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
    p = _add(sub, "stop", "floor_cmds:cmd_stop", "stop the floor: its coordinator, then every agent, work saved", only)
    p.add_argument(
        "--wait", type=float, default=30.0, metavar="SECONDS", help="for the coordinator to stop, before SIGKILL (30)"
    )
    p = _add(sub, "retry", "retry_cmds:cmd_retry", "give blocked, spiralled or failed issues another try", only)
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument(
        "--fresh", action="store_true", help="start from the target; the old branch is kept as floor/ID-tryN"
    )
    p.add_argument("--agent", help="the agent for the new series (default: the one `run --agent` names)")
    p.add_argument("--note", help="guidance for the next agent, shown to it first (- to read it from stdin)")
    p = _add(sub, "status", "floor_cmds:cmd_status", "the floor at a glance: workers, queue, counts", only)
    p.add_argument("--watch", action="store_true", help="refresh in place until Ctrl-C (a pipe gets one per interval)")
    p.add_argument("--interval", type=float, metavar="SECONDS", help="with --watch: seconds between refreshes (2)")
    p.add_argument("--count", type=_limit, metavar="N", help="with --watch: stop after N refreshes")
    _add(sub, "metrics", "floor_cmds:cmd_metrics", "yield: first-pass, second passes, failures by check, cost", only)
    p = _add(sub, "logs", "log_cmds:cmd_logs", "what an issue's agents did and said: each attempt's logs", only)
    p.add_argument("id", metavar="ID", help="the issue")
    p.add_argument("--attempt", type=_limit, metavar="N", help="only attempt N (1 is the first)")
    p.add_argument("--follow", action="store_true", help="then follow the live worker's progress until it ends")
    p = _add(sub, "done", "floor_cmds:cmd_done", "an agent says its work on the issue is done and committed", only)
    p.add_argument("id", nargs="?", help="the issue (default: $SHOPFLOOR_ISSUE, set inside a worker)")
    p.add_argument("--summary", help="what was done, recorded as a comment")
    p = _add(sub, "demo", "floor_cmds:cmd_demo", "the floor on a sample backlog, offline, with no API key", only)
    p.add_argument("--keep", action="store_true", help="keep the sample repository and print where it is")


def _queue_parsers(sub: Any, only: str | None) -> None:
    queue = _add(sub, "queue", "", "the merge queue: finished work lands on the target only through it", only)
    qsub = queue.add_subparsers(metavar="ACTION", parser_class=_Parser, required=True)
    p = _add(qsub, "add", "queue_cmds:cmd_queue_add", "queue a branch, or an issue's worker branch")
    p.add_argument("what", metavar="BRANCH|ISSUE")
    p = _add(qsub, "list", "queue_cmds:cmd_queue_list", "list queue entries (open ones; --all for every one)")
    p.add_argument("--all", action="store_true", help="include merged entries")
    p = _add(qsub, "run", "queue_cmds:cmd_queue_run", "land queued entries: rebase, gate the exact tree, fast-forward")
    _no_sandbox(p, "the gate's checks")
    p.add_argument("--once", action="store_true", help="one pass, then stop")
    p.add_argument("--until-empty", action="store_true", help="stop when nothing is queued")
    p.add_argument("--batch", type=_limit, default=4, help="entries tested together (default 4; 1: one at a time)")
    p.add_argument("--poll", type=float, default=5.0, help="seconds between looks at an empty queue (default 5)")
    p = _add(qsub, "remove", "queue_cmds:cmd_queue_remove", "remove an entry that is not being tested")
    p.add_argument("entry", type=_limit, metavar="ID")


def _gate_parsers(sub: Any, only: str | None) -> None:
    p = _add(sub, "approve", "gate_cmds:cmd_approve", "approve an issue's change for merge (vibe 1-2 need this)", only)
    p.add_argument("id")
    gate = _add(sub, "gate", "", "re-check a change independently: configured and built-in checks, one verdict", only)
    gsub = gate.add_subparsers(metavar="ACTION", parser_class=_Parser, required=True)
    p = _add(gsub, "run", "gate_cmds:cmd_gate_run", "gate a revision (exit 0 only for a pass verdict)")
    _no_sandbox(p, "the checks")
    p.add_argument("rev", nargs="?", default="HEAD", metavar="REV", help="the candidate (default HEAD)")
    p.add_argument("--base", help="the target whose rules apply and which the change is compared with (default main)")
    p.add_argument("--issue", metavar="ID", help="the issue the change is for (its vibe level and labels apply)")
    p.add_argument("--attempt", metavar="ATTEMPT", help="the attempt the run belongs to (recorded with it)")
    p.add_argument("--no-cache", action="store_true", help="run every check again instead of replaying cached results")
    p = _add(gsub, "show", "gate_cmds:cmd_gate_show", "show one gate run's report")
    p.add_argument("run", type=_limit, metavar="RUN", help="the run's number (see gate list)")
    p = _add(gsub, "list", "gate_cmds:cmd_gate_list", "list gate runs, newest first")
    p.add_argument("--issue", metavar="ID", help="only runs for this issue")
    p.add_argument("-n", "--limit", type=_limit, default=20, help="at most N runs (default 20)")
    p = _add(gsub, "init", "gate_cmds:cmd_gate_init", "propose the checks the project uses, try them, write them")
    _no_sandbox(p, "the checks")
    p.add_argument("--force", action="store_true", help="replace an existing [gate] section")
    p.add_argument("--no-run", action="store_true", help="write the proposed checks without trying them on the target")
    p = _add(gsub, "install", "gate_cmds:cmd_gate_install", "install a git pre-push hook that gates every push")
    p.add_argument("--force", action="store_true", help="replace a pre-push hook that is not shopfloor's")
    p = _add(
        gsub, "pre-push", "gate_cmds:cmd_gate_pre_push", "what the pre-push hook runs (reads git's lines on stdin)"
    )
    p.add_argument("remote", nargs="?", help="the remote's name (from git)")
    p.add_argument("url", nargs="?", help="the remote's URL (from git)")


def _worker_parsers(sub: Any, only: str | None) -> None:
    worker = _add(sub, "worker", "", "run agents in isolated worktrees: start, list, attach, peek, kill, ...", only)
    wsub = worker.add_subparsers(metavar="ACTION", parser_class=_Parser, required=True)
    terminal_help = "tmux (default when installed) or detached (no window; also $SHOPFLOOR_TERMINAL)"
    p = _add(wsub, "start", "worker_cmds:cmd_worker_start", "claim an issue and start an agent on it in its worktree")
    _no_sandbox(p, "the agent")
    p.add_argument("issue", metavar="ISSUE")
    p.add_argument("--agent", default="claude", help="which agent CLI (claude, scripted, command, ...; default claude)")
    p.add_argument("--prompt-extra", metavar="TEXT", help="text added to the prompt (- reads stdin)")
    p.add_argument("--terminal", choices=("tmux", "detached"), help=terminal_help)
    p.add_argument("--lease", default="30m", help=f"the issue's lease, renewed while the agent runs {LEASE_HELP}")
    _add(wsub, "list", "worker_cmds:cmd_worker_list", "list workers with state, context used, tokens and worktree")
    p = _add(wsub, "attach", "worker_cmds:cmd_worker_attach", "show a worker's live terminal (tmux)")
    p.add_argument("worker", metavar="WORKER", help="worker name or issue id")
    p = _add(wsub, "peek", "worker_cmds:cmd_worker_peek", "print the last lines of a worker's progress")
    p.add_argument("worker", metavar="WORKER", help="worker name or issue id")
    p.add_argument("-n", "--lines", type=_limit, default=20, help="how many lines (default 20)")
    p = _add(
        wsub, "kill", "worker_cmds:cmd_worker_kill", "stop a worker's agent (uncommitted work becomes a wip: commit)"
    )
    p.add_argument("worker", metavar="WORKER", help="worker name or issue id")
    p = _add(wsub, "restart", "worker_cmds:cmd_worker_restart", "stop and start a worker again, resuming its session")
    p.add_argument("worker", metavar="WORKER", help="worker name or issue id")
    p.add_argument("--terminal", choices=("tmux", "detached"), help=terminal_help)
    p = _add(wsub, "rm", "worker_cmds:cmd_worker_rm", "remove a finished worker, its worktree and logs (branch kept)")
    p.add_argument("worker", metavar="WORKER", help="worker name or issue id")
    p.add_argument("--force", action="store_true", help="also when running or unmerged (work saved as wip: commit)")


def _version() -> str:
    from shopfloor import __version__

    return __version__


def _command_name(argv: Sequence[str]) -> str | None:
    """The subcommand in ``argv``, skipping the global options that may precede it."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--actor":
            skip = True
        elif not arg.startswith("-"):
            return arg
        elif arg in ("-h", "--help", "--version"):
            return None
    return None


def _arg_names(parser: argparse.ArgumentParser, names: dict[str, str]) -> dict[str, str]:
    """How each destination was spelt on the command line (``--assignee``, ``ID``), for errors."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _arg_names(child, names)
        elif action.option_strings:
            names.setdefault(action.dest, max(action.option_strings, key=len))
        else:
            metavar = action.metavar if isinstance(action.metavar, str) else None
            names.setdefault(action.dest, metavar or action.dest.upper())
    return names


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse any argument that is not valid UTF-8 before a handler sees it.

    Undecodable bytes in ``argv`` arrive as lone surrogates, which crash the first ``encode``
    (SQLite, a file name, stdout); checking them here covers every command and option at once.
    """
    from shopfloor.tracker.schema import check_text

    names = _arg_names(parser, {})
    for dest, value in vars(args).items():
        if dest.startswith("_"):
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                check_text(item, names.get(dest, dest))


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    name = _command_name(argv)
    parser = build_parser(name if name in COMMANDS else None)
    args = parser.parse_args(argv)
    handler = getattr(args, "_handler", None)
    if not handler:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if not hasattr(args, "json"):
        args.json = False
    if not hasattr(args, "actor"):
        args.actor = None
    if getattr(args, "no_sandbox", False):
        os.environ["SHOPFLOOR_SANDBOX"] = "off"  # for this process and what it starts (the gate, the floor)
    module_name, func_name = handler.split(":")
    try:
        _check_args(parser, args)
        if os.environ.get("SHOPFLOOR_CHANNEL"):
            # Inside a worker: through the floor's channel, as the token's worker, never the database.
            from shopfloor.channel import cli as channel_cli

            if not channel_cli.is_local(handler):
                return channel_cli.run(handler, args)
        import importlib

        module = importlib.import_module(f"shopfloor.cli.{module_name}")
        return int(getattr(module, func_name)(args) or 0)
    except ShopfloorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except Exception as exc:
        import sqlite3

        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            print(
                "error: the tracker database stayed locked for 60 s: another process holds it; retry", file=sys.stderr
            )
            return EXIT_ERROR
        if isinstance(exc, sqlite3.DatabaseError):
            from shopfloor.tracker import db

            if db.is_corruption(exc):  # a damaged page read after connect: the same line as at connect
                print(f"error: {db.corrupt_error(_database_path(), exc)}", file=sys.stderr)
                return EXIT_ERROR
        if os.environ.get("SHOPFLOOR_DEBUG"):
            raise
        print(
            f"error: internal error: {type(exc).__name__}: {exc} (set SHOPFLOOR_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_ERROR


def _database_path() -> str:
    """The tracker database this command used, for an error message (never raises)."""
    try:
        from shopfloor.tracker.locate import locate

        return locate().db_file
    except Exception:
        return "(the tracker database)"
