"""Compaction on a 10k-issue tracker: database and JSONL size before and after, and how long it takes.

The tracker is ``tracker_bench``'s generated one (10,000 issues, 20,000 dependencies, its history
events), exported and committed, so every closed issue's text is in git history. Each run starts
from that same database, restored at the same path: ``shopfloor compact --dry-run`` and then
``shopfloor compact`` (the default ``--older-than 30d``) as real processes, timed. Then
``shopfloor export`` and the sizes. The database is measured after a WAL checkpoint and an export
(the database keeps the last synced JSONL as its merge base, so the export matters). The
"VACUUM" rows are the same database vacuumed: the baseline one never compacted (so the saving
shown is compaction's, not VACUUM's), the last one by ``compact --vacuum``.

Run: ``.venv/bin/python bench/compact_bench.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import publish
from tracker_bench import build_repo, cli_path, db_file_of, run

JSONL = Path(".shopfloor") / "issues.jsonl"


def _checked(cmd: list[str], cwd: Path) -> bytes:
    done = run(cmd, cwd)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


def _db_bytes(repo: Path, *, vacuum: bool = False) -> int:
    conn = sqlite3.connect(db_file_of(repo))
    try:
        if vacuum:
            conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return os.path.getsize(db_file_of(repo))


def _kib(n: int) -> str:
    return f"{n / 1024:,.0f} KiB"


def _change(before: int, after: int) -> str:
    return f"{(after - before) / before:+.0%}"


def measure(work: Path, cli: str, runs: int) -> tuple[dict[str, int], list[float], list[float], dict[str, Any]]:
    """The sizes, the compactions' and the dry runs' seconds, and the last compaction's report."""
    repo = build_repo(work, "10k", 10_000, 20_000, seed=1)
    _checked([cli, "export"], repo)
    _checked(["git", "add", str(JSONL)], repo)
    _checked(["git", "-c", "user.name=bench", "-c", "user.email=b@example.com", "commit", "-qm", "tracker"], repo)
    # The first command that loads the floor adds the floor's and the memory's tables: done
    # before measuring, so that the sizes compare like with like.
    _checked([cli, "compact", "--dry-run", "--json", "--older-than", "365d"], repo)
    sizes = {"db_before": _db_bytes(repo), "jsonl_before": (repo / JSONL).stat().st_size}
    saved = work / "saved"
    saved.mkdir()
    shutil.copy2(db_file_of(repo), saved / "tracker.db")  # checkpointed: the WAL is empty
    sizes["db_before_vacuumed"] = _db_bytes(repo, vacuum=True)
    seconds: list[float] = []
    dry_seconds: list[float] = []
    report: dict[str, Any] = {}
    for _ in range(runs):
        shutil.copy2(saved / "tracker.db", db_file_of(repo))
        start = time.perf_counter()
        _checked([cli, "compact", "--dry-run", "--json"], repo)
        dry_seconds.append(time.perf_counter() - start)
        start = time.perf_counter()
        report = json.loads(_checked([cli, "compact", "--json"], repo))
        seconds.append(time.perf_counter() - start)
    _checked([cli, "export"], repo)
    sizes["db_after"], sizes["jsonl_after"] = _db_bytes(repo), (repo / JSONL).stat().st_size
    _checked([cli, "compact", "--vacuum"], repo)  # nothing left to compact: --vacuum alone
    sizes["db_after_vacuumed"] = _db_bytes(repo)
    return sizes, seconds, dry_seconds, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="compactions timed, each from the same start (default 5)")
    args = parser.parse_args(argv)
    for name in [k for k in os.environ if k.startswith(("SHOPFLOOR_", "GIT_"))]:
        del os.environ[name]
    work = Path(tempfile.mkdtemp(prefix="shopfloor-compact-bench-"))
    try:
        sizes, seconds, dry, report = measure(work, cli_path(), args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    compacted = report["compacted"]
    chars = sum(c["characters"] for c in compacted)
    print(
        f"compacted {len(compacted)} of 10,000 issues ({chars:,} characters of long text); "
        f"{len(report['not_in_history'])} not in history"
    )
    db0, db0v, db1, db1v = (sizes[k] for k in ("db_before", "db_before_vacuumed", "db_after", "db_after_vacuumed"))
    j0, j1 = sizes["jsonl_before"], sizes["jsonl_after"]
    rows = [
        ["before", _kib(db0), _kib(j0), "-"],
        ["before, VACUUM", _kib(db0v), _kib(j0), "-"],
        ["after compact", _kib(db1), _kib(j1), f"db {_change(db0, db1)}, jsonl {_change(j0, j1)}"],
        ["after compact --vacuum", _kib(db1v), _kib(j1), f"db {_change(db0v, db1v)} vs before, VACUUM"],
        ["compact --dry-run, median", f"{statistics.median(dry) * 1000:,.0f} ms", "", f"n={args.runs}, whole process"],
        ["compact, median", f"{statistics.median(seconds) * 1000:,.0f} ms", "", f"n={args.runs}, whole process"],
    ]
    publish(
        "compact",
        ["10k issues", "database", "JSONL", "change"],
        rows,
        markdown=True,
        right=(1, 2),
        compacted=len(compacted),
        characters=chars,
        seconds=seconds,
        dry_run_seconds=dry,
        sizes=sizes,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
