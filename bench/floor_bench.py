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
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import datetime
from pathlib import Path

BIN = Path(sys.executable).parent
CLI = str(BIN / "shopfloor")
RESULTS = Path(__file__).resolve().parent / "results" / "floor.json"
GATE = '\n[gate]\nbuiltins = ["diff-size"]\n\n[[gate.check]]\nname = "ok"\nargv = ["true"]\ntimeout = 60\n'


def stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def setup(work: Path, n: int) -> Path:
    env = {
        **os.environ,
        "HOME": str(work / "home"),
        "SHOPFLOOR_ACTOR": "planner",
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x",
    }
    repo = work / "repo"
    repo.mkdir(parents=True)
    run = lambda *cmd: subprocess.run(cmd, cwd=repo, env=env, capture_output=True, check=True)  # noqa: E731
    run("git", "init", "-q", "-b", "main")
    run(CLI, "init", "--prefix", "fb")
    (repo / ".shopfloor" / "config.toml").write_text((repo / ".shopfloor" / "config.toml").read_text() + GATE)
    run("git", "add", "-A")
    run("git", "commit", "-qm", "base")
    plan = "".join(f"## Task {i}\npriority: 2\n\nWrite file {i}.\n\n" for i in range(n))
    (work / "plan.md").write_text(plan)
    run(CLI, "create", "-f", str(work / "plan.md"))
    ids = json.loads(run(CLI, "list", "--json", "-n", str(n + 10)).stdout)
    scripts = [
        {
            "match": issue["id"],
            "turns": [
                {"tool": {"name": "Write", "input": {"file_path": f"{issue['id']}.txt", "content": "x\n"}}},
                {"tool": {"name": "Bash", "input": {"command": f"git add -A && git commit -qm {issue['id']}"}}},
                {"text": "done", "usage": {"input_tokens": 1000, "output_tokens": 10}},
            ],
        }
        for issue in ids
    ]
    (work / "scenario.json").write_text(json.dumps({"scripts": scripts}))
    return repo


def floor_run(work: Path, repo: Path, n: int) -> dict[str, float]:
    from shopfloor.floor.coordinator import FloorConfig, run
    from shopfloor.tracker.service import Tracker

    os.environ.update(
        HOME=str(work / "home"),
        SHOPFLOOR_SCENARIO=str(work / "scenario.json"),
        SHOPFLOOR_SCRIPTED_HOME=str(work / "sessions"),
        GIT_AUTHOR_NAME="b",
        GIT_AUTHOR_EMAIL="b@x",
        GIT_COMMITTER_NAME="b",
        GIT_COMMITTER_EMAIL="b@x",
    )
    os.chdir(repo)
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
        issue: stamp(at)
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
        (work / "home").mkdir()
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
    head = ("measure", "value", "target", "notes", "PASS/FAIL")
    cells = [head, *rows]
    widths = [max(len(r[i]) for r in cells) for i in range(5)]
    lines = [" | ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    table = "\n".join(lines)
    print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"table": table, "runs": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
