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
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import CLI, bench_env, publish, run, sample_repo

PY = sys.executable


def make_repo(work: Path, env: dict[str, str]) -> Path:
    checks = "".join(
        f'\n[[gate.check]]\nname = "c{n}"\nargv = ["{PY}", "-c", "pass"]\ntimeout = 60\n' for n in range(3)
    )
    files = {f"mod{n}.py": f"VALUE = {n}\n" for n in range(200)}
    gate = '\n[gate]\ntarget = "main"\nbuiltins = []\n' + checks
    sample = sample_repo(work, "b", env=env, files=files, gate=gate)
    sample.run("git", "checkout", "-qb", "change")
    (sample.repo / "mod0.py").write_text("VALUE = -1\n")
    sample.run("git", "commit", "-qam", "change")
    sample.run("git", "checkout", "-q", "main")
    return sample.repo


def time_worker_start(repo: Path, env: dict[str, str], confined: bool) -> float:
    issue = json.loads(run([CLI, "create", "bench work", "--json"], repo, env).stdout)["id"]
    flags = [] if confined else ["--no-sandbox"]
    db = repo / ".git" / "shopfloor" / "tracker.db"
    started = time.perf_counter()
    worker = json.loads(run([CLI, "worker", "start", issue, "--agent", "scripted", "--json", *flags], repo, env).stdout)
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
        raise SystemExit(f"the worker failed: {run([CLI, 'worker', 'peek', worker['name']], repo, env).stdout}")
    deadline = time.monotonic() + 60
    while json.loads(run([CLI, "worker", "list", "--json"], repo, env).stdout)[0]["state"] not in ("done", "failed"):
        if time.monotonic() > deadline:
            raise SystemExit("the worker did not finish within 60 s")
        time.sleep(0.05)
    run([CLI, "worker", "rm", worker["name"], "--force"], repo, env)
    return elapsed


def time_gate(repo: Path, env: dict[str, str], confined: bool) -> float:
    flags = [] if confined else ["--no-sandbox"]
    started = time.perf_counter()
    report = json.loads(run([CLI, "gate", "run", "change", "--no-cache", "--json", *flags], repo, env).stdout)
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
        scenario = work / "scenario.json"
        scenario.write_text(json.dumps({"scripts": [{"match": "bench work", "turns": [{"text": "done"}]}]}))
        env = bench_env(
            work / "home",
            keep=("PATH", "LANG", "LC_ALL"),
            SHOPFLOOR_SCENARIO=str(scenario),
            SHOPFLOOR_TERMINAL="detached",
        )
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
    out, cells = [], []
    for name, confined, open_ in rows:
        ratio = confined / open_ if open_ else float("inf")
        cost_ms = (confined - open_) * 1000
        cells.append(
            (name, f"{confined * 1000:.1f} ms", f"{open_ * 1000:.1f} ms", f"{cost_ms:+.1f} ms", f"{ratio:.2f}×")
        )
        out.append({"operation": name, "sandboxed_s": confined, "unsandboxed_s": open_, "ratio": ratio})
    head = ("operation", "sandboxed", "unsandboxed", "cost", "ratio")
    print(f"sandbox cost, median of {args.runs} interleaved runs each")
    publish("sandbox", head, cells, markdown=True, right=(1, 2, 3, 4), runs=args.runs, rows=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
