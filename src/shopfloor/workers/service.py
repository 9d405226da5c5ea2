"""Worker lifecycle: start, list (re-discovering what is still running), kill, restart, remove.

Everything a worker is lives in its row and its log directory, never in this process:
a shopfloor that dies and starts again finds every worker from the database, checks each
shim's pid (with its start time), and marks a worker whose shim vanished without recording
an ending as ``lost``, never silently forgetting it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from dataclasses import dataclass, replace
from pathlib import Path

from shopfloor.agents import registry
from shopfloor.agents.base import AgentAdapter, AgentOptions
from shopfloor.configfile import read_toml
from shopfloor.errors import ConflictError, ShopfloorError
from shopfloor.tracker.service import Tracker
from shopfloor.workers import procs, records, terminal
from shopfloor.workers.prompt import build_prompt, restart_prompt, system_extra
from shopfloor.workers.records import FINAL_STATES, Worker
from shopfloor.workers.spec import LaunchSpec, write
from shopfloor.workspace import worktrees
from shopfloor.workspace.naming import branch_for, safe_name

STOP_WAIT_S = 15.0
START_GRACE_S = 30.0  # a worker still "starting" after this, with no shim, is lost


@dataclass(frozen=True)
class StartRequest:
    issue: str
    agent: str = "claude"
    prompt_extra: str | None = None
    terminal: str | None = None
    lease_s: float = 30 * 60.0


def main_tree(tracker: Tracker) -> Path:
    common = Path(tracker.location.common_dir).resolve()
    return common.parent if common.name == ".git" else Path(tracker.location.worktree_dir)


def log_root(tracker: Tracker) -> Path:
    return Path(os.path.dirname(tracker.location.db_file)) / "workers"


def agent_options(tracker: Tracker, agent: str, env: dict[str, str]) -> AgentOptions:
    """The agent's config table; the scripted agent's scenario may also come from the environment."""
    from shopfloor.agents.options import parse
    from shopfloor.agents.scripted import SCENARIO_ENV

    path = Path(tracker.location.config_path)
    opts = parse(read_toml(path), agent, path)
    if opts.scenario is None and env.get(SCENARIO_ENV):
        opts = replace(opts, scenario=os.path.abspath(env[SCENARIO_ENV]))
    return opts


def resolve_binary(adapter: AgentAdapter, opts: AgentOptions, path_env: str | None) -> str:
    wanted = opts.binary or adapter.binary
    if not wanted:
        return ""
    found = shutil.which(wanted, path=path_env)
    if not found:
        raise ShopfloorError(f"the {adapter.name} agent's CLI {wanted!r} was not found on PATH: {adapter.install}")
    return found


def _agent_env(adapter: AgentAdapter, opts: AgentOptions, worker: str, issue: str, actor: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(adapter.env())
    env.update(dict(opts.env))
    env.update(SHOPFLOOR_WORKER=worker, SHOPFLOOR_ISSUE=issue, SHOPFLOOR_ACTOR=actor)
    return env


def _claim(tracker: Tracker, issue_id: str, lease_s: float) -> None:
    from shopfloor.tracker import writes

    with tracker.write() as conn:
        writes.claim(conn, issue_id, tracker.actor, tracker.now(), tracker.lease_until(lease_s))


def start(tracker: Tracker, request: StartRequest) -> Worker:
    """Claim the issue, make (or reuse) its worktree, set it up, and launch the agent's shim."""
    from shopfloor.tracker import store
    from shopfloor.workspace import setup

    issue_id = tracker.resolve(request.issue)
    issue = store.get(tracker.conn, issue_id)
    name = safe_name(issue_id)
    existing = records.find(tracker.conn, name)
    if existing is not None:
        existing = reconcile(tracker, existing)
        verb = "restart" if existing.state in FINAL_STATES else "kill"
        raise ConflictError(
            f"worker {name} already exists ({existing.state}): use `shopfloor worker {verb} {name}` "
            f"or `shopfloor worker rm {name}`"
        )
    adapter = registry.get(request.agent)
    opts = agent_options(tracker, adapter.name, dict(os.environ))
    env = _agent_env(adapter, opts, name, issue_id, tracker.actor)
    binary = resolve_binary(adapter, opts, env.get("PATH"))
    prompt = build_prompt(issue, request.prompt_extra)
    config_path = Path(tracker.location.config_path)
    workspace_config = setup.parse(read_toml(config_path), config_path)
    kind = terminal.choose(request.terminal)
    log_dir = log_root(tracker) / name
    opts = replace(opts, state_dir=str(log_dir))
    extra = system_extra(issue_id, branch_for(issue_id))
    argv = adapter.start_argv(binary, prompt, extra, opts)  # fails early on a bad template or scenario
    held_before = issue.get("status") == "in_progress" and issue.get("assignee") == tracker.actor
    _claim(tracker, issue_id, request.lease_s)
    try:
        root = main_tree(tracker)
        space, _created = worktrees.ensure(root, issue_id)
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ShopfloorError(
                f"cannot create the worker log directory {log_dir} ({exc.strerror}): check permissions"
            ) from None
        missing = setup.copy_files(workspace_config, root, space.path)
        for item in missing:
            tracker.notices.append(f"warning: workspace.copy: {item} does not exist in {root}; not copied")
        setup.run_setup(workspace_config, space.path, env, log_dir / "setup.log")
    except BaseException:
        if not held_before:
            _release_issue(tracker, issue_id, tracker.actor)
        raise
    worker = Worker(
        name=name,
        issue=issue_id,
        actor=tracker.actor,
        branch=space.branch,
        worktree=str(space.path),
        agent=adapter.name,
        state="starting",
        terminal="detached",
        log_dir=str(log_dir),
        started_at=tracker.now(),
    )
    records.insert(tracker.conn, worker)
    spec = LaunchSpec(
        name=name,
        issue=issue_id,
        actor=tracker.actor,
        agent=adapter.name,
        generation=worker.generation,
        argv=argv,
        cwd=str(space.path),
        db_file=tracker.location.db_file,
        log_dir=str(log_dir),
        prompt=prompt,
        system_extra=extra,
        lease_s=request.lease_s,
        env=env,
        context_window=opts.context_window,
    )
    return _launch(tracker, worker, spec, kind)


def _launch(tracker: Tracker, worker: Worker, spec: LaunchSpec, kind: str) -> Worker:
    spec_file = write(spec)
    session = terminal.session_name(tracker.location.common_dir, worker.name)
    try:
        launched = terminal.launch(kind, session, spec_file, spec.cwd, Path(spec.log_dir))
    except ShopfloorError as exc:
        records.update(
            tracker.conn, worker.name, worker.generation, state="failed", error=str(exc), ended_at=tracker.now()
        )
        raise
    records.update(
        tracker.conn,
        worker.name,
        worker.generation,
        terminal=launched.terminal,
        pid=launched.pid,
        pid_start=procs.start_time(launched.pid),
    )
    return records.get(tracker.conn, worker.name)


def reconcile(tracker: Tracker, worker: Worker) -> Worker:
    """Mark a worker lost if its shim is gone without having recorded how it ended."""
    if worker.state in FINAL_STATES:
        return worker
    if procs.is_alive(worker.pid, worker.pid_start):
        return worker
    if worker.pid is None and _age_s(tracker, worker.started_at) < START_GRACE_S:
        return worker  # being launched right now
    fresh = records.get(tracker.conn, worker.name)  # it may have just finished
    if fresh.state in FINAL_STATES or fresh.generation != worker.generation:
        return fresh
    if procs.is_alive(fresh.pid, fresh.pid_start):
        return fresh
    why = f"its shim (pid {fresh.pid}) is gone without recording an ending; the log is in {fresh.log_dir}"
    records.update(tracker.conn, fresh.name, fresh.generation, state="lost", error=why, ended_at=tracker.now())
    return records.get(tracker.conn, fresh.name)


def _age_s(tracker: Tracker, stamp: str) -> float:
    from datetime import datetime

    then = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    return time.time() - then


def list_workers(tracker: Tracker) -> list[Worker]:
    return [reconcile(tracker, worker) for worker in records.all_workers(tracker.conn)]


def find(tracker: Tracker, name: str) -> Worker:
    """A worker by its name, or by its issue's id (full or short)."""
    found = records.find(tracker.conn, name) or records.find(tracker.conn, safe_name(name))
    if found is None:
        try:
            found = records.find(tracker.conn, safe_name(tracker.resolve(name)))
        except ShopfloorError:
            found = None
    if found is None:
        records.get(tracker.conn, name)  # raises the not-found error
        raise AssertionError("unreachable")
    return reconcile(tracker, found)


def kill(tracker: Tracker, worker: Worker) -> Worker:
    """Stop the worker's agent and shim; its uncommitted work is saved as a ``wip:`` commit."""
    if worker.state not in FINAL_STATES and procs.is_alive(worker.pid, worker.pid_start):
        assert worker.pid is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT_S
        while procs.is_alive(worker.pid, worker.pid_start) and time.monotonic() < deadline:
            time.sleep(0.05)
        if procs.is_alive(worker.pid, worker.pid_start):
            procs.signal_group(worker.agent_pid, signal.SIGKILL)
            procs.signal_group(worker.pid, signal.SIGKILL)
    fresh = records.get(tracker.conn, worker.name)
    if fresh.state not in FINAL_STATES and fresh.generation == worker.generation:
        wip = worktrees.save_wip(Path(fresh.worktree), fresh.issue, "uncommitted when the worker was killed")
        records.update(
            tracker.conn,
            fresh.name,
            fresh.generation,
            state="killed",
            wip_commit=wip,
            error="killed by shopfloor worker kill",
            ended_at=tracker.now(),
        )
    terminal.close(fresh.tmux_session)
    return records.get(tracker.conn, worker.name)


def restart(tracker: Tracker, worker: Worker, terminal_kind: str | None = None) -> Worker:
    """Stop it if it runs, then run the agent again in the same worktree: the same session if it can."""
    from shopfloor.workers.spec import read

    if worker.state not in FINAL_STATES:
        worker = kill(tracker, worker)
    spec = read(Path(worker.log_dir) / "spec.json")
    adapter = registry.get(worker.agent)
    opts = replace(agent_options(tracker, adapter.name, spec.env), state_dir=worker.log_dir)
    binary = resolve_binary(adapter, opts, spec.env.get("PATH"))
    argv = None
    if worker.session_id:
        argv = adapter.resume_argv(binary, worker.session_id, restart_prompt(worker.issue), opts)
    if argv is None:
        argv = adapter.start_argv(binary, spec.prompt, spec.system_extra, opts)
    _claim(tracker, worker.issue, spec.lease_s)
    generation = worker.generation + 1
    with tracker.write() as conn:
        conn.execute(
            "UPDATE workers SET generation = ?, state = 'starting', terminal = 'detached', pid = NULL, "
            "pid_start = NULL, agent_pid = NULL, exit_code = NULL, error = NULL, ended_at = NULL, "
            "started_at = ?, last_event = NULL WHERE name = ? AND generation = ?",
            (generation, tracker.now(), worker.name, worker.generation),
        )
    spec.generation, spec.argv = generation, argv
    fresh = records.get(tracker.conn, worker.name)
    if fresh.generation != generation:
        raise ConflictError(f"worker {worker.name} was changed by another process meanwhile: retry")
    kind = terminal.choose(terminal_kind or ("tmux" if worker.tmux_session else "detached"))
    return _launch(tracker, fresh, spec, kind)


def remove(tracker: Tracker, worker: Worker, *, force: bool = False) -> str | None:
    """Remove the worker, its worktree and logs; refuses running or unmerged work without ``force``."""
    if worker.state not in FINAL_STATES:
        if not force:
            raise ConflictError(
                f"worker {worker.name} is {worker.state}: stop it with `shopfloor worker kill {worker.name}`, "
                "or pass --force"
            )
        worker = kill(tracker, worker)
    wip = None
    if Path(worker.worktree).exists():
        wip = worktrees.remove(main_tree(tracker), worker.issue, force=force)
    terminal.close(worker.tmux_session)
    _release_issue(tracker, worker.issue, worker.actor)
    records.delete(tracker.conn, worker.name)
    shutil.rmtree(worker.log_dir, ignore_errors=True)
    return wip


def _release_issue(tracker: Tracker, issue_id: str, holder: str) -> None:
    """Return the issue to open if ``holder`` still holds it."""
    from shopfloor.tracker import writes

    with tracker.write() as conn:
        row = conn.execute("SELECT status, assignee FROM issues WHERE id = ?", (issue_id,)).fetchone()
        if row and row[0] == "in_progress" and row[1] == holder:
            writes.update(conn, issue_id, {"status": "open"}, tracker.actor, tracker.now())


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
