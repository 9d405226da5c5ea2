"""Running one configured check: its own process group, a timeout, bounded output.

Output is read from a pipe into a bounded head and tail, never kept whole in memory or on
disk: a check that prints gigabytes leaves a bounded excerpt and uses no disk. When the
check ends, for any reason, its whole process group is killed, so nothing it started lingers.
A missing command is an ``error`` naming it. Every live group is registered, so an
interrupted gate can kill them all (``kill_all``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shopfloor.errors import ShopfloorError
from shopfloor.gate.config import Check
from shopfloor.gate.findings import Finding, parse
from shopfloor.gate.junit import Counts, read_counts
from shopfloor.gate.results import CheckResult, excerpt
from shopfloor.gate.signature import signature

HEAD_BYTES = 256 * 1024
TAIL_BYTES = 256 * 1024
KILL_GRACE_S = 3.0
_LIVE: set[int] = set()
_LIVE_LOCK = threading.Lock()
_CANCELLED = threading.Event()  # set by kill_all: no new check may start


class Output:
    """The first and the last bytes of a stream, however long it is."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        room = HEAD_BYTES - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > TAIL_BYTES:
                cut = len(self.tail) - TAIL_BYTES
                self.dropped += cut
                del self.tail[:cut]

    def note(self, text: str) -> None:
        self.add(text.encode())

    def text(self) -> str:
        gap = f"\n… ({self.dropped} bytes not shown) …\n".encode() if self.dropped else b""
        return bytes(self.head + gap + self.tail).decode("utf-8", "replace")


class Interrupted(ShopfloorError):
    """A gate whose checks were killed (``Group.kill``, ``kill_all``): what they returned is no
    verdict, and is not recorded."""


class Group:
    """The checks of one gate. When that gate fails or is interrupted, its own checks are killed
    and no more of them start; the other gates running beside it (``floor.gatepool``) go on."""

    def __init__(self) -> None:
        self.pgids: set[int] = set()
        self.stopped = threading.Event()

    def kill(self) -> None:
        self.stopped.set()
        with _LIVE_LOCK:
            groups = list(self.pgids)
        for pgid in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)

    def cancelled(self) -> bool:
        return self.stopped.is_set() or _CANCELLED.is_set()


def kill_all() -> None:
    """Kill every check still running, and start no more (an interrupted gate must not leave them behind)."""
    _CANCELLED.set()
    with _LIVE_LOCK:
        groups = list(_LIVE)
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


def _kill_group(pgid: int, confined: bool = False) -> None:
    """SIGTERM, a grace period, then SIGKILL. A sandbox's group is killed at once: the init of its
    pid namespace ignores SIGTERM from outside, and the whole namespace dies with it anyway."""
    for sig in (signal.SIGKILL,) if confined else (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + (KILL_GRACE_S if sig == signal.SIGTERM else 0)
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.05)


@dataclass(frozen=True)
class Outcome:
    status: str  # pass, fail, error, timeout
    code: int | None


def _missing(command: str, cwd: Path, env: dict[str, str]) -> bool:
    """Whether a command is not found (checked before a sandbox runs it: bwrap would report it as a failure)."""
    if "/" in command:
        return not (cwd / command).exists()
    return shutil.which(command, path=env.get("PATH", os.defpath)) is None


def run_argv(
    argv: list[str],
    cwd: Path,
    out: Output,
    timeout_s: float,
    env: dict[str, str],
    confined: Sequence[str] = (),
    group: Group | None = None,
) -> Outcome:
    """Run ``argv`` in its own process group; ``confined`` is a sandbox's argv prefix (or empty);
    ``group``: the gate it belongs to (killed with it)."""
    group = group if group is not None else Group()
    if group.cancelled():
        out.note("cancelled: the gate was interrupted\n")
        return Outcome("error", None)
    if confined and _missing(argv[0], cwd, env):
        out.note(f"command not found: {argv[0]}: install it, or fix the check's argv\n")
        return Outcome("error", None)
    try:
        proc = subprocess.Popen(
            [*confined, *argv],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except FileNotFoundError:
        out.note(f"command not found: {argv[0]}: install it, or fix the check's argv\n")
        return Outcome("error", None)
    except PermissionError:
        out.note(f"command not executable: {argv[0]}\n")
        return Outcome("error", None)
    with _LIVE_LOCK:
        _LIVE.add(proc.pid)
        group.pgids.add(proc.pid)
    if group.cancelled():  # interrupted while this one was being started
        _kill_group(proc.pid, bool(confined))
    assert proc.stdout is not None
    reader = threading.Thread(target=_pump, args=(proc.stdout, out), daemon=True)
    reader.start()
    try:
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid, bool(confined))
            proc.wait()
            reader.join(timeout=5)
            out.note(f"\ntimed out after {timeout_s:g} s: the check's process group was killed\n")
            return Outcome("timeout", None)
        return Outcome("pass" if code == 0 else "fail", code)
    finally:
        _kill_group(proc.pid, bool(confined))  # whatever the check started in its group goes with it
        reader.join(timeout=5)
        with _LIVE_LOCK:
            _LIVE.discard(proc.pid)
            group.pgids.discard(proc.pid)


def _pump(stream: object, out: Output) -> None:
    read = stream.read1  # type: ignore[attr-defined]
    while True:
        chunk = read(65536)
        if not chunk:
            return
        out.add(chunk)


def run_setup(
    check: Check, cwd: Path, env: dict[str, str], confined: Sequence[str] = (), group: Group | None = None
) -> tuple[Outcome, Output]:
    out = Output()
    for setup in check.setup:
        outcome = run_argv(list(setup), cwd, out, check.timeout_s, env, confined, group)
        if outcome.status != "pass":
            return Outcome("error" if outcome.status == "fail" else outcome.status, outcome.code), out
    return Outcome("pass", 0), out


def run_check(
    check: Check,
    cwd: Path,
    run_dir: Path,
    env: dict[str, str],
    attempt: int = 1,
    confined: Sequence[str] = (),
    group: Group | None = None,
) -> CheckResult:
    """The check itself (its setup has run); the result carries an excerpt, a signature and junit counts."""
    junit = run_dir / f"{check.name}.{attempt}.junit.xml"
    started = time.monotonic()
    out = Output()
    argv = [part.replace("{junit}", str(junit)) for part in check.argv]
    outcome = run_argv(argv, cwd, out, check.timeout_s, env, confined, group)
    status = outcome.status
    counts = read_counts(junit) if check.junit else None
    if check.junit and counts is None and status in ("pass", "fail"):
        out.note(f"\nno readable junit XML at {junit}: the check must write it (junit = true)\n")
        status = "error"
    text = out.text()
    try:
        found = () if status == "pass" else tuple(parse(check.name, text, (str(cwd),)) or ()) or None
    except (ValueError, RecursionError, MemoryError):  # output built to break the parser: no findings
        found = None
    if status in ("timeout", "error") or out.dropped:
        found = None  # cut short, or too long to keep whole: what is left is not the whole list
    return finish(check.name, status, outcome.code, text, started, counts, found)


def finish(
    name: str,
    status: str,
    code: int | None,
    output: str,
    started: float,
    counts: object = None,
    findings: tuple[Finding, ...] | None = None,
) -> CheckResult:
    junit = (counts.collected, counts.failed, counts.skipped) if isinstance(counts, Counts) else None
    return CheckResult(
        name=name,
        status=status,
        duration_s=round(time.monotonic() - started, 3),
        exit_code=code,
        excerpt=excerpt(output) if status != "pass" else "",
        signature=signature(name, output, status) if status != "pass" else None,
        junit=junit,
        findings=findings,
    )
