"""Shared fixtures: real git repositories and the `shopfloor` command, run in-process through
``main(argv)`` or as the real console script (see ``Runner``)."""

from __future__ import annotations

import atexit
import contextlib
import faulthandler
import gc
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

SHOPFLOOR = Path(sys.executable).parent / "shopfloor"

# The browser layer's fixtures (tests/browser/browserkit.py: chromium through Playwright, a real
# `shopfloor dashboard`), registered here: a second conftest.py would be a second module named
# `conftest`, and the layers' `from conftest import ...` would find the wrong one.
pytest_plugins = ["browserkit"]


DASHBOARD_URL = re.compile(r"http://127\.0\.0\.1:(\d+)/")


def dashboard_port(printed: str) -> int | None:
    """The port a `shopfloor dashboard --port 0` printed (it listens before it prints), or None."""
    found = DASHBOARD_URL.search(printed)
    return int(found.group(1)) if found else None


def _require(tool: str, install: str) -> str:
    found = shutil.which(tool)
    if not found:
        pytest.fail(f"{tool} is required for these tests: install it ({install})", pytrace=False)
    return found


_GIT_TEMPLATE: list[str] = []


def git_template() -> str:
    """git's default template without its sample hooks: every `git init` and `git clone` in the
    suite (the tests', the floor's, the agents') copies the template, and the inert ``*.sample``
    files were about a third of the files the suite writes (and deletes again)."""
    if not _GIT_TEMPLATE:
        found = subprocess.run(["git", "var", "GIT_TEMPLATE_DIR"], capture_output=True, text=True, check=False)
        source = Path((found.returncode == 0 and found.stdout.strip()) or "/usr/share/git-core/templates")
        path = Path(tempfile.mkdtemp(prefix="sf-git-template-"))
        if source.is_dir():
            shutil.copytree(source, path, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.sample"))
        (path / "hooks").mkdir(exist_ok=True)
        atexit.register(shutil.rmtree, path, True)
        _GIT_TEMPLATE.append(str(path))
    return _GIT_TEMPLATE[0]


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "SHOPFLOOR_"))}
    env.update(
        HOME=str(tmp_path / "home"),
        GIT_TEMPLATE_DIR=git_template(),
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.com",
        GIT_CONFIG_NOSYSTEM="1",
        SHOPFLOOR_ACTOR="tester",
        # The scripted agent's sessions, where tests read them: an agent's HOME is private in its
        # sandbox, and this variable names the state directory the sandbox lets it write.
        SHOPFLOOR_SCRIPTED_HOME=str(tmp_path / "home" / ".shopfloor" / "scripted"),
        PATH=f"{SHOPFLOOR.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    (tmp_path / "home").mkdir(exist_ok=True)
    # The floor admits agents by the machine's memory and load (floor.admission): the suite's floors
    # must not wait on how loaded the test machine is, so they read a healthy machine.
    machine = tmp_path / "home" / "machine-reading.json"
    machine.write_text('{"free_mb": 65536, "load": 0.0}')
    env["SHOPFLOOR_MACHINE_READING"] = str(machine)
    return env


# Commands that must be a real process, whatever the test asks: the floor and the demo run until
# stopped and handle signals; `scripted-model` serves until killed; `merge-driver` is what git runs;
# `worker start`/`restart` fork a detached shim and record this process's pid as the worker's until
# the shim runs (in-process, that would be the test's own pid); `worker attach` hands the terminal
# to tmux.
_REAL_PROCESS = {("run",), ("demo",), ("scripted-model",), ("merge-driver",)}
_REAL_PROCESS_WORKER = {"start", "restart", "attach"}
# Variables read once at interpreter start (the text encodings) or that crash the process on purpose
# (a fault point SIGKILLs its own pid): a call that sets one runs as a real process.
_REAL_ENV = ("SHOPFLOOR_FAULT", "PYTHON", "LANG", "LC_")


def _subcommand(args: list[str]) -> tuple[str, ...]:
    """The command and its action (``worker start``), skipping the global options before them."""
    words: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--actor":
            skip = True
        elif not arg.startswith("-"):
            words.append(arg)
            if len(words) == 2:
                break
    return tuple(words)


def needs_process(args: list[str], env: dict[str, str] | None) -> bool:
    """Whether a call must start the real console script rather than run ``main(argv)`` here."""
    command = _subcommand(args)
    if command[:1] and command[:1] in _REAL_PROCESS:
        return True
    if command[:1] == ("worker",) and command[1:2] and command[1] in _REAL_PROCESS_WORKER:
        return True
    return any(key.startswith(_REAL_ENV) for key in env or {})


class _Output(io.TextIOWrapper):
    """A captured stdout or stderr with a ``.buffer``, like the real streams of a pipe."""

    def __init__(self, errors: str) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8", errors=errors, line_buffering=False, write_through=True)

    def text(self) -> str:
        self.flush()
        raw = self.buffer
        assert isinstance(raw, io.BytesIO)
        return raw.getvalue().decode("utf-8", "replace")


def _open_fds() -> set[str]:
    try:
        return set(os.listdir("/proc/self/fd"))
    except OSError:  # not Linux: no check
        return set()


def _reset_process_caches() -> None:
    """Module-level caches a fresh interpreter would start without."""
    bwrap = sys.modules.get("shopfloor.sandbox.bwrap")
    if bwrap is not None:
        bwrap._WORKS.clear()


def run_in_process(
    args: list[str], cwd: Path, env: dict[str, str], data: bytes | None
) -> subprocess.CompletedProcess[str]:
    """``shopfloor *args`` as ``main(argv)`` in this interpreter, as if it were a new process.

    The call sees exactly ``env`` as its environment, ``cwd`` as its directory, ``data`` on stdin and
    ``sys.argv[0]`` naming the console script (agents and hooks find ``shopfloor`` by it). Afterwards
    the test process is as it was: environment (``--no-sandbox`` writes SHOPFLOOR_SANDBOX), directory,
    streams, argv, signal handlers (the gate installs its own), and no file descriptor or thread
    the command opened is left behind (a leak fails the call: a real process would have exited).
    """
    from shopfloor.cli.main import main

    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_argv = sys.argv
    saved_streams = (sys.stdin, sys.stdout, sys.stderr)
    saved_signals = {sig: signal.getsignal(sig) for sig in _HANDLED_SIGNALS}
    fds_before = _open_fds()
    threads_before = set(threading.enumerate())
    out, err = _Output("surrogateescape"), _Output("backslashreplace")
    stdin = io.TextIOWrapper(io.BytesIO(data or b""), encoding="utf-8", errors="surrogateescape")
    _reset_process_caches()
    # A command that hangs kills this test process with every thread's traceback instead of
    # stalling the suite (the subprocess path has timeout= for the same reason).
    faulthandler.dump_traceback_later(IN_PROCESS_LIMIT_S, exit=True)
    try:
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        sys.argv = [str(SHOPFLOOR), *args]
        sys.stdin, sys.stdout, sys.stderr = stdin, out, err
        try:
            code = main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if exc.code is not None and not isinstance(exc.code, int):
                print(exc.code, file=err)
        except BaseException:  # what the interpreter would print before exiting 1 (SHOPFLOOR_DEBUG=1)
            traceback.print_exc(file=err)
            code = 1
    finally:
        faulthandler.cancel_dump_traceback_later()
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        for sig, handler in saved_signals.items():
            if signal.getsignal(sig) is not handler and handler is not None:
                signal.signal(sig, handler)
        _reset_process_caches()
        stdin.close()
    leaks = _leaks(fds_before, threads_before)
    result = subprocess.CompletedProcess([str(SHOPFLOOR), *args], code, out.text(), err.text())
    out.close()
    err.close()
    if leaks:
        raise AssertionError(f"shopfloor {args} left {leaks} behind in the test process (exit {code}): {result.stderr}")
    return result


IN_PROCESS_LIMIT_S = 600.0
# SHOPFLOOR_TESTS_REAL_PROCESS=1 runs every call as a real process (the suite as it was): to tell
# whether a failure comes from running in-process.
ALL_REAL_PROCESS = os.environ.get("SHOPFLOOR_TESTS_REAL_PROCESS") == "1"
_HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE, signal.SIGCHLD, signal.SIGALRM)


# The threads of the test harness itself (xdist's channel): any other thread alive before a call is
# the test's own, and the files it opens meanwhile are not the call's.
_HARNESS_THREADS = frozenset(threading.enumerate())


def _leaks(fds_before: set[str], threads_before: set[threading.Thread]) -> str:
    """Threads still running and descriptors still open that the call started (after a moment)."""
    deadline = time.monotonic() + 5.0
    while True:
        threads = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
        if not threads or time.monotonic() > deadline:
            break
        threads[0].join(0.05)
    fds = _open_fds() - fds_before
    if any(t not in _HARNESS_THREADS for t in threads_before if t.is_alive()):
        fds = set()  # the test runs threads of its own beside the call: what they open is theirs
        # A server the test runs (the scripted model server) answers each request in a thread of
        # its own, started whenever an agent asks: one that starts during the call is not the call's.
        threads = [t for t in threads if not t.name.endswith("(process_request_thread)")]
    # An object nobody holds any more but not yet freed is not a leak: the commands leave their
    # tracker's connection to the end of the process, and a sqlite3 connection sits in a cycle
    # with its statement cache, so only the collector frees it. The young generations hold it
    # (cheap); the full collection is the fallback.
    for generation in (1, 2):
        if not fds:
            break
        gc.collect(generation)
        fds = _open_fds() - fds_before
    parts = []
    if threads:
        parts.append("threads " + ", ".join(t.name for t in threads))
    if fds:
        described = []
        for fd in sorted(fds):
            try:
                described.append(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:
                continue  # closed since (the listing's own descriptor)
        if described:
            parts.append("open files " + ", ".join(described))
    return "; ".join(parts)


class Runner:
    """Runs ``shopfloor`` the way users and agents do: by default ``main(argv)`` in this process
    (a new interpreter per call costs about 155 ms), as a real process for the commands that must
    be one (``needs_process``), for calls given ``timeout=``, and always when ``process=True`` (the
    smoke tests of the console script itself)."""

    def __init__(self, cwd: Path, env: dict[str, str], *, process: bool = False) -> None:
        self.cwd = cwd
        self.env = env
        self.process = process or ALL_REAL_PROCESS

    def __call__(
        self,
        *args: str | bytes,
        cwd: Path | None = None,
        input: str | bytes | None = None,
        actor: str | None = None,
        check: bool = True,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
        process: bool | None = None,
    ) -> subprocess.CompletedProcess[str]:
        run_env = dict(self.env)
        if actor:
            run_env["SHOPFLOOR_ACTOR"] = actor
        if env:
            run_env.update(env)
        data = input.encode() if isinstance(input, str) else input
        argv = [os.fsdecode(arg) for arg in args]  # what a real process finds in sys.argv
        real = self.process if process is None else process
        if real or timeout is not None or needs_process(argv, env):
            result = self._subprocess(args, cwd or self.cwd, run_env, data, 600.0 if timeout is None else timeout)
        else:
            result = run_in_process(argv, cwd or self.cwd, run_env, data)
        if check and result.returncode != 0:
            raise AssertionError(f"shopfloor {args} failed ({result.returncode}): {result.stderr}")
        return result

    @staticmethod
    def _subprocess(
        args: tuple[str | bytes, ...], cwd: Path, env: dict[str, str], data: bytes | None, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        # timeout: a command that hangs fails its test instead of stalling the suite
        done = subprocess.run(
            [str(SHOPFLOOR), *args], cwd=cwd, input=data, capture_output=True, env=env, check=False, timeout=timeout
        )
        return subprocess.CompletedProcess(
            done.args, done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
        )

    def json(self, *args: str, **kw: Any) -> Any:
        out = self(*args, "--json", **kw).stdout
        return json.loads(out)

    def git(self, *args: str, cwd: Path | None = None, check: bool = True) -> str:
        done = subprocess.run(
            ["git", *args], cwd=cwd or self.cwd, env=self.env, capture_output=True, text=True, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(f"git {args} failed: {done.stderr}")
        return done.stdout.strip()


@pytest.fixture
def git_repo(tmp_path: Path) -> Callable[[str], Path]:
    _require("git", "apt-get install git")

    def make(name: str = "repo") -> Path:
        path = tmp_path / name
        path.mkdir()
        subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=base_env(tmp_path))
        return path

    return make


@pytest.fixture(scope="session")
def repo_template(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Set-up repositories built once per test process and copied into each test that wants one:
    ``"init"`` is a fresh repository after `shopfloor init --prefix t`, ``"committed"`` the same
    with that set-up committed. Nothing in them names where they live (checked by
    test_runner.py), so a copy is the repository its test would have built."""
    built: dict[str, Path] = {}

    def template(kind: str) -> Path:
        if kind not in built:
            _require("git", "apt-get install git")
            home = tmp_path_factory.mktemp(f"template-{kind}")
            env = base_env(home)
            repo = home / "repo"
            subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=env)
            runner = Runner(repo, env)
            runner("init", "--prefix", "t")
            if kind == "committed":
                runner.git("add", "-A")
                runner.git("commit", "-qm", "set up shopfloor")
            elif kind != "init":
                raise ValueError(kind)
            built[kind] = repo
        return built[kind]

    return template


def copy_template(template: Path, tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(template, repo, symlinks=True)
    return repo


@pytest.fixture
def sf(tmp_path: Path, repo_template: Callable[[str], Path]) -> Runner:
    """A runner inside a fresh git repository already set up with `shopfloor init --prefix t`."""
    return Runner(copy_template(repo_template("init"), tmp_path), base_env(tmp_path))


@pytest.fixture
def bare_runner(tmp_path: Path, git_repo: Callable[[str], Path]) -> Runner:
    """A runner inside a fresh git repository that is not set up yet."""
    return Runner(git_repo("repo"), base_env(tmp_path))


@pytest.fixture
def tmux_dir() -> Iterator[str]:
    """A private tmux server for the test (a short path: tmux sockets have a length limit)."""
    if not shutil.which("tmux"):
        pytest.fail("tmux is required for these tests: install it (apt-get install tmux)", pytrace=False)
    path = tempfile.mkdtemp(prefix="sft")
    yield path
    subprocess.run(["tmux", "kill-server"], env={"TMUX_TMPDIR": path, "PATH": "/usr/bin:/bin"}, capture_output=True)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def floor(tmp_path: Path, repo_template: Callable[[str], Path], tmux_dir: str) -> Iterator[Runner]:
    """A set-up repository with one commit, a private tmux server, and the scripted agent as default."""
    env = base_env(tmp_path)
    env["TMUX_TMPDIR"] = tmux_dir
    env.pop("TMUX", None)
    runner = Runner(copy_template(repo_template("committed"), tmp_path), env)
    yield runner
    # Stop whatever a test left running (detached shims outlive the test otherwise).
    done = runner("worker", "list", "--json", check=False)
    for worker in json.loads(done.stdout or "[]"):
        if worker["state"] in ("starting", "running"):
            for pid in (worker["agent_pid"], worker["pid"]):
                if pid and pid != os.getpid():  # never this test process, whatever a row says
                    with contextlib.suppress(OSError):
                        os.killpg(pid, signal.SIGKILL)
