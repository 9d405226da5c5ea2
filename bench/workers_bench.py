"""Benchmark worker start-up overhead and the shim's idle CPU use.

Run it as ``.venv/bin/python bench/workers_bench.py [--quick]``. It builds a temporary git
repository of 2,000 files, set up for shopfloor, with a private tmux server, and prints one
table of medians with PASS/FAIL against each target (also written as JSON to
``bench/results/workers.json``). A missed target is reported, never raised.

Measures (targets from the issue):
- start overhead: from running ``shopfloor worker start`` to the agent process reporting its
  session (worktree, tmux session or detached process, shim, agent started) <= 1 s median,
  with the scripted agent (whose own run time is ~nothing); baseline: a bare
  ``git worktree add`` of the same repository, timed interleaved in the same process;
- idle CPU: 20 concurrent scripted workers, each inside a long tool call, on this machine:
  the shims and the tmux server together use <= 5% of one core between events.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import CLI, bench_env, publish, run, sample_repo

TICKS = os.sysconf("SC_CLK_TCK")


def build_repo(work: Path, env: dict[str, str], files: int) -> Path:
    body = '"""Module {n}."""\n\nVALUE = {n}\n\n\ndef f_{n}(x: int) -> int:\n    return x + VALUE\n'
    sources = {f"pkg{n % 40:02d}/module_{n:04d}.py": body.format(n=n) for n in range(files)}
    return sample_repo(work, "bn", env=env, files=sources).repo


def new_issue(repo: Path, env: dict[str, str], title: str) -> str:
    return str(json.loads(run([CLI, "create", title, "--json"], repo, env).stdout)["id"])


def wait_row(db_file: str, name: str, column: str, timeout: float = 60.0) -> None:
    """Poll the worker row (read-only) until ``column`` is set."""
    deadline = time.monotonic() + timeout
    conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=10)
    try:
        while time.monotonic() < deadline:
            row = conn.execute(f"SELECT {column}, state FROM workers WHERE name = ?", (name,)).fetchone()
            if row and row[0]:
                return
            if row and row[1] in ("failed", "lost"):
                raise SystemExit(f"worker {name} {row[1]}")
            time.sleep(0.002)
    finally:
        conn.close()
    raise SystemExit(f"worker {name} never set {column}")


def start_overhead(repo: Path, env: dict[str, str], terminal: str, runs: int) -> tuple[list[float], list[float]]:
    """Median seconds from `worker start` to the agent's session, and bare `git worktree add`."""
    db_file = str(repo / ".git" / "shopfloor" / "tracker.db")
    starts, bare = [], []
    for n in range(-1, runs):  # run -1 warms the caches and is not counted
        sid = new_issue(repo, env, f"bench start {terminal} {n}")
        t0 = time.perf_counter()
        run([CLI, "worker", "start", sid, "--agent", "scripted", "--terminal", terminal, "--json"], repo, env)
        wait_row(db_file, sid, "session_id")
        starts.append(time.perf_counter() - t0)
        target = repo.parent / "bare" / f"{terminal}{n}"
        t0 = time.perf_counter()
        run(["git", "worktree", "add", "-q", "-b", f"bare/{terminal}{n}", str(target), "HEAD"], repo, env)
        bare.append(time.perf_counter() - t0)
    return starts[1:], bare[1:]


def cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def idle_cpu(repo: Path, env: dict[str, str], count: int, window: float) -> dict[str, Any]:
    db_file = str(repo / ".git" / "shopfloor" / "tracker.db")
    names = []
    for n in range(count):
        sid = new_issue(repo, env, f"bench idle {n}")
        run([CLI, "worker", "start", sid, "--agent", "scripted", "--terminal", "tmux"], repo, env)
        names.append(sid)
    logs = [repo.parent / "repo" / ".git" / "shopfloor" / "workers" / name / "pane.log" for name in names]
    deadline = time.monotonic() + 120
    while not all(log.exists() and "tool  Bash" in log.read_text() for log in logs):
        if time.monotonic() > deadline:
            raise SystemExit("the idle workers never reached their long tool call")
        time.sleep(0.1)
    conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    marks = ",".join("?" * count)
    rows = conn.execute(f"SELECT pid, agent_pid FROM workers WHERE name IN ({marks})", names)
    shims, agents = zip(*rows.fetchall(), strict=True)
    conn.close()
    server = int(run(["tmux", "display-message", "-p", "#{pid}"], repo, env).stdout.strip())
    watched = {"shims": list(shims), "tmux server": [server], "agents (not counted)": list(agents)}
    before = {k: sum(cpu_ticks(p) for p in pids) for k, pids in watched.items()}
    t0 = time.perf_counter()
    time.sleep(window)
    wall = time.perf_counter() - t0
    after = {k: sum(cpu_ticks(p) for p in pids) for k, pids in watched.items()}
    share = {k: (after[k] - before[k]) / TICKS / wall for k in watched}
    return {"share": share, "wall": wall, "count": count}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and workers (a smoke run)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if not shutil.which("tmux"):
        raise SystemExit("tmux is needed: apt-get install tmux")
    runs, count, window = (3, 5, 3.0) if args.quick else (7, 20, 10.0)
    work = Path(tempfile.mkdtemp(prefix="sfwb"))
    (work / "tmux").mkdir()
    scenario = work / "scenario.json"
    scenario.write_text(
        json.dumps(
            {
                "scripts": [
                    {
                        "match": "bench idle",
                        "turns": [{"tool": {"name": "Bash", "input": {"command": "sleep 60"}}}, {"text": "ok"}],
                    },
                    {"match": "bench start", "turns": [{"text": "started"}]},
                ]
            }
        )
    )
    env = bench_env(
        work / "home",
        keep=("PATH", "LANG", "LC_ALL", "TERM"),
        TMUX_TMPDIR=str(work / "tmux"),
        SHOPFLOOR_SCENARIO=str(scenario),
        PYTHONDONTWRITEBYTECODE="1",
    )
    rows: list[tuple[str, str, str, str, str]] = []
    results: dict[str, Any] = {"machine": f"{os.cpu_count()} cores, python {sys.version.split()[0]}"}
    try:
        print(f"building a repository of 2,000 files in {work} ...", flush=True)
        repo = build_repo(work, env, 2000)
        for terminal in ("tmux", "detached"):
            starts, bare = start_overhead(repo, env, terminal, runs)
            med, base = statistics.median(starts), statistics.median(bare)
            results[f"start_{terminal}"] = {"runs_s": starts, "bare_worktree_add_s": bare}
            rows.append(
                (
                    f"worker start -> agent running ({terminal})",
                    f"{med * 1000:.0f} ms",
                    "<= 1000 ms",
                    f"{med / base:.1f}x bare git worktree add ({base * 1000:.0f} ms), n={runs}",
                    "PASS" if med <= 1.0 else "FAIL",
                )
            )
        idle = idle_cpu(repo, env, count, window)
        results["idle"] = idle
        share = idle["share"]
        counted = share["shims"] + share["tmux server"]
        rows.append(
            (
                f"{count} idle workers: shims + tmux CPU",
                f"{counted:.2%} of a core",
                "<= 5%",
                f"shims {share['shims']:.2%}, tmux {share['tmux server']:.2%}, agents "
                f"{share['agents (not counted)']:.2%}; {idle['wall']:.0f} s window",
                "PASS" if counted <= 0.05 else "FAIL",
            )
        )
    finally:
        subprocess.run(["tmux", "kill-server"], env=env, capture_output=True, check=False)
        subprocess.run(["pkill", "-f", str(work)], capture_output=True, check=False)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    publish("workers", ("measure", "median", "target", "ratio/notes", "PASS/FAIL"), rows, **results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
