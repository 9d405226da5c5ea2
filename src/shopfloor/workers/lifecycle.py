"""Worker lifecycle: start, list (re-discovering what is still running), restart, remove.

Everything a worker is lives in its row and its log directory, never in this process: a
shopfloor that dies and starts again finds every worker from the database (see
``liveness``). Each command checks what it can before it changes anything, and undoes its
own changes when a later step fails.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from shopfloor import faults
from shopfloor.actors import of_worker
from shopfloor.agents import launch, registry
from shopfloor.agents.base import AgentAdapter, AgentOptions
from shopfloor.agents.options import parse
from shopfloor.agents.scripted import SCENARIO_ENV
from shopfloor.channel.paths import CHANNEL_ENV, TOKEN_ENV, prepare, socket_path
from shopfloor.channel.paths import discard as discard_channel
from shopfloor.configfile import read_toml
from shopfloor.errors import ConflictError, ShopfloorError
from shopfloor.paths import main_tree, workspace_root
from shopfloor.sandbox.bwrap import prefix
from shopfloor.sandbox.config import enabled as sandbox_enabled
from shopfloor.sandbox.config import parse as sandbox_config
from shopfloor.tracker import store, writes
from shopfloor.tracker.service import Tracker
from shopfloor.workers import archive, procs, records, selfpath, terminal
from shopfloor.workers.confine import worker_confinement
from shopfloor.workers.liveness import confinement_of, is_running, kill, reconcile, settled
from shopfloor.workers.prompt import build_prompt, restart_prompt, system_extra
from shopfloor.workers.records import FINAL_STATES, Worker
from shopfloor.workers.spec import LaunchSpec, read, write
from shopfloor.workspace import ports, provision, worktrees
from shopfloor.workspace.naming import branch_for, safe_name

__all__ = ["DropLanded", "StartRequest", "find", "kill", "list_workers", "remove", "restart", "start", "tail"]

# Deletes a worker's branch again once its removal brought it back from the workspace, when the
# queue landed it exactly as it is: ``queue.branches.after_remove``, given by every caller of
# ``remove`` (the queue sits above the workers). Called with (connection, main tree, branch).
DropLanded = Callable[[sqlite3.Connection, Path, str], object]


SETTING_UP = "setup"  # the terminal of a worker whose start is still setting up its worktree


@dataclass(frozen=True)
class StartRequest:
    issue: str
    agent: str = "claude"
    prompt_extra: str | None = None
    terminal: str | None = None
    lease_s: float = 30 * 60.0
    # False: the agent runs unconfined (--no-sandbox, SHOPFLOOR_SANDBOX=off), and every attempt says so.
    sandbox: bool = field(default_factory=sandbox_enabled)


def log_root(tracker: Tracker) -> Path:
    return Path(os.path.dirname(tracker.location.db_file)) / "workers"


def agent_options(tracker: Tracker, adapter: AgentAdapter, env: dict[str, str], log_dir: Path) -> AgentOptions:
    """The agent's config table, with the scenario from the environment and its private directory."""

    path = Path(tracker.location.config_path)
    opts = parse(read_toml(path), adapter.name, path)
    if opts.scenario is None and env.get(SCENARIO_ENV):
        opts = replace(opts, scenario=os.path.abspath(env[SCENARIO_ENV]))
    return replace(opts, state_dir=str(log_dir))  # the adapter's default window comes last (SessionState.window)


def resolve_binary(adapter: AgentAdapter, opts: AgentOptions, path_env: str | None) -> str:
    wanted = opts.binary or adapter.binary or (opts.argv[0] if opts.argv else "")
    if not wanted:
        return ""
    found = shutil.which(wanted, path=path_env)
    if not found:
        raise ShopfloorError(f"the {adapter.name} agent's CLI {wanted!r} was not found on PATH: {adapter.install}")
    return found


def _agent_env(adapter: AgentAdapter, opts: AgentOptions, worker: str, issue: str, actor: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop(faults.FAULT_ENV, None)  # a crash point is for the floor's process, never an agent's
    env.update(adapter.env())
    env.update(dict(opts.env))
    # The agent acts in the tracker as worker/<name>, never as the person who started it: the gate
    # ignores labels and vibe changes an agent makes to its own issue (see gate.trust).
    env.update(SHOPFLOOR_WORKER=worker, SHOPFLOOR_ISSUE=issue, SHOPFLOOR_ACTOR=of_worker(worker))
    # The agent runs the same `shopfloor` as the floor (`done`, `comment`, the handoff note), even
    # when that one lives in a virtualenv the person's PATH does not name.
    env["PATH"] = selfpath.path_first(env.get("PATH"), selfpath.own_dir())
    return env


def _confine(
    tracker: Tracker, adapter: AgentAdapter, workspace: Path, log_dir: Path, env: dict[str, str], channel: str
) -> list[str]:
    """The bwrap prefix for the agent; ``env`` gets its private HOME and TMPDIR."""

    config_path = Path(tracker.location.config_path)
    hidden = (
        os.path.dirname(os.path.abspath(tracker.location.db_file)),
        str(workspace_root(main_tree(tracker))),
    )
    confinement, changes = worker_confinement(
        adapter,
        sandbox_config(read_toml(config_path), str(config_path)),
        workspace=workspace,
        log_dir=log_dir,
        hidden=hidden,
        env=env,
        channel_dir=str(prepare(channel).parent),  # made now: the sandbox binds only what exists
    )
    argv = prefix(confinement)  # checks that bwrap works before the agent's env changes
    env.update(changes)
    return argv


def _channel_for(log_dir: Path) -> tuple[str, str]:
    """The worker channel's socket path (short, private; see channel.paths) and a new token."""

    return str(socket_path(log_dir)), secrets.token_urlsafe(32)


def _refuse_existing(tracker: Tracker, name: str) -> None:
    existing = records.find(tracker.conn, name)
    if existing is not None:
        existing = reconcile(tracker, existing)
        verb = "restart" if existing.state in FINAL_STATES else "kill"
        raise ConflictError(
            f"worker {name} already exists ({existing.state}): use `shopfloor worker {verb} {name}` "
            f"or `shopfloor worker rm {name}`"
        )


def _reserve(tracker: Tracker, worker: Worker, lease_s: float, port_base: int, port_count: int) -> Worker:
    """Claim the issue, take a free range of ports and insert the worker's row in one transaction:
    two starts cannot both win, nor both get the same ports."""

    try:
        with tracker.write() as conn:
            writes.claim(conn, worker.issue, tracker.actor, tracker.now(), tracker.lease_until(lease_s))
            first = ports.allocate(records.held_ports(conn), port_base, port_count)
            worker = replace(worker, port_base=first, port_count=port_count)
            records.insert(conn, worker)
    except sqlite3.IntegrityError:
        raise ConflictError(
            f"worker {worker.name} was just started by another process: see `shopfloor worker list`"
        ) from None
    return worker


def _undo_start(tracker: Tracker, worker: Worker, held_before: bool, space: worktrees.Workspace | None) -> None:
    """Take back what a failed start changed: a worktree and branch it created, its logs, its row
    and its claim. Each step is tried on its own; whatever could not be undone is reported."""
    steps: list[tuple[str, Callable[[], object]]] = []
    if space is not None and space.created:
        steps.append((f"the worktree {space.path}", lambda: worktrees.discard(main_tree(tracker), space)))
    steps.append(("the setup log", lambda: _archive_logs(tracker, worker, failed_start=True)))  # `shopfloor logs`
    steps.append((f"the log directory {worker.log_dir}", lambda: shutil.rmtree(worker.log_dir, ignore_errors=True)))
    steps.append(("the channel directory", lambda: discard_channel(socket_path(worker.log_dir))))
    steps.append((f"the worker row {worker.name}", lambda: records.delete(tracker.conn, worker.name)))
    if not held_before:
        steps.append((f"the claim on {worker.issue}", lambda: _release_issue(tracker, worker.issue, worker.actor)))
    for what, step in steps:
        try:
            step()
        except Exception as exc:  # keep undoing the rest
            tracker.notices.append(f"warning: could not take back {what} ({exc}): `shopfloor worker rm {worker.name}`")


def start(tracker: Tracker, request: StartRequest) -> Worker:
    """Claim the issue, make (or reuse) its worktree, set it up, and launch the agent's shim."""

    issue_id = tracker.resolve(request.issue)
    issue = store.get(tracker.conn, issue_id)
    name = safe_name(issue_id)
    _refuse_existing(tracker, name)
    adapter = registry.get(request.agent)
    log_dir = log_root(tracker) / name
    opts = agent_options(tracker, adapter, dict(os.environ), log_dir)
    env = _agent_env(adapter, opts, name, issue_id, tracker.actor)
    channel, token = _channel_for(log_dir)
    env.update({CHANNEL_ENV: channel, TOKEN_ENV: token})  # the agent reaches the tracker only through these
    binary = resolve_binary(adapter, opts, env.get("PATH"))
    selfpath.require_reachable(env)
    prompt = build_prompt(issue, request.prompt_extra)
    config_path = Path(tracker.location.config_path)
    workspace_config = provision.parse(read_toml(config_path), config_path)
    kind = terminal.choose(request.terminal)
    branch = branch_for(issue_id)
    extra = system_extra(issue_id, branch)
    run = launch.start(adapter, binary, prompt, extra, opts)  # fails early on a bad template or scenario
    root = main_tree(tracker)
    worker = Worker(
        name=name,
        issue=issue_id,
        actor=tracker.actor,
        branch=branch,
        worktree=str(worktrees.path_for(root, issue_id)),
        agent=adapter.name,
        state="starting",
        terminal=SETTING_UP,
        log_dir=str(log_dir),
        started_at=tracker.now(),
        # Until the shim runs, the row names this process: a long setup is "starting", not lost.
        pid=os.getpid(),
        pid_start=procs.start_time(os.getpid()),
    )
    held_before = issue.get("status") == "in_progress" and issue.get("assignee") == tracker.actor
    worker = _reserve(tracker, worker, request.lease_s, workspace_config.port_base, workspace_config.ports_per_worker)
    env.update(_port_env(worker))  # its setup commands and its agent see its own ports
    space = None
    try:
        space = worktrees.ensure(root, issue_id)
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ShopfloorError(
                f"cannot create the worker log directory {log_dir} ({exc.strerror}): check permissions"
            ) from None
        faults.point("setup")
        for item in provision.copy_files(workspace_config, root, space.path):
            tracker.notices.append(f"warning: workspace.copy: {item} does not exist in {root}; not copied")
        provision.run_setup(workspace_config, space.path, env, log_dir / "setup.log")
        sandbox = _confine(tracker, adapter, space.path, log_dir, env, channel) if request.sandbox else []
        spec = LaunchSpec(
            name=name,
            issue=issue_id,
            actor=tracker.actor,
            agent=adapter.name,
            generation=worker.generation,
            argv=run.argv,
            stdin=run.stdin,
            cwd=str(space.path),
            db_file=tracker.location.db_file,
            log_dir=str(log_dir),
            prompt=prompt,
            system_extra=extra,
            lease_s=request.lease_s,
            env=env,
            context_window=opts.context_window,
            sandbox=sandbox,
            channel=channel,
            token=token,
        )
        _renew(tracker, issue_id, request.lease_s)  # setup may have taken a while
        archive.record_prompt(log_dir, worker.generation, prompt, tracker.now(), "start")
        launched = _spawn(tracker, worker, spec, kind)
    except BaseException:
        _undo_start(tracker, worker, held_before, space)
        raise
    # From here the shim runs and owns the worktree: a failure must never undo the start.
    return _record_launch(tracker, worker, launched)


def _port_env(worker: Worker) -> dict[str, str]:
    return ports.env(worker.port_base, worker.port_count)


def _renew(tracker: Tracker, issue_id: str, lease_s: float) -> None:
    """Hold the claim (a refusal if someone else holds it); renewed only when half of it is gone."""

    writes.renew(tracker.conn, issue_id, tracker.actor, time.time(), lease_s, take=True)


def _spawn(tracker: Tracker, worker: Worker, spec: LaunchSpec, kind: str) -> terminal.Launched:
    spec_file = write(spec)
    session = terminal.session_name(tracker.location.common_dir, worker.name)
    return terminal.launch(kind, session, spec_file, spec.cwd, Path(spec.log_dir))


def _record_launch(tracker: Tracker, worker: Worker, launched: terminal.Launched) -> Worker:
    """Name the shim in the row. If the database refuses, the shim still records itself."""
    try:
        records.update(
            tracker.conn,
            worker.name,
            worker.generation,
            terminal=launched.terminal,
            pid=launched.pid,
            pid_start=procs.start_time(launched.pid),
        )
        return records.get(tracker.conn, worker.name)
    except sqlite3.OperationalError as exc:
        tracker.notices.append(
            f"warning: the worker started (shim pid {launched.pid}) but could not be recorded yet ({exc}); "
            "its shim records it as it runs"
        )
        return replace(worker, terminal=launched.terminal, pid=launched.pid)


def _launch(tracker: Tracker, worker: Worker, spec: LaunchSpec, kind: str) -> Worker:
    return _record_launch(tracker, worker, _spawn(tracker, worker, spec, kind))


def list_workers(tracker: Tracker) -> list[Worker]:
    return [reconcile(tracker, worker) for worker in records.all_workers(tracker.conn)]


def can_resume(worker: Worker) -> bool:
    """Whether the worker's agent session can be continued: it has a session id, and the CLI's own
    transcript of it exists where the CLI keeps it (when the adapter knows where). An agent killed
    a moment after it started may never have written it (Claude Code then says "No conversation
    found with session ID"), and resuming it would only crash, again and again."""
    if not worker.session_id:
        return False
    spec_path = Path(worker.log_dir) / "spec.json"
    try:
        spec = read(spec_path)
        adapter = registry.get(worker.agent)
        home = spec.env.get("HOME") or os.path.expanduser("~")
        path = adapter.transcript_path(home, spec.cwd, worker.session_id)
    except (OSError, ValueError, ShopfloorError):
        return True  # cannot tell: try the resume, as before
    return path is None or Path(path).exists()


def find(tracker: Tracker, name: str) -> Worker:
    """A worker by its name, or by its issue's id (full or short)."""
    found = records.find(tracker.conn, name) or records.find(tracker.conn, safe_name(name))
    if found is None:
        try:
            found = records.find(tracker.conn, safe_name(tracker.resolve(name)))
        except ShopfloorError:
            found = None
    if found is None:
        raise records.not_found(name)
    return reconcile(tracker, found)


def restart(
    tracker: Tracker,
    worker: Worker,
    terminal_kind: str | None = None,
    *,
    prompt: str | None = None,
    fresh: bool = False,
    claim: bool = True,
    how: str | None = None,
) -> Worker:
    """Stop it if it runs, then run the agent again in the same worktree: the same session if it
    can, with ``prompt`` as the follow-up (the floor sends a gate report). With ``fresh``, a new
    session starts from the issue's prompt plus ``prompt`` (a handoff note). Without ``claim``
    the issue is not claimed again: the floor's last turn with the agent of a finished issue,
    whose run the logs call ``how`` ("lessons"; by default "resume" or "fresh")."""
    spec_path = Path(worker.log_dir) / "spec.json"
    if not spec_path.exists():
        raise ShopfloorError(
            f"worker {worker.name} has no launch spec ({spec_path}): remove it with `shopfloor worker rm "
            f"{worker.name}` and start it again"
        )
    spec = read(spec_path)
    if not Path(worker.worktree).is_dir():
        raise ShopfloorError(
            f"the worktree {worker.worktree} is gone: `shopfloor worker rm {worker.name}`, then start it again"
        )
    adapter = registry.get(worker.agent)
    opts = agent_options(tracker, adapter, spec.env, Path(worker.log_dir))
    binary = resolve_binary(adapter, opts, spec.env.get("PATH"))
    kind = terminal.choose(terminal_kind or ("tmux" if worker.tmux_session else "detached"))
    run = None
    if worker.session_id and not fresh:
        sent = prompt or restart_prompt(worker.issue)
        run = launch.resume(adapter, binary, worker.session_id, sent, opts)
    if run is None:
        sent = first = f"{spec.prompt}\n\n{prompt}" if prompt else spec.prompt
        run = launch.start(adapter, binary, first, spec.system_extra, opts)
    if claim:
        _renew(tracker, worker.issue, spec.lease_s)  # the claim first: a refusal changes nothing
    if is_running(worker):
        worker = kill(tracker, worker)
    worktrees.clear_stale_lock(Path(worker.worktree))  # its agent is stopped: the next one must be able to commit
    terminal.close(worker.tmux_session)  # a finished worker's window stays open until now
    generation = worker.generation + 1
    if not records.restart(tracker.conn, worker.name, worker.generation, tracker.now(), fresh=fresh):
        raise ConflictError(f"worker {worker.name} was changed by another process meanwhile: retry")
    spec = replace(
        spec,
        generation=generation,
        argv=run.argv,
        stdin=run.stdin,
        session_id=None if fresh else worker.session_id,
        base_tokens=worker.tokens,
        base_cost_usd=worker.cost_usd,
        context_window=opts.context_window,
    )
    row = records.get(tracker.conn, worker.name)
    try:
        how = how or ("resume" if spec.session_id else "fresh")
        archive.record_prompt(Path(worker.log_dir), generation, sent, tracker.now(), how)
        return _launch(tracker, row, spec, kind)
    except BaseException as exc:
        records.update(
            tracker.conn, row.name, generation, state="failed", error=f"restart failed: {exc}", ended_at=tracker.now()
        )
        raise


def remove(tracker: Tracker, worker: Worker, *, force: bool = False, drop_landed: DropLanded) -> str | None:
    """Remove the worker, its worktree and logs; refuses running or unmerged work without ``force``.
    ``drop_landed`` deletes the branch again if it landed as it is (see ``DropLanded``)."""
    if is_running(worker) and not settled(worker):
        if not force:
            raise ConflictError(
                f"worker {worker.name} is {worker.state}: stop it with `shopfloor worker kill {worker.name}`, "
                "or pass --force"
            )
        worker = kill(tracker, worker)
    confine = confinement_of(worker)  # git acting on the agent's files runs with the agent's powers
    wip = (
        worktrees.remove(main_tree(tracker), worker.issue, force=force, confine=confine)
        if Path(worker.worktree).exists()
        else None
    )
    wip = wip or worker.wip_commit  # the kill above (or the agent's end) may have saved it
    _drop_landed_branch(tracker, worker, drop_landed)
    terminal.close(worker.tmux_session)
    _release_issue(tracker, worker.issue, worker.actor)
    records.delete(tracker.conn, worker.name)
    _archive_logs(tracker, worker)
    shutil.rmtree(worker.log_dir, ignore_errors=True)
    discard_channel(socket_path(worker.log_dir))
    return wip


def _drop_landed_branch(tracker: Tracker, worker: Worker, drop_landed: DropLanded) -> None:
    """The removal brought the branch back from the workspace: a branch that landed exactly as it
    is goes again, as after its landing (``queue.branches``)."""
    try:
        drop_landed(tracker.conn, main_tree(tracker), worker.branch)
    except ShopfloorError as exc:
        tracker.notices.append(f"warning: could not delete the landed branch {worker.branch} ({exc})")


def _archive_logs(tracker: Tracker, worker: Worker, *, failed_start: bool = False) -> None:
    """Keep what the agent did and said (``workers.archive``) before its log directory goes; of a
    start that failed, what its setup printed (when it printed anything)."""
    setup_log = Path(worker.log_dir) / "setup.log"
    if not Path(worker.log_dir).is_dir() or (failed_start and not (setup_log.is_file() and setup_log.stat().st_size)):
        return
    meta: dict[str, object] = {"issue": worker.issue, "worker": worker.name, "agent": worker.agent}
    meta["archived_at"] = tracker.now()
    if failed_start:
        meta["failed_start"] = True
    root = archive.root_of(tracker.location.db_file)
    try:
        archive.archive(Path(worker.log_dir), root, worker.name, worker.generation, meta)
    except OSError as exc:
        tracker.notices.append(f"warning: could not archive the logs of {worker.name} ({exc}); they are removed")


def _release_issue(tracker: Tracker, issue_id: str, holder: str) -> None:
    """Return the issue to open if ``holder`` still holds it."""

    with tracker.write() as conn:
        writes.release(conn, issue_id, holder, tracker.actor, tracker.now())


def tail(path: Path, lines: int) -> list[str]:
    try:
        with path.open("rb") as source:
            source.seek(0, os.SEEK_END)
            size = source.tell()
            source.seek(max(0, size - 256 * 1024))
            text = source.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return []
    return text.splitlines()[-lines:]
