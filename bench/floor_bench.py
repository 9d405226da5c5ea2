"""Benchmark the floor: coordinator CPU per issue, scheduling latency, memory as issues finish.

Run it as ``.venv/bin/python bench/floor_bench.py [--issues 50 --more 500]``. It builds a sample
repository with a gate (one quick check) and N independent issues, then runs the coordinator
*in this process* (``floor.coordinator.run``, 8 workers, the scripted agent, detached) until
idle, and measures:
- coordinator CPU per issue: this process's CPU time (the loop, the gate's in-process work,
  the queue) over the issues merged; the agents and checks run in other processes;
- scheduling latency: from an issue's claim (it leaves ready) to its agent's first event
  (the worker row's session appearing), median;
- memory: the Python heap in use (tracemalloc) after N issues, and after a second, larger run
  in the same process: it must not grow with the number of finished issues.
Results go to ``bench/results/floor.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

from _common import bench_env, commit_turns, enter_floor, publish, sample_repo

GATE = '\n[gate]\nbuiltins = ["diff-size"]\n\n[[gate.check]]\nname = "ok"\nargv = ["true"]\ntimeout = 60\n'


def setup(work: Path, n: int) -> Path:
    sample = sample_repo(work, "fb", env=bench_env(work / "home", actor="planner"), gate=GATE, issues=n)
    scripts = [{"match": issue, "turns": commit_turns(issue)} for issue in sample.issues]
    (work / "scenario.json").write_text(json.dumps({"scripts": scripts}))
    return sample.repo


def floor_run(work: Path, repo: Path, n: int) -> dict[str, float]:
    from shopfloor.floor.coordinator import FloorConfig, run
    from shopfloor.tracker.clock import epoch
    from shopfloor.tracker.service import Tracker

    enter_floor(work, repo)
    tracker = Tracker.open("floor", str(repo))
    sessions: dict[str, float] = {}
    stop = threading.Event()

    def watch() -> None:  # when each agent's session first appears in its worker row
        import sqlite3

        conn = sqlite3.connect(tracker.location.db_file, timeout=30)
        while not stop.is_set():
            for issue, _sid in conn.execute("SELECT issue, session_id FROM workers WHERE session_id IS NOT NULL"):
                sessions.setdefault(issue, time.time())
            time.sleep(0.02)
        conn.close()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    run(
        tracker,
        FloorConfig(workers=8, agent="scripted", terminal="detached", until_idle=True, poll_s=0.2, batch=8),
        lambda _line: None,
    )
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    stop.set()
    watcher.join()
    claims = {
        issue: epoch(at)
        for issue, at in tracker.conn.execute("SELECT issue, MIN(at) FROM events WHERE kind = 'claimed' GROUP BY issue")
    }
    merged = tracker.conn.execute("SELECT COUNT(*) FROM queue_entries WHERE state = 'merged'").fetchone()[0]
    latency = [sessions[i] - claims[i] for i in claims if i in sessions]
    tracker.close()
    if merged != n:
        raise SystemExit(f"expected {n} merged, got {merged}")
    return {
        "issues": n,
        "cpu_s": cpu,
        "wall_s": wall,
        "cpu_per_issue_s": cpu / n,
        "latency_median_s": statistics.median(latency) if latency else float("nan"),
        "heap_mb": tracemalloc.get_traced_memory()[0] / 1e6,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=50)
    parser.add_argument("--more", type=int, default=500, help="the second, larger run for the memory check")
    args = parser.parse_args()
    tracemalloc.start()
    results = []
    for n in (args.issues, args.more):
        work = Path(tempfile.mkdtemp(prefix="sffb"))
        try:
            repo = setup(work, n)
            results.append(floor_run(work, repo, n))
        finally:
            os.chdir("/")
            shutil.rmtree(work, ignore_errors=True)
        print(f"  {n} issues: {results[-1]}", flush=True)
    small, big = results
    rows = [
        (
            "coordinator CPU per issue",
            f"{small['cpu_per_issue_s'] * 1000:.0f} ms",
            "printed",
            f"{small['cpu_s']:.1f} s CPU over {small['wall_s']:.1f} s wall, {small['issues']} issues, 8 workers",
            "info",
        ),
        (
            "scheduling latency (claim -> agent session)",
            f"{small['latency_median_s'] * 1000:.0f} ms",
            "printed",
            "median over the issues",
            "info",
        ),
        (
            f"heap after {small['issues']} / {big['issues']} issues",
            f"{small['heap_mb']:.1f} / {big['heap_mb']:.1f} MB",
            "no growth with finished issues",
            f"{big['heap_mb'] / small['heap_mb']:.2f}x",
            "PASS" if big["heap_mb"] <= small["heap_mb"] * 1.5 + 1 else "FAIL",
        ),
    ]
    publish("floor", ("measure", "value", "target", "notes", "PASS/FAIL"), rows, runs=results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
