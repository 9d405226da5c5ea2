"""Shared fixtures: real git repositories and the real `shopfloor` entry point in a subprocess."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

SHOPFLOOR = Path(sys.executable).parent / "shopfloor"


def _require(tool: str, install: str) -> str:
    found = shutil.which(tool)
    if not found:
        pytest.fail(f"{tool} is required for these tests: install it ({install})", pytrace=False)
    return found


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "SHOPFLOOR_"))}
    env.update(
        HOME=str(tmp_path / "home"),
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


class Runner:
    """Runs the installed `shopfloor` console script, the way users and agents do."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.env = env

    def __call__(
        self,
        *args: str | bytes,
        cwd: Path | None = None,
        input: str | bytes | None = None,
        actor: str | None = None,
        check: bool = True,
        env: dict[str, str] | None = None,
        timeout: float = 600.0,  # a command that hangs fails its test instead of stalling the suite
    ) -> subprocess.CompletedProcess[str]:
        run_env = dict(self.env)
        if actor:
            run_env["SHOPFLOOR_ACTOR"] = actor
        if env:
            run_env.update(env)
        data = input.encode() if isinstance(input, str) else input
        done = subprocess.run(
            [str(SHOPFLOOR), *args],
            cwd=cwd or self.cwd,
            input=data,
            capture_output=True,
            env=run_env,
            check=False,
            timeout=timeout,
        )
        result = subprocess.CompletedProcess(
            done.args, done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
        )
        if check and result.returncode != 0:
            raise AssertionError(f"shopfloor {args} failed ({result.returncode}): {result.stderr}")
        return result

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


@pytest.fixture
def sf(tmp_path: Path, git_repo: Callable[[str], Path]) -> Runner:
    """A runner inside a fresh git repository already set up with `shopfloor init --prefix t`."""
    repo = git_repo("repo")
    runner = Runner(repo, base_env(tmp_path))
    runner("init", "--prefix", "t")
    return runner


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
def floor(tmp_path: Path, git_repo: Any, tmux_dir: str) -> Iterator[Runner]:
    """A set-up repository with one commit, a private tmux server, and the scripted agent as default."""
    repo = git_repo("repo")
    env = base_env(tmp_path)
    env["TMUX_TMPDIR"] = tmux_dir
    env.pop("TMUX", None)
    runner = Runner(repo, env)
    runner("init", "--prefix", "t")
    runner.git("add", "-A")
    runner.git("commit", "-qm", "set up shopfloor")
    yield runner
    # Stop whatever a test left running (detached shims outlive the test otherwise).
    done = runner("worker", "list", "--json", check=False)
    for worker in json.loads(done.stdout or "[]"):
        if worker["state"] in ("starting", "running"):
            for pid in (worker["agent_pid"], worker["pid"]):
                if pid:
                    with contextlib.suppress(OSError):
                        os.killpg(pid, signal.SIGKILL)
