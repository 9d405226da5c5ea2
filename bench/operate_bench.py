"""Benchmark what operating the floor added to every turn and every git call (issue 12).

Run it as ``.venv/bin/python bench/operate_bench.py [--issues 500 --runs 200]``. It builds a
repository with N issues (a tenth of them claimed by the floor, each with a worker row, as a
busy floor has) and measures, in this process, the median of ``--runs`` calls of:
- a turn's first step: ``adopt.settle`` (expired leases back to ready, then the claims lost
  while no coordinator ran taken again, the claims with no worker released), against the
  baseline it replaced, ``Tracker.reclaim_expired`` alone;
- one git command through ``shopfloor.git.run`` (its environment, and run again while another
  git holds a lock), against a plain ``subprocess.run`` of the same command: the cost when
  nothing is locked;
- one ``shopfloor stop`` with nothing to stop (a process: the CLI's start-up and the lock
  check), against ``shopfloor --version``-like ``shopfloor prime --json`` start-up.
Results go to ``bench/results/operate.json``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from _common import CLI, bench_env, median_ms, publish, sample_repo


def busy_floor(repo: Path, claimed: int) -> None:
    """Claim ``claimed`` issues for the floor, each with a worker row (no process): a busy floor."""
    os.chdir(repo)
    from shopfloor.tracker import writes
    from shopfloor.tracker.service import Tracker

    tracker = Tracker.open("floor")
    with tracker.write() as conn:
        for issue in [r[0] for r in conn.execute("SELECT id FROM issues ORDER BY id LIMIT ?", (claimed,))]:
            writes.claim(conn, issue, "floor", tracker.now(), tracker.lease_until(1800))
            conn.execute(
                "INSERT INTO workers (name, issue, actor, branch, worktree, agent, state, terminal, log_dir, "
                "started_at) VALUES (?, ?, 'floor', ?, '/nonexistent', 'scripted', 'running', 'detached', "
                "'/nonexistent', ?)",
                (issue, issue, f"floor/{issue}", tracker.now()),
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        repo = sample_repo(work, "b", env=bench_env(work / "home", actor="floor"), issues=args.issues).repo
        busy_floor(repo, args.issues // 10)
        from shopfloor import git
        from shopfloor.floor import adopt
        from shopfloor.tracker.service import Tracker

        tracker = Tracker.open("floor")
        quiet: Callable[[str], None] = lambda _line: None  # noqa: E731
        settle = median_ms(lambda: adopt.settle(tracker, 1800, quiet), args.runs)
        reclaim = median_ms(tracker.reclaim_expired, args.runs)
        argv = ["git", "rev-parse", "HEAD"]
        wrapped = median_ms(lambda: git.run(repo, *argv[1:]), args.runs)
        plain = median_ms(lambda: subprocess.run(argv, cwd=repo, capture_output=True, text=True), args.runs)
        cli_runs = max(args.runs // 10, 10)
        stop = median_ms(lambda: subprocess.run([CLI, "stop"], cwd=repo, capture_output=True), cli_runs)
        prime = median_ms(lambda: subprocess.run([CLI, "prime", "--json"], cwd=repo, capture_output=True), cli_runs)
    rows = [
        ("turn's first step: adopt.settle", "reclaim_expired alone", settle, reclaim),
        ("git rev-parse through git.run", "plain subprocess.run", wrapped, plain),
        ("`shopfloor stop` (nothing to stop)", "`shopfloor prime --json`", stop, prime),
    ]
    print(f"{args.issues} issues, {args.issues // 10} claimed with workers; median of {args.runs} runs "
          f"({cli_runs} for the CLI)")  # fmt: skip
    print()
    cells = [(n, f"{v:.2f} ms", b, f"{bl:.2f} ms", f"{v / bl:.2f}x") for n, b, v, bl in rows]
    head = ("measure", "median", "baseline", "baseline median", "ratio")
    out = [{"measure": n, "median_ms": v, "baseline": b, "baseline_ms": bl} for n, b, v, bl in rows]
    publish("operate", head, cells, markdown=True, right=(1, 3, 4), issues=args.issues, runs=args.runs, rows=out)


if __name__ == "__main__":
    main()
