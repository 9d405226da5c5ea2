"""Benchmark how soon the coordinator notices a change another process commits (issue 13, §4).

Run it as ``.venv/bin/python bench/wake_bench.py [--samples 40]``. A writer (a second SQLite
connection, as a shim or an agent's `shopfloor done` is) commits at a random moment; the
waiter notices it either as the loop did before (sleep the 0.5 s poll, then look) or with
``floor.wake.until_changed`` (``PRAGMA data_version`` read every 20 ms, the 1 s timer kept
for leases and stalls). It prints the median and p95 delay from the commit to the waiter
seeing it, both ways, in the same process, and the waiter's CPU time per second of waiting.
Results go to ``bench/results/wake.json``.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from _common import percentile, publish
from shopfloor.floor import wake

OLD_POLL_S = 0.5


def _conn(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def old_wait(conn: sqlite3.Connection, since: int) -> None:
    """The loop before: sleep a poll interval, then look at the rows (here: the version)."""
    while True:
        time.sleep(OLD_POLL_S)
        if wake.version(conn) != since:
            return


def new_wait(conn: sqlite3.Connection, since: int) -> None:
    while not wake.until_changed(conn, since, 1.0):
        pass


def sample(
    waiter: Callable[[sqlite3.Connection, int], None], mine: sqlite3.Connection, other: sqlite3.Connection
) -> float:
    since = wake.version(mine)
    committed: list[float] = []

    def write() -> None:
        time.sleep(random.uniform(0.05, 0.6))
        other.execute("INSERT INTO t VALUES (1)")
        committed.append(time.monotonic())

    writer = threading.Thread(target=write)
    writer.start()
    waiter(mine, since)
    seen = time.monotonic()
    writer.join()
    return (seen - committed[0]) * 1000


def cpu_per_second(
    waiter: Callable[[sqlite3.Connection, int], None], mine: sqlite3.Connection, other: sqlite3.Connection
) -> float:
    """CPU the waiter burns per second while nothing changes (1 s of waiting, then a change)."""
    start_cpu, since = time.process_time(), wake.version(mine)
    writer = threading.Timer(1.0, lambda: other.execute("INSERT INTO t VALUES (2)"))
    writer.start()
    waiter(mine, since)
    writer.join()
    return (time.process_time() - start_cpu) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "t.db"
        mine, other = _conn(db), _conn(db)
        mine.execute("CREATE TABLE t (x)")
        results: dict[str, list[float]] = {"old": [], "new": []}
        for _ in range(args.samples):  # interleaved, so both see the same machine
            results["old"].append(sample(old_wait, mine, other))
            results["new"].append(sample(new_wait, mine, other))
        cpu = {"old": cpu_per_second(old_wait, mine, other), "new": cpu_per_second(new_wait, mine, other)}
    for name, label in (("old", "sleep 0.5 s, then look (before)"), ("new", "wake.until_changed (data_version)")):
        values = results[name]
        p95 = percentile(values, 0.95)
        rows.append({"waiter": label, "median_ms": statistics.median(values), "p95_ms": p95, "cpu_ms_per_s": cpu[name]})
    base = rows[0]["median_ms"]
    print(f"commit by another connection -> noticed; {args.samples} samples each, interleaved")
    print()
    cells = [
        (
            row["waiter"],
            f"{row['median_ms']:.1f} ms",
            f"{row['p95_ms']:.1f} ms",
            f"{row['median_ms'] / base:.3f}x",
            f"{row['cpu_ms_per_s']:.1f} ms",
        )
        for row in rows
    ]
    head = ("waiter", "median", "p95", "ratio (median)", "CPU per second waiting")
    publish("wake", head, cells, markdown=True, right=(1, 2, 3, 4), samples=args.samples, rows=rows)


if __name__ == "__main__":
    main()
