"""Where a worker's shim runs: a tmux session (the human's window), or a detached process.

tmux is only a window: the shim is started directly from an argv list (tmux runs a
multi-argument command without a shell), and the agent is driven through its structured
stream, never by typing keys. Session names carry a key of the repository, so workers of
two repositories on one machine never collide. Without tmux (CI, containers) the same shim
runs as a detached process in a session of its own.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopfloor.errors import ConflictError, ShopfloorError, UsageError

TERMINAL_ENV = "SHOPFLOOR_TERMINAL"
KINDS = ("tmux", "detached")
TMUX_INSTALL = "install tmux (apt-get install tmux), or run detached with --terminal detached"


@dataclass(frozen=True)
class Launched:
    terminal: str  # "tmux:<session>" or "detached"
    pid: int  # the shim's


def choose(requested: str | None) -> str:
    kind = requested or os.environ.get(TERMINAL_ENV) or ("tmux" if shutil.which("tmux") else "detached")
    if kind not in KINDS:
        raise UsageError(f"unknown terminal {kind!r}: use tmux or detached")
    if kind == "tmux" and not shutil.which("tmux"):
        raise ShopfloorError(f"tmux is not installed: {TMUX_INSTALL}")
    return kind


def session_name(common_dir: str, worker: str) -> str:
    """``sf-<repo>-<hash of the repository's git dir>-<worker>``, with only characters tmux accepts."""
    repo = Path(common_dir).resolve()
    label = repo.parent.name if repo.name == ".git" else repo.name
    key = hashlib.blake2b(str(repo).encode(), digest_size=3).hexdigest()
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", worker)
    if cleaned != worker:  # t-a.b and t-a_b must not share a session
        cleaned += "-" + hashlib.blake2b(worker.encode(), digest_size=2).hexdigest()
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"sf-{label[:20]}-{key}-") + cleaned


def shim_argv(spec_file: Path) -> list[str]:
    return [sys.executable, "-m", "shopfloor.workers.shim", str(spec_file)]


def _server() -> Any:
    import libtmux  # lazy: about 50 ms to import; detached workers and `worker list` never need it

    return libtmux.Server()


def launch(kind: str, session: str, spec_file: Path, cwd: str, log_dir: Path) -> Launched:
    argv = shim_argv(spec_file)
    if kind == "detached":
        try:
            with (log_dir / "shim.err").open("ab") as err:
                proc = subprocess.Popen(
                    argv,
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    start_new_session=True,
                )
        except OSError as exc:
            raise ShopfloorError(f"cannot start the worker's shim in {cwd} ({exc.strerror or exc})") from None
        return Launched("detached", proc.pid)
    server = _server()
    if server.has_session(session):
        raise ConflictError(f"tmux session {session} already exists: stop it with `tmux kill-session -t ={session}`")
    # Keep the window after the shim ends, so a human can read how it ended (`worker rm` closes it);
    # set in the same command list, before the shim could possibly exit.
    done = server.cmd(
        "new-session",
        "-d",
        "-s",
        session,
        "-c",
        cwd,
        "-x",
        "160",
        "-y",
        "48",
        "-P",
        "-F",
        "#{pane_pid}",
        *argv,
        ";",
        "set-option",
        "-t",
        f"={session}:",
        "remain-on-exit",
        "on",
    )
    if done.returncode != 0 or not done.stdout or not done.stdout[0].strip().isdigit():
        raise ShopfloorError(f"tmux could not start a session: {' '.join(done.stderr) or 'no output'}")
    return Launched(f"tmux:{session}", int(done.stdout[0]))


def session_exists(session: str) -> bool:
    if not shutil.which("tmux"):
        return False
    return bool(_server().has_session(session))


def close(session: str | None) -> None:
    if session and session_exists(session):
        _server().cmd("kill-session", "-t", f"={session}")


def attach_argv(session: str) -> list[str]:
    """Switch the current client when already inside tmux; attach a new one otherwise."""
    return ["tmux", "switch-client" if os.environ.get("TMUX") else "attach-session", "-t", f"={session}"]
