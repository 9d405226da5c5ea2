"""The bubblewrap sandbox: the policy (pure), real confinement, and the gate's checks inside it.

Each case runs real bwrap: a confined process writes only where it may, cannot see what is
hidden, and a candidate's test that tries to move main or rewrite the tracker during the gate
changes nothing outside its checkout.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import Runner, _require
from gatekit import GATE, candidate, gate, make_project, status
from shopfloor.errors import ShopfloorError
from shopfloor.sandbox import bwrap
from shopfloor.sandbox.config import parse
from shopfloor.sandbox.policy import Confinement, bwrap_argv

PY = sys.executable


@pytest.fixture(autouse=True)
def _bubblewrap() -> None:
    _require("bwrap", "apt-get install bubblewrap")


def run_confined(confinement: Confinement, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*bwrap.prefix(confinement), "sh", "-c", script], capture_output=True, text=True, timeout=60, check=False
    )


# --- the policy (pure) ---


def test_every_tmpfs_comes_before_the_binds_that_reopen_paths_below_it() -> None:
    argv = bwrap_argv(
        "bwrap",
        Confinement(
            workdir="/w/ws",
            writable=("/h/hidden/home",),
            hidden=("/h/hidden", "/h"),
            readonly=(("/creds", "/h/hidden/home/creds"),),
            network=False,
        ),
    )
    pairs = [(argv[i], argv[i + 1]) for i in range(len(argv) - 1) if argv[i].startswith("--")]
    order = [flag for flag, _ in pairs if flag in ("--tmpfs", "--bind", "--ro-bind")]
    assert order[:2] == ["--ro-bind", "--tmpfs"]  # the read-only root first
    assert [p for f, p in pairs if f == "--tmpfs"] == ["/h", "/h/hidden"]  # outermost first
    last_tmpfs = max(i for i, a in enumerate(argv) if a == "--tmpfs")
    assert all(i > last_tmpfs for i, a in enumerate(argv) if a == "--bind")
    assert "--unshare-net" in argv and argv[-3:] == ["--chdir", "/w/ws", "--"]
    assert "--unshare-net" not in bwrap_argv("bwrap", Confinement(workdir="/w"))


def test_relative_or_root_paths_are_refused() -> None:
    with pytest.raises(ShopfloorError, match="absolute path"):
        bwrap_argv("bwrap", Confinement(workdir="ws"))
    with pytest.raises(ShopfloorError, match="absolute path"):
        bwrap_argv("bwrap", Confinement(workdir="/w", hidden=("/",)))


def test_the_sandbox_table_is_checked() -> None:
    assert parse({"sandbox": {"network": False, "writable": ["~/.cache/pip"]}}, "c.toml").network is False
    with pytest.raises(ShopfloorError, match=r"sandbox\.network must be true or false"):
        parse({"sandbox": {"network": "no"}}, "c.toml")
    with pytest.raises(ShopfloorError, match="unknown key"):
        parse({"sandbox": {"netwrok": False}}, "c.toml")
    with pytest.raises(ShopfloorError, match="absolute path"):
        parse({"sandbox": {"writable": ["cache"]}}, "c.toml")


# --- real confinement ---


def test_a_confined_process_writes_only_where_it_may_and_sees_nothing_hidden(tmp_path: Path) -> None:
    ws, secret, outside = tmp_path / "ws", tmp_path / "secret", tmp_path / "outside.txt"
    secret.mkdir()
    (secret / "tracker.db").write_text("the database")
    (secret / "creds").write_text("token")
    home = secret / "w1" / "home"
    confinement = Confinement(
        workdir=str(ws),
        writable=(str(home),),
        hidden=(str(secret),),
        readonly=((str(secret / "creds"), str(home / "creds")),),
    )
    done = run_confined(
        confinement,
        f"echo work > mine.txt; echo nope > {outside}; cat {secret}/tracker.db; cat {home}/creds; "
        f"echo x > {home}/creds; echo state > {home}/state; ls {secret}",
    )
    assert (ws / "mine.txt").read_text() == "work\n"
    assert not outside.exists() and "Read-only file system" in done.stderr
    assert "the database" not in done.stdout  # hidden behind an empty tmpfs
    assert "token" in done.stdout and (secret / "creds").read_text() == "token"  # shown, read-only
    assert (home / "state").read_text() == "state\n"
    assert (secret / "tracker.db").read_text() == "the database"


def test_without_network_a_confined_process_cannot_reach_a_local_server(tmp_path: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    threading.Thread(target=lambda: server.accept(), daemon=True).start()
    probe = f"{PY} -c \"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5); print('connected')\""
    try:
        cut = run_confined(Confinement(workdir=str(tmp_path / "a"), network=False), probe)
        open_ = run_confined(Confinement(workdir=str(tmp_path / "b"), network=True), probe)
    finally:
        server.close()
    assert "connected" not in cut.stdout and cut.returncode != 0
    assert "connected" in open_.stdout


def test_a_missing_bwrap_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(bwrap.BINARY_ENV, "/nonexistent/bwrap")
    with pytest.raises(ShopfloorError, match=r"bubblewrap is not installed: install bubblewrap \(apt-get install"):
        bwrap.require()


# --- the gate's checks run confined ---

ATTACK = """import os, sqlite3, subprocess

MAIN = {main!r}


def test_move_main_and_close_the_issue() -> None:
    head = subprocess.run(["git", "-C", MAIN, "rev-parse", "refs/heads/cheat"], capture_output=True, text=True)
    subprocess.run(["git", "-C", MAIN, "update-ref", "refs/heads/main", head.stdout.strip()])
    db = os.path.join(MAIN, ".git", "shopfloor", "tracker.db")
    try:
        sqlite3.connect(db).execute("UPDATE issues SET status = 'closed'")
    except sqlite3.Error:
        pass
    try:
        open(os.path.join(MAIN, "calc.py"), "a").write("# touched by a test\\n")
    except OSError:
        pass
"""


def test_a_candidates_test_cannot_move_main_or_touch_the_tracker_during_the_gate(sf: Runner) -> None:
    make_project(sf, GATE)
    issue = sf.json("create", "an open issue")["id"]
    main_before = sf.git("rev-parse", "main").strip()
    calc_before = (sf.cwd / "calc.py").read_text()
    rev = candidate(sf, "cheat", {"tests/test_attack.py": ATTACK.format(main=str(sf.cwd))})
    report = gate(sf, rev)
    assert report["sandbox"] == "bwrap"
    assert status(report)["tests"] in ("pass", "fail")  # whatever it reports, nothing moved:
    assert sf.git("rev-parse", "main").strip() == main_before
    assert sf.json("show", issue)["status"] == "open"
    assert (sf.cwd / "calc.py").read_text() == calc_before


def test_no_sandbox_runs_unconfined_and_never_shares_the_cache(sf: Runner) -> None:
    make_project(sf, GATE)
    rev = candidate(sf, "fine", {"calc.py": "def add(a: int, b: int) -> int:\n    return b + a\n"})
    confined = gate(sf, rev)
    open_ = gate(sf, rev, "--no-sandbox")
    assert confined["sandbox"] == "bwrap" and open_["sandbox"] == "none"
    assert confined["env"] != open_["env"] and not open_["cached"]
    assert gate(sf, rev)["cached"]


def test_a_gate_run_inside_a_worker_is_advisory_and_never_cached(sf: Runner) -> None:
    make_project(sf, GATE)
    rev = candidate(sf, "fine", {"calc.py": "def add(a: int, b: int) -> int:\n    return b + a\n"})
    inside = dict(sf.env, SHOPFLOOR_WORKER="t-abc")
    done = sf("gate", "run", rev, check=False, env=inside)
    assert done.returncode == 0 and "advisory run" in done.stderr
    runs = sf.json("gate", "list")
    assert runs[0]["advisory"] is True
    # The floor's own run does not replay it.
    assert gate(sf, rev)["cached"] is False


def test_run_refuses_without_bubblewrap_and_claims_nothing(sf: Runner) -> None:
    make_project(sf, GATE)
    issue = sf.json("create", "ready work")["id"]
    env = dict(sf.env, SHOPFLOOR_BWRAP="/nonexistent/bwrap")
    done = sf("run", "--agent", "scripted", "--until-idle", check=False, env=env)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "error: bubblewrap is not installed: install bubblewrap (apt-get install bubblewrap), "
        "or pass --no-sandbox to run agents unconfined"
    ]
    assert sf.json("show", issue)["status"] == "open"


def test_the_advisory_flag_is_in_the_report_json(sf: Runner) -> None:
    make_project(sf, GATE)
    report = gate(sf, "main")
    assert report["advisory"] is False
    assert sf.json("gate", "show", str(report["id"]))["advisory"] is False


def test_a_workers_confinement_is_its_workspace_a_private_home_and_its_own_channel() -> None:
    from shopfloor.agents import registry
    from shopfloor.sandbox.config import SandboxConfig
    from shopfloor.workers.confine import worker_confinement

    confinement, changes = worker_confinement(
        registry.get("claude"),
        SandboxConfig(network=False, writable=("/cache",)),
        workspace=Path("/r.floor/t-1"),
        log_dir=Path("/r/.git/shopfloor/workers/t-1"),
        hidden=("/r/.git/shopfloor", "/r.floor"),
        env={"HOME": "/home/u", "CLAUDE_CONFIG_DIR": "/home/u/.claude-work", "PATH": "/usr/bin"},
        channel_dir="/tmp/sf-0/abcd1234",
    )
    home = "/r/.git/shopfloor/workers/t-1/home"
    assert changes == {"HOME": home, "TMPDIR": "/r/.git/shopfloor/workers/t-1/tmp"}
    assert confinement.workdir == "/r.floor/t-1" and not confinement.network
    assert set(confinement.writable) == {home, changes["TMPDIR"], "/home/u/.claude-work", "/cache"}
    assert set(confinement.hidden) == {"/r/.git/shopfloor", "/r.floor", "/tmp/sf-0"}  # the other channels too
    assert ("/tmp/sf-0/abcd1234", "/tmp/sf-0/abcd1234") in confinement.readonly
    assert ("/home/u/.claude/.credentials.json", f"{home}/.claude/.credentials.json") in confinement.readonly
    assert ("/home/u/.gitconfig", f"{home}/.gitconfig") in confinement.readonly
