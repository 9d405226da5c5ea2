"""The shim: the small process that runs one agent session for a worker.

``python -m shopfloor.workers.shim SPEC`` runs in the worker's tmux pane, or detached. It
starts the agent from the spec's argv list, appends every raw line of its event stream to
``events.jsonl``, turns them into events through the agent's adapter, writes the worker row
as they arrive (session, tokens, cost, context used), shows readable progress in the pane
(and ``pane.log``), renews the issue's lease, and records how the agent ended. Uncommitted
work left at the end is saved as a ``wip:`` commit.

It outlives whoever started it: it ignores SIGHUP (a tmux server that dies takes only the
window, not the agent), and the agent runs in a process group of its own. SIGTERM stops the
agent (SIGKILL after a grace period) and records the worker as killed.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from shopfloor.agents import registry
from shopfloor.agents.base import SessionState
from shopfloor.channel.server import ChannelServer, Grant, configured_trust_labels
from shopfloor.errors import ShopfloorError
from shopfloor.tracker import db, writes
from shopfloor.tracker.clock import iso
from shopfloor.workers import procs, records
from shopfloor.workers.launched import sandbox_exec_failure
from shopfloor.workers.progress import describe, headline, printable
from shopfloor.workers.spec import LaunchSpec, read
from shopfloor.workspace.worktrees import fetch_back, save_wip

REFUSALS = "refused.jsonl"  # one line per request the worker channel refused
STDIN_FILE = "stdin.txt"  # a long prompt (agents.launch), opened as the agent's stdin
MAX_LINE = 1 << 20  # longer lines are split, and their pieces reported as malformed
EXIT_POLL_S = 1.0  # while the agent is quiet, check this often whether it has exited
DRAIN_S = 0.5  # after the agent exits, read what is left for at most this long
KILL_GRACE_S = 5.0
STDERR_TAIL = 2000


class Pane:
    """Progress lines to the terminal (while there is one) and always to ``pane.log``."""

    def __init__(self, log: Path, out: IO[str] | None) -> None:
        self.log = log.open("a", encoding="utf-8")
        self.out = out

    def say(self, line: str) -> None:
        stamped = f"{time.strftime('%H:%M:%S')} {printable(line)}\n"
        self.log.write(stamped)
        self.log.flush()
        if self.out is not None:
            try:
                self.out.write(stamped)
                self.out.flush()
            except OSError:  # the terminal went away (tmux killed): keep going without it
                self.out = None


class Shim:
    def __init__(self, spec: LaunchSpec) -> None:
        self.spec = spec
        self.log_dir = Path(spec.log_dir)
        self.conn = db.connect(spec.db_file, create=False)
        self.adapter = registry.get(spec.agent)
        # A restart resumes the same session: keep its id, and add to what earlier runs spent.
        self.state = SessionState(
            session_id=spec.session_id,
            context_window=spec.context_window,
            default_window=self.adapter.default_context_window,
        )
        self.pane = Pane(self.log_dir / "pane.log", sys.stdout if sys.stdout and sys.stdout.isatty() else None)
        self.stop_signal: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.finished = threading.Event()
        self.channel: Any = None  # the worker channel's server, while the agent runs

    def record(self, **changes: Any) -> bool:
        """Write the row; a database error is reported in the pane, never fatal to the agent."""
        try:
            return records.update(self.conn, self.spec.name, self.spec.generation, **changes)
        except sqlite3.Error as exc:
            self.pane.say(f"warning: could not record the worker's state: {exc}")
            return False

    def totals(self) -> dict[str, Any]:
        state = self.state
        return {
            "session_id": state.session_id,
            "context_tokens": state.context_tokens,
            "context_window": state.window,
            "context_used": state.context_used,
            "tokens": self.spec.base_tokens + state.tokens,
            "cost_usd": self.spec.base_cost_usd + state.cost_usd,
        }

    def on_stop(self, signum: int, frame: object) -> None:
        self.stop_signal = signum
        if self.proc is not None:
            procs.signal_group(self.proc.pid, signal.SIGTERM)
            pid = self.proc.pid
            timer = threading.Timer(KILL_GRACE_S, procs.signal_group, (pid, signal.SIGKILL))
            timer.daemon = True
            timer.start()

    def run(self) -> int:
        """Serve the worker's channel (before the agent starts, until it has ended), and run the agent."""
        if self.spec.channel and self.spec.token:
            try:
                grant = Grant(self.spec.name, self.spec.issue, configured_trust_labels(self.spec.db_file))
                self.channel = ChannelServer(
                    self.spec.channel, self.spec.token, grant, self.spec.db_file, self.note_refusal
                ).start()
            except ShopfloorError as exc:
                return self.finish(None, f"cannot open the worker channel: {exc}")
        try:
            return self.run_agent()
        finally:
            self.close_channel()

    def note_refusal(self, line: str) -> None:
        """What the channel refused this agent, kept for the floor's attempt record (``refusals``)."""
        record = {"generation": self.spec.generation, "at": iso(time.time()), "refused": line[:500]}
        with (self.log_dir / REFUSALS).open("a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        self.pane.say(line)

    def bring_back(self) -> None:
        """Fetch the worker's branch into the main repository as soon as the agent has ended, so
        `git log floor/<issue>` there shows its work. The shim is the floor's process, outside
        the sandbox; the fetch writes only ``refs/heads/floor/<issue>``, hooks off."""

        common = Path(self.spec.db_file).resolve().parent.parent
        main = common.parent if common.name == ".git" else common
        try:
            fetch_back(main, self.spec.issue)
        except ShopfloorError as exc:
            self.pane.say(f"warning: {exc}")

    def close_channel(self) -> None:
        channel, self.channel = self.channel, None
        if channel is not None:
            channel.close()

    def run_agent(self) -> int:
        spec = self.spec
        me = os.getpid()
        self.record(pid=me, pid_start=procs.start_time(me))
        self.pane.say(f"worker {spec.name}: {spec.agent} on {spec.issue} in {spec.cwd}")
        try:
            with (self.log_dir / "stderr.log").open("ab") as stderr, self.stdin() as stdin:
                self.proc = subprocess.Popen(
                    [*spec.sandbox, *spec.argv],
                    cwd=spec.cwd,
                    env=spec.env,
                    stdin=stdin,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                    start_new_session=True,
                )
        except OSError as exc:
            return self.finish(None, f"cannot start {spec.argv[0]}: {exc.strerror or exc}")
        if self.stop_signal is not None:  # stopped while the agent was being started
            self.on_stop(self.stop_signal, None)
        self.record(
            state="running",
            agent_pid=self.proc.pid,
            agent_pid_start=procs.start_time(self.proc.pid),
            last_event_at=iso(time.time()),
        )
        heart = threading.Thread(target=self.keep_lease, daemon=True)
        heart.start()
        failure = None
        try:
            self.pump()
        except Exception as exc:  # never leave the agent without an owner
            failure = f"the shim failed while reading the agent's output: {type(exc).__name__}: {exc}"
            self.pane.say(f"error: {failure}")
            procs.signal_group(self.proc.pid, signal.SIGTERM)
        code = self.proc.wait()
        if self.spec.sandbox and 128 < code < 128 + 65:
            code = 128 - code  # bwrap exits 128 + N for a child killed by signal N: report it as Popen would
        self.finished.set()
        self.stop_leftovers()
        if self.spec.sandbox and code == 1 and failure is None:
            failure = sandbox_exec_failure(self.stderr_tail())
            if failure is not None:  # bwrap ran, but the agent never started inside it
                self.record(agent_pid=None, agent_pid_start=None)
                return self.finish(None, failure)
        return self.finish(code, failure)

    def stdin(self) -> IO[bytes]:
        """The agent's stdin: /dev/null, or a private file holding a long prompt (agents.launch)."""
        if self.spec.stdin is None:
            return open(os.devnull, "rb")
        path = self.log_dir / STDIN_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(self.spec.stdin.encode("utf-8", "surrogatepass"))
        return path.open("rb")

    def stop_leftovers(self) -> None:
        """Processes the agent started in its group must not outlive it (nor hold the worktree)."""
        assert self.proc is not None
        if self.spec.sandbox:  # the sandbox's pid namespace dies with its init, which ignores SIGTERM
            procs.signal_group(self.proc.pid, signal.SIGKILL)
            return
        procs.signal_group(self.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + KILL_GRACE_S
        while procs.group_alive(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        procs.signal_group(self.proc.pid, signal.SIGKILL)

    def pump(self) -> None:
        """Read the agent's stdout line by line until it closes, or until the agent has exited
        and nothing more arrives (a background child of the agent may hold the pipe open)."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        pending = b""
        with (self.log_dir / "events.jsonl").open("ab") as raw_log, selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            drain_until = None
            while True:
                if drain_until is None and self.proc.poll() is not None:
                    # The agent has exited: take what it left in the pipe, but do not wait on
                    # children of it that keep the pipe open (or keep writing to it).
                    drain_until = time.monotonic() + DRAIN_S
                timeout = EXIT_POLL_S if drain_until is None else max(0.0, drain_until - time.monotonic())
                if not selector.select(timeout=timeout):
                    if drain_until is not None or self.proc.poll() is not None:
                        break
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                pending += chunk
                while b"\n" in pending or len(pending) >= MAX_LINE:
                    cut = pending.find(b"\n") + 1 or MAX_LINE
                    self.line(raw_log, pending[:cut])
                    pending = pending[cut:]
                if drain_until is not None and time.monotonic() >= drain_until:
                    break
            if pending:
                self.line(raw_log, pending)

    def line(self, raw_log: IO[bytes], raw: bytes) -> None:
        raw_log.write(raw if raw.endswith(b"\n") else raw + b"\n")
        raw_log.flush()
        line = raw.decode("utf-8", "replace")
        try:
            self.handle(line)
        except Exception as exc:  # an event of an unexpected shape: recorded and skipped
            self.pane.say(f"warning: skipped an event line ({type(exc).__name__}: {exc}): {line[:200]}")

    def handle(self, line: str) -> None:
        events = self.adapter.parse_line(line)
        if not events:
            return
        for event in events:
            self.state.apply(event)
            text = describe(event, self.state)
            if text:
                self.pane.say(text)
        if any(e.kind in ("usage", "done") and "context_tokens" not in e.data for e in events):
            self.context_from_files()
        latest = headline(events, self.state)  # what a person watching wants: the tool and its input
        shown = {"last_event": latest} if latest else {}
        self.record(**self.totals(), **shown, last_event_at=iso(time.time()))

    def context_from_files(self) -> None:
        """For CLIs that report context use only in their session files (Codex, Gemini)."""
        if not self.state.session_id:
            return
        home = self.spec.env.get("HOME") or os.path.expanduser("~")
        try:
            found = self.adapter.context_from_files(home, self.spec.cwd, self.state.session_id)
        except (OSError, ValueError) as exc:
            self.pane.say(f"warning: cannot read the session file: {exc}")
            return
        if found is not None:
            self.state.context_tokens = found[0]
            self.state.context_window = found[1] or self.state.context_window

    def keep_lease(self) -> None:
        """Renew the issue's lease while the agent runs, so it never returns to ready under a live worker;
        only when less than half of it is left, and never by claiming it again (``tracker.writes.renew``)."""

        interval = max(1.0, self.spec.lease_s / 3)
        conn = db.connect(self.spec.db_file, create=False)
        try:
            while not self.finished.wait(interval):
                try:
                    writes.renew(conn, self.spec.issue, self.spec.actor, time.time(), self.spec.lease_s, take=False)
                except Exception as exc:  # a locked or failing database must not end the renewals
                    self.pane.say(f"warning: lease not renewed: {exc}")
        finally:
            conn.close()

    def stderr_tail(self) -> str:
        try:
            with (self.log_dir / "stderr.log").open("rb") as err:
                err.seek(0, os.SEEK_END)
                err.seek(max(0, err.tell() - STDERR_TAIL))
                return err.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def finish(self, code: int | None, start_error: str | None) -> int:
        self.close_channel()  # the agent has ended: nothing may act as it any more
        state = self.state
        if self.stop_signal is not None:
            outcome, error = "killed", f"stopped by signal {self.stop_signal}"
        elif start_error is None and code == 0 and not state.failed:
            outcome, error = "done", None
        else:
            outcome = "failed"
            tail = self.stderr_tail()
            detail = tail.splitlines()[-1] if tail else (state.errors[-1] if state.errors else "")
            error = start_error or f"the agent exited with status {code}" + (f": {detail}" if detail else "")
            if tail:
                error += "\n" + tail
        wip = None
        try:
            why = f"uncommitted when the agent ended: {outcome}"
            wip = save_wip(Path(self.spec.cwd), self.spec.issue, why, confine=self.spec.sandbox)  # as the agent
        except ShopfloorError as exc:
            error = (error + "\n" if error else "") + f"could not save uncommitted work: {exc}"
        if wip:
            self.pane.say(f"saved uncommitted work as {wip[:12]}")
        self.bring_back()
        self.record(
            **self.totals(), state=outcome, exit_code=code, error=error, wip_commit=wip, ended_at=iso(time.time())
        )
        self.pane.say(f"worker {outcome} (exit status {code})" + (f": {error.splitlines()[0]}" if error else ""))
        return 0 if outcome == "done" else 1


def refusals(log_dir: str, generation: int) -> list[str]:
    """The refusal lines the channel gave the agent in ``generation`` (oldest first)."""
    found = []
    try:
        with open(os.path.join(log_dir, REFUSALS), encoding="utf-8") as source:
            for line in source:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and record.get("generation") == generation:
                    found.append(str(record.get("refused", "")))
    except OSError:
        return []
    return found


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m shopfloor.workers.shim SPEC_FILE", file=sys.stderr)
        return 2
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        shim = Shim(read(Path(args[0])))
    except ShopfloorError as exc:
        print(f"shim: {exc}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, shim.on_stop)
    signal.signal(signal.SIGINT, shim.on_stop)
    return shim.run()


if __name__ == "__main__":
    sys.exit(main())
