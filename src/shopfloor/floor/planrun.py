"""``shopfloor plan``: one agent session researches the target and writes a plan, nothing else.

The agent runs in a fresh ``git clone --shared`` of the target's tip, in a temporary directory,
under bubblewrap with that checkout read-only: the only directory it may write (besides its
private HOME and TMPDIR) is the checkout's ``.agents/plans/``, and only the one file it is told
to write is read back. The repository, its working tree and its tracker are out of reach (the
tracker's directory and the other workers' clones are hidden).

Its file is then checked exactly as ``create -f`` checks a plan (``tracker.plancreate.trial``,
in a transaction rolled back), and only a plan that would create its issues is copied into the
working tree's ``.agents/plans/<slug>.md``; a plan that does not is kept in the state directory
(``<git common dir>/shopfloor/plans/``), with the session's event log, and the error names it.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

from shopfloor import faults, git, paths
from shopfloor.agents import launch, registry
from shopfloor.agents.base import AgentAdapter, AgentOptions, SessionState
from shopfloor.configfile import read_toml
from shopfloor.errors import ShopfloorError, UsageError, ValidationError
from shopfloor.floor import plan
from shopfloor.gate.initrun import target_of
from shopfloor.inputs import PLAN_LIMIT
from shopfloor.progress import Progress, quiet
from shopfloor.sandbox.bwrap import prefix
from shopfloor.sandbox.config import enabled as sandbox_enabled
from shopfloor.sandbox.config import parse as sandbox_config
from shopfloor.tracker import plancreate, planfile
from shopfloor.tracker.service import Tracker
from shopfloor.workers import selfpath
from shopfloor.workers.confine import worker_confinement
from shopfloor.workers.lifecycle import agent_options, resolve_binary
from shopfloor.workers.progress import describe, printable

DEFAULT_TIMEOUT_S = 30 * 60.0
SHOWN_EVENTS = ("started", "tool_use", "error")  # what the progress line follows


@dataclass(frozen=True)
class PlanRequest:
    goal: str
    agent: str = "claude"
    timeout_s: float = DEFAULT_TIMEOUT_S
    dry_run: bool = False
    # False: the agent runs unconfined (--no-sandbox, SHOPFLOOR_SANDBOX=off); the CLI says so.
    sandbox: bool = field(default_factory=sandbox_enabled)


@dataclass(frozen=True)
class PlanResult:
    slug: str
    path: str  # the plan in the working tree, relative to its root; with --dry-run, where it would go
    written: bool
    proposed: list[plancreate.Proposed]
    target: str
    commit: str
    agent: str
    tokens: int
    cost_usd: float
    log: str  # the session's event lines, kept in the state directory
    kept: str | None  # with --dry-run: the plan, kept in the state directory only
    ignored_by: str | None = None  # the .gitignore rule that hides the written plan from git, if one does


def plans_state(tracker: Tracker) -> Path:
    """Where rejected plans and session logs are kept: beside the tracker, never in the tree."""
    return paths.state_dir(tracker) / "plans"


def _agent(tracker: Tracker, name: str, run_dir: Path) -> tuple[AgentAdapter, AgentOptions, str, dict[str, str]]:
    """The adapter, its options, its CLI's path and its environment; one line if it cannot start."""
    adapter = registry.get(name)
    opts = agent_options(tracker, adapter, dict(os.environ), run_dir)
    env = dict(os.environ)
    env.pop(faults.FAULT_ENV, None)
    env.update(adapter.env())
    env.update(dict(opts.env))
    env["PATH"] = selfpath.path_first(env.get("PATH"), selfpath.own_dir())
    for key in ("SHOPFLOOR_CHANNEL", "SHOPFLOOR_TOKEN", "SHOPFLOOR_WORKER", "SHOPFLOOR_ISSUE"):
        env.pop(key, None)
    try:
        binary = resolve_binary(adapter, opts, env.get("PATH"))
        extra_check = getattr(adapter, "preflight", None)  # an adapter's own files (the scripted scenario)
        if extra_check is not None:
            extra_check(opts)
    except UsageError:
        raise
    except ShopfloorError as exc:
        raise UsageError(f"{exc} (or pick another agent with --agent)") from None
    return adapter, opts, binary, env


def _checkout(repo: Path, commit: str, path: Path, output: str) -> Path:
    """A detached clone of ``commit`` at ``path``, and its output directory (a real directory
    inside it, never a symlink a committed tree could point anywhere)."""
    git.run(path.parent, "clone", "--shared", "--no-checkout", "--quiet", str(repo.resolve()), str(path))
    git.run(path, "checkout", "--quiet", "--detach", commit)
    out = path / plancreate.PLANS_DIR
    for part in (path / ".agents", out):
        if part.is_symlink() or (part.exists() and not part.is_dir()):
            raise ShopfloorError(f"{part.relative_to(path)} in {commit[:12]} is not a directory: fix the target")
        part.mkdir(exist_ok=True)
    stale = path / output
    if stale.is_file() and not stale.is_symlink():
        stale.unlink()  # a committed file of that name must not pass for the agent's work
    return out


def _confinement(
    tracker: Tracker, adapter: AgentAdapter, checkout: Path, out: Path, run_dir: Path, env: dict[str, str]
) -> list[str]:
    """The bwrap prefix: the checkout read-only, ``out`` writable; ``env`` gets the private HOME."""
    config_path = Path(tracker.location.config_path)
    hidden = (str(paths.state_dir(tracker).resolve()), str(paths.floor_root(tracker).resolve()))
    confinement, changes = worker_confinement(
        adapter,
        sandbox_config(read_toml(config_path), str(config_path)),
        workspace=checkout,
        log_dir=run_dir,
        hidden=hidden,
        env=env,
    )
    confinement = replace(confinement, workdir_writable=False, writable=(*confinement.writable, str(out)))
    argv = prefix(confinement)
    env.update(changes)
    return argv


def _session(
    argv: list[str],
    stdin: str | None,
    cwd: Path,
    env: dict[str, str],
    adapter: AgentAdapter,
    log: Path,
    timeout_s: float,
    progress: Progress,
) -> tuple[int, SessionState]:
    """Run the agent to its end (or ``timeout_s``), following its events; (exit status, state)."""
    state = SessionState()
    deadline = time.monotonic() + timeout_s
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log_file,
            start_new_session=True,  # its whole group is killed on a timeout or Ctrl-C
        )
        try:
            assert proc.stdout is not None
            if proc.stdin is not None:
                try:
                    proc.stdin.write((stdin or "").encode("utf-8", "surrogatepass"))
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
            _follow(proc, adapter, state, log_file, deadline, timeout_s, progress)
            try:
                return proc.wait(timeout=max(1.0, deadline - time.monotonic())), state
            except subprocess.TimeoutExpired:
                raise _late(timeout_s) from None
        finally:
            if proc.returncode is None:  # not reaped yet, so its group id cannot have been reused
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def _late(timeout_s: float) -> ShopfloorError:
    return ShopfloorError(
        f"the planning session ran past its {timeout_s:.0f} s and was stopped: give it a longer --timeout, "
        "or a narrower goal"
    )


def _follow(
    proc: subprocess.Popen[bytes],
    adapter: AgentAdapter,
    state: SessionState,
    log_file: BinaryIO,
    deadline: float,
    timeout_s: float,
    progress: Progress,
) -> None:
    assert proc.stdout is not None
    pending = b""
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _late(timeout_s)
            if not selector.select(min(left, 1.0)):
                if proc.poll() is not None:
                    break  # it ended; what it started in the background may hold the pipe open
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            log_file.write(chunk)
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                for event in adapter.parse_line(raw.decode("utf-8", "replace")):
                    state.apply(event)
                    said = describe(event, state) if event.kind in SHOWN_EVENTS else None
                    if said:
                        progress(said)


def _read_plan(path: Path) -> bytes | None:
    """The agent's file: a regular file, never through a symlink, at most ``PLAN_LIMIT`` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ShopfloorError(
            f"cannot read the agent's plan {path.name} ({exc.strerror}): it must be a plain file"
        ) from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ShopfloorError(f"the agent's plan {path.name} is not a plain file")
        data = handle.read(PLAN_LIMIT + 1)
    if len(data) > PLAN_LIMIT:
        raise ShopfloorError(f"the agent's plan is over {PLAN_LIMIT // (1024 * 1024)} MB: ask for a narrower goal")
    return data


def _taken(plans_dir: Path) -> set[str]:
    try:
        return {p.name[: -len(".md")] for p in plans_dir.iterdir() if p.name.endswith(".md")}
    except FileNotFoundError:
        return set()
    except OSError as exc:
        raise ShopfloorError(f"cannot read {plans_dir} ({exc.strerror}): fix its permissions") from None


def _plans_dir(worktree: Path) -> Path:
    """The working tree's ``.agents/plans/``, made if missing, refused if it leads elsewhere."""
    plans_dir = worktree / plancreate.PLANS_DIR
    for part in (worktree / ".agents", plans_dir):
        if part.is_symlink() or (part.exists() and not part.is_dir()):
            raise ShopfloorError(f"{part} is not a directory: plans go in a real .agents/plans/ (fix it, then retry)")
    return plans_dir


def _write_new(path: Path, data: bytes) -> None:
    """Create ``path`` with ``data``; never replace a file that appeared meanwhile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except FileExistsError:
        raise ShopfloorError(f"{path} appeared while the agent planned: run the plan again") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def run(tracker: Tracker, request: PlanRequest, progress: Progress = quiet) -> PlanResult:
    """One planning session; the checked plan, written into the working tree unless ``dry_run``."""
    worktree = Path(tracker.location.worktree)
    target, commit, _ = target_of(worktree, then="run `shopfloor plan` again")
    plans_dir = _plans_dir(worktree)
    # Not the name of a plan in the tree, nor of one whose issues exist (its file since removed).
    used = {
        link.removeprefix(f"{plancreate.PLANS_DIR}/").removesuffix(".md")
        for link in plancreate.linked_plans(tracker.conn)
    }
    name = plan.free_name(plan.slug(request.goal), _taken(plans_dir) | used)
    relative = f"{plancreate.PLANS_DIR}/{name}.md"
    keep = plans_state(tracker)
    keep.mkdir(parents=True, exist_ok=True)
    log = keep / f"{name}.log"
    run_dir = Path(tempfile.mkdtemp(prefix="shopfloor-plan-"))
    try:
        adapter, opts, binary, env = _agent(tracker, request.agent, run_dir)
        checkout = run_dir / "checkout"
        out = _checkout(worktree, commit, checkout, relative)
        before = set(os.listdir(out))
        sandbox = _confinement(tracker, adapter, checkout, out, run_dir, env) if request.sandbox else []
        started = launch.start(adapter, binary, plan.prompt(request.goal, relative, target, commit), None, opts)
        how = "a read-only" if request.sandbox else "an UNCONFINED"
        progress(f"planning with {adapter.name} in {how} checkout of {target} at {commit[:12]}: {relative}")
        code, state = _session(
            [*sandbox, *started.argv], started.stdin, checkout, env, adapter, log, request.timeout_s, progress
        )
        data = _read_plan(checkout / relative)
        elsewhere = sorted(set(os.listdir(out)) - before)[:3]  # a plan under another name is not taken
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    if data is None:
        last = f", {printable(state.errors[-1][:200])}" if state.errors else ""  # the agent's words: untrusted
        said = f" (exit {code}{last})" if code or last else ""
        if elsewhere:
            named = ", ".join(printable(name) for name in elsewhere)
            said += f" (it wrote {named} in {plancreate.PLANS_DIR}/ instead)"
        raise ShopfloorError(f"the agent wrote no plan at {relative}{said}: its session log is {log}")
    kept = keep / f"{name}.md"
    kept.write_bytes(data)  # the raw file, whatever happens next
    try:
        drafts = planfile.parse_plan(data, str(kept))
        proposed = plancreate.trial(tracker, drafts, relative)
    except ShopfloorError as exc:
        raise ValidationError(
            f"the agent's plan does not parse: {exc} (the file is kept there; the session log is {log})"
        ) from None
    if not request.dry_run:  # a dry run keeps the file only in the state directory (``kept``)
        _write_new(worktree / relative, data)
        kept.unlink()
    return PlanResult(
        slug=name,
        path=relative,
        written=not request.dry_run,
        proposed=proposed,
        target=target,
        commit=commit,
        agent=adapter.name,
        tokens=state.tokens,
        cost_usd=state.cost_usd,
        log=str(log),
        kept=str(kept) if request.dry_run else None,
        ignored_by=None if request.dry_run else _ignored_by(worktree, relative),
    )


def _ignored_by(worktree: Path, relative: str) -> str | None:
    """``.gitignore:11: .*`` when git ignores ``relative`` (some projects ignore every dotted path)."""
    done = git.run(worktree, "check-ignore", "--verbose", "--", relative, check=False)
    if done.returncode != 0:
        return None
    source, _, rest = done.stdout.partition("\t")[0].partition(":")
    line, _, pattern = rest.partition(":")
    return f"{source}:{line}: {pattern}"
