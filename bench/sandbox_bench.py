"""What the bubblewrap sandbox costs: per process, per worker start, per gate run.

Run it as ``.venv/bin/python bench/sandbox_bench.py [--runs N]``. Each row times the same
operation confined and unconfined (``--no-sandbox``), interleaved in this one process, and
prints the medians, their difference and their ratio (also written as JSON to
``bench/results/sandbox.json``):

- process: ``true`` run through the sandbox's bwrap prefix against ``true`` run directly;
- worker start: ``shopfloor worker start`` with the scripted agent, until the agent has
  reported its session (workspace clone, channel, shim, agent), then the worker is removed;
- gate run: ``shopfloor gate run --no-cache`` of a one-line change with three checks
  (``python -c pass``), so the sandbox's share is not hidden behind the checks' own time.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "sandbox.json"
CLI = str(Path(sys.executable).parent / "shopfloor")
PY = sys.executable


def env_for(work: Path, scenario: Path) -> dict[str, str]:
    env = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL") if k in os.environ}
    env.update(
        HOME=str(work / "home"),
        SHOPFLOOR_ACTOR="bench",
        SHOPFLOOR_SCENARIO=str(scenario),
        SHOPFLOOR_TERMINAL="detached",
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@example.com",
        PATH=f"{Path(CLI).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def sh(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def make_repo(work: Path, env: dict[str, str]) -> Path:
    repo = work / "repo"
    repo.mkdir()
    sh(["git", "init", "-q", "-b", "main"], repo, env)
    for n in range(200):
        (repo / f"mod{n}.py").write_text(f"VALUE = {n}\n")
    sh([CLI, "init", "--prefix", "b"], repo, env)
    checks = "".join(
        f'\n[[gate.check]]\nname = "c{n}"\nargv = ["{PY}", "-c", "pass"]\ntimeout = 60\n' for n in range(3)
    )
    config = repo / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + '\n[gate]\ntarget = "main"\nbuiltins = []\n' + checks)
    sh(["git", "add", "-A"], repo, env)
    sh(["git", "commit", "-qm", "base"], repo, env)
    sh(["git", "checkout", "-qb", "change"], repo, env)
    (repo / "mod0.py").write_text("VALUE = -1\n")
    sh(["git", "commit", "-qam", "change"], repo, env)
    sh(["git", "checkout", "-q", "main"], repo, env)
    return repo


def time_worker_start(repo: Path, env: dict[str, str], confined: bool) -> float:
    issue = json.loads(sh([CLI, "create", "bench work", "--json"], repo, env))["id"]
    flags = [] if confined else ["--no-sandbox"]
    db = repo / ".git" / "shopfloor" / "tracker.db"
    started = time.perf_counter()
    worker = json.loads(sh([CLI, "worker", "start", issue, "--agent", "scripted", "--json", *flags], repo, env))
    conn = sqlite3.connect(db)
    try:
        while True:
            row = conn.execute("SELECT session_id, state FROM workers WHERE name = ?", (worker["name"],)).fetchone()
            if row and (row[0] or row[1] in ("done", "failed")):
                break
            if time.perf_counter() - started > 60:
                raise SystemExit("the worker did not report a session within 60 s")
            time.sleep(0.005)
    finally:
        conn.close()
    elapsed = time.perf_counter() - started
    if row[1] == "failed":
        raise SystemExit(f"the worker failed: {sh([CLI, 'worker', 'peek', worker['name']], repo, env)}")
    deadline = time.monotonic() + 60
    while json.loads(sh([CLI, "worker", "list", "--json"], repo, env))[0]["state"] not in ("done", "failed"):
        if time.monotonic() > deadline:
            raise SystemExit("the worker did not finish within 60 s")
        time.sleep(0.05)
    sh([CLI, "worker", "rm", worker["name"], "--force"], repo, env)
    return elapsed


def time_gate(repo: Path, env: dict[str, str], confined: bool) -> float:
    flags = [] if confined else ["--no-sandbox"]
    started = time.perf_counter()
    report = json.loads(sh([CLI, "gate", "run", "change", "--no-cache", "--json", *flags], repo, env))
    elapsed = time.perf_counter() - started
    if report["verdict"] != "pass" or report["sandbox"] != ("bwrap" if confined else "none"):
        raise SystemExit(f"unexpected gate report: {report['verdict']} in {report['sandbox']}")
    return elapsed


def time_process(prefix: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([*prefix, "true"], check=True)
    return time.perf_counter() - started


def interleaved(runs: int, confined: Callable[[], float], open_: Callable[[], float]) -> tuple[float, float]:
    a, b = [], []
    for _ in range(runs):
        a.append(confined())
        b.append(open_())
    return statistics.median(a), statistics.median(b)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    from shopfloor.sandbox.bwrap import prefix
    from shopfloor.sandbox.policy import Confinement

    rows = []
    with tempfile.TemporaryDirectory(prefix="sf-sandbox-bench-") as tmp:
        work = Path(tmp)
        (work / "home").mkdir()
        scenario = work / "scenario.json"
        scenario.write_text(json.dumps({"scripts": [{"match": "bench work", "turns": [{"text": "done"}]}]}))
        env = env_for(work, scenario)
        repo = make_repo(work, env)
        confinement = Confinement(workdir=str(work / "ws"), hidden=(str(repo / ".git" / "shopfloor"),))
        bwrap = prefix(confinement)
        rows.append(("process (true)", *interleaved(args.runs, lambda: time_process(bwrap), lambda: time_process([]))))
        rows.append(
            (
                "worker start",
                *interleaved(
                    args.runs,
                    lambda: time_worker_start(repo, env, True),
                    lambda: time_worker_start(repo, env, False),
                ),
            )
        )
        rows.append(
            (
                "gate run (3 checks)",
                *interleaved(args.runs, lambda: time_gate(repo, env, True), lambda: time_gate(repo, env, False)),
            )
        )
    print(f"sandbox cost, median of {args.runs} interleaved runs each")
    print(f"| {'operation':<20} | {'sandboxed':>10} | {'unsandboxed':>11} | {'cost':>9} | {'ratio':>6} |")
    print(f"| {'-' * 20} | {'-' * 10}:| {'-' * 11}:| {'-' * 9}:| {'-' * 6}:|")
    out = []
    for name, confined, open_ in rows:
        ratio = confined / open_ if open_ else float("inf")
        cost_ms = (confined - open_) * 1000
        cells = f"{confined * 1000:>7.1f} ms | {open_ * 1000:>8.1f} ms | {cost_ms:>+6.1f} ms | {ratio:>5.2f}×"
        print(f"| {name:<20} | {cells} |")
        out.append({"operation": name, "sandboxed_s": confined, "unsandboxed_s": open_, "ratio": ratio})
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"runs": args.runs, "rows": out}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
