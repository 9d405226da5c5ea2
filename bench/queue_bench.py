"""Benchmark the merge queue: 16 branches, one of them bad, batched against one at a time.

Run it as ``.venv/bin/python bench/queue_bench.py``. For each batch size it builds the same
repository (a gate with one configured check that takes about 0.3 s, like a small test
suite), queues the 16 branches, runs ``shopfloor queue run --until-empty``, and prints the
gate runs and the wall time side by side, the one-at-a-time queue as the baseline. Results go
to ``bench/results/queue.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
CLI = str(BIN / "shopfloor")
RESULTS = Path(__file__).resolve().parent / "results" / "queue.json"
BRANCHES = 16
BAD = 11
GATE = """
[gate]
builtins = ["protected-files", "diff-size"]

[[gate.check]]
name = "no-fixme"
argv = ["sh", "-c", "sleep 0.3; ! grep -rq FIXME --include=*.txt ."]
timeout = 60
"""


def env_for(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPFLOOR_", "GIT_"))}
    env.update(
        HOME=str(work / "home"),
        SHOPFLOOR_ACTOR="bench",
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
        GIT_AUTHOR_NAME="b",
        GIT_AUTHOR_EMAIL="b@x",
        GIT_COMMITTER_NAME="b",
        GIT_COMMITTER_EMAIL="b@x",
    )
    return env


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr[-2000:]}")
    return done.stdout


def build(work: Path, env: dict[str, str]) -> Path:
    repo = work / "repo"
    repo.mkdir(parents=True)
    run(["git", "init", "-q", "-b", "main"], repo, env)
    run([CLI, "init", "--prefix", "qb"], repo, env)
    config = repo / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + GATE)
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "base"], repo, env)
    for n in range(BRANCHES):
        run(["git", "checkout", "-q", "-b", f"b{n:02d}", "main"], repo, env)
        (repo / f"f{n:02d}.txt").write_text("FIXME\n" if n == BAD else f"{n}\n")
        run(["git", "add", "-A"], repo, env)
        run(["git", "commit", "-qm", f"branch {n}"], repo, env)
        run(["git", "checkout", "-q", "main"], repo, env)
        run([CLI, "queue", "add", f"b{n:02d}"], repo, env)
    return repo


def measure(batch: int) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="sfqb"))
    (work / "home").mkdir()
    env = env_for(work)
    try:
        repo = build(work, env)
        started = time.perf_counter()
        out = json.loads(run([CLI, "queue", "run", "--until-empty", "--batch", str(batch), "--json"], repo, env))
        wall = time.perf_counter() - started
        if len(out["landed"]) != BRANCHES - 1 or len(out["rejected"]) != 1:
            raise SystemExit(f"batch {batch}: expected 15 landed and 1 rejected, got {out}")
        return {"gate_runs": out["gate_runs"], "wall_s": wall}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    sizes = (1, 4, 8, 16)
    results = {size: measure(size) for size in sizes}
    base = results[1]
    head = ("landing", "gate runs", "wall time", "vs one at a time")
    rows = [head]
    for size in sizes:
        r = results[size]
        label = "one at a time (--batch 1)" if size == 1 else f"batched (--batch {size})"
        rows.append((label, str(int(r["gate_runs"])), f"{r['wall_s']:.1f} s", f"{r['wall_s'] / base['wall_s']:.2f}x"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [" | ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    table = "\n".join(lines)
    print(f"{BRANCHES} branches, one bad (b{BAD}), a gate check of ~0.3 s; all land but the bad one")
    print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"table": table, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
