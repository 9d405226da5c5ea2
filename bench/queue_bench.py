"""Benchmark the merge queue: 16 branches, one of them bad, batched against one at a time.

Run it as ``.venv/bin/python bench/queue_bench.py``. For each batch size it builds the same
repository (a gate with one configured check that takes about 0.3 s, like a small test
suite), queues the 16 branches, runs ``shopfloor queue run --until-empty``, and prints the
gate runs and the wall time side by side, the one-at-a-time queue as the baseline. Results go
to ``bench/results/queue.json``.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import Sample, publish, sample_repo

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


def build(work: Path) -> Sample:
    sample = sample_repo(work, "qb", gate=GATE)
    for n in range(BRANCHES):
        sample.run("git", "checkout", "-q", "-b", f"b{n:02d}", "main")
        (sample.repo / f"f{n:02d}.txt").write_text("FIXME\n" if n == BAD else f"{n}\n")
        sample.run("git", "add", "-A")
        sample.run("git", "commit", "-qm", f"branch {n}")
        sample.run("git", "checkout", "-q", "main")
        sample.cli("queue", "add", f"b{n:02d}")
    return sample


def measure(batch: int) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="sfqb"))
    try:
        sample = build(work)
        started = time.perf_counter()
        out = json.loads(sample.cli("queue", "run", "--until-empty", "--batch", str(batch), "--json"))
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
    rows = []
    for size in sizes:
        r = results[size]
        label = "one at a time (--batch 1)" if size == 1 else f"batched (--batch {size})"
        rows.append((label, str(int(r["gate_runs"])), f"{r['wall_s']:.1f} s", f"{r['wall_s'] / base['wall_s']:.2f}x"))
    print(f"{BRANCHES} branches, one bad (b{BAD}), a gate check of ~0.3 s; all land but the bad one")
    publish("queue", ("landing", "gate runs", "wall time", "vs one at a time"), rows, results=results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
