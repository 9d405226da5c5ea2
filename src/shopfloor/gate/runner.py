"""Running one configured check: its own process group, a timeout, bounded output.

Output goes to a file, never into memory whole: a check that prints 100 MB leaves a bounded
excerpt. A timeout kills the check's whole process group (TERM, then KILL), so nothing it
started lingers. A missing command is an ``error`` naming it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from shopfloor.gate.config import Check
from shopfloor.gate.junit import read_counts
from shopfloor.gate.results import CheckResult, excerpt
from shopfloor.gate.signature import signature

HEAD_BYTES = 256 * 1024
TAIL_BYTES = 256 * 1024
KILL_GRACE_S = 3.0


def read_bounded(path: Path) -> str:
    """The head and the tail of a (possibly huge) output file, decoded with replacement."""
    size = path.stat().st_size
    with path.open("rb") as out:
        if size <= HEAD_BYTES + TAIL_BYTES:
            data = out.read()
        else:
            head = out.read(HEAD_BYTES)
            out.seek(size - TAIL_BYTES)
            data = head + f"\n… ({size - HEAD_BYTES - TAIL_BYTES} bytes not shown) …\n".encode() + out.read()
    return data.decode("utf-8", "replace")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=KILL_GRACE_S)
            # The leader is gone; make sure the rest of its group is too.
            os.killpg(proc.pid, signal.SIGKILL)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            continue
        return


def run_argv(argv: list[str], cwd: Path, log: Path, timeout_s: float, env: dict[str, str]) -> tuple[str, int | None]:
    """Run one command; returns (status, exit code). Status: pass, fail, error, timeout."""
    with log.open("ab") as out:
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except FileNotFoundError:
            out.write(f"command not found: {argv[0]}: install it, or fix the check's argv\n".encode())
            return "error", None
        except PermissionError:
            out.write(f"command not executable: {argv[0]}\n".encode())
            return "error", None
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out.write(f"\ntimed out after {timeout_s:g} s: the check's process group was killed\n".encode())
            return "timeout", None
        except BaseException:
            _kill_group(proc)
            raise
    return ("pass" if code == 0 else "fail"), code


def run_check(check: Check, cwd: Path, run_dir: Path, env: dict[str, str], attempt: int = 1) -> CheckResult:
    """Setup commands, then the check itself; the result carries an excerpt and a signature."""
    log = run_dir / f"{check.name}.{attempt}.log"
    junit = run_dir / f"{check.name}.junit.xml"
    started = time.monotonic()
    status, code = "pass", None
    for setup in check.setup:
        status, code = run_argv(list(setup), cwd, log, check.timeout_s, env)
        if status != "pass":
            status = "error" if status == "fail" else status
            break
    if status == "pass":
        argv = [part.replace("{junit}", str(junit)) for part in check.argv]
        status, code = run_argv(argv, cwd, log, check.timeout_s, env)
    output = read_bounded(log) if log.exists() else ""
    shown = excerpt(output) if status != "pass" else ""
    counts = read_counts(junit) if check.junit else None
    return CheckResult(
        name=check.name,
        status=status,
        duration_s=round(time.monotonic() - started, 3),
        exit_code=code,
        excerpt=shown,
        signature=signature(check.name, output, status) if status != "pass" else None,
        junit=(counts.collected, counts.failed, counts.skipped) if counts else None,
    )
