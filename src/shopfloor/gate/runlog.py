"""Gate runs and the check cache in the tracker database (tables declared in ``gate.migrations``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any, cast

from shopfloor.errors import NotFoundError
from shopfloor.gate.config import Check
from shopfloor.gate.results import CheckResult, GateReport
from shopfloor.tracker import db
from shopfloor.tracker.service import Tracker


def cached(conn: sqlite3.Connection, tree: str, base_tree: str, config_hash: str) -> dict[str, CheckResult]:
    rows = conn.execute(
        "SELECT check_name, result FROM gate_cache WHERE tree = ? AND base_tree = ? AND config_hash = ?",
        (tree, base_tree, config_hash),
    )
    return {name: CheckResult.from_json(json.loads(result)) for name, result in rows}


def remember(
    conn: sqlite3.Connection, tree: str, base_tree: str, config_hash: str, results: list[CheckResult], now: str
) -> None:
    """Cache final results only: a timeout or an error of the harness is worth trying again."""
    keep = [r for r in results if r.status in ("pass", "fail", "flaky", "needs-approval")]
    with db.transaction(conn):
        conn.executemany(
            "INSERT OR REPLACE INTO gate_cache (tree, base_tree, config_hash, check_name, result, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(tree, base_tree, config_hash, r.name, json.dumps(r.as_json()), now) for r in keep],
        )


def record_run(conn: sqlite3.Connection, report: GateReport, now: str) -> int:
    with db.transaction(conn):
        cursor = conn.execute(
            "INSERT INTO gate_runs (rev, commit_sha, tree, base, base_sha, config_hash, verdict, issue, attempt, "
            "cached, duration_s, report, created_at, advisory) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                report["rev"],
                report["commit"],
                report["tree"],
                report["base"],
                report["base_commit"],
                report["config_hash"],
                report["verdict"],
                report.get("issue"),
                report.get("attempt"),
                int(report["cached"]),
                report["duration_s"],
                json.dumps(report),
                now,
                int(bool(report.get("advisory"))),
            ),
        )
    return int(cursor.lastrowid or 0)


Commit = Callable[[GateReport], None]
FollowUp = Callable[[GateReport], Commit]


def record(tracker: Tracker, report: GateReport, and_then: FollowUp | None) -> None:
    """Record ``report`` (its id set in it), and what follows its verdict in the same transaction
    (the attempt's outcome, the queue entry), so that is never missing after a crash.
    ``and_then(report)`` runs first, outside the transaction (git, files: never while holding the
    database's write lock), and returns the writes to make inside it."""
    commit = and_then(report) if and_then is not None else None
    with tracker.write() as conn:
        report["id"] = record_run(conn, report, tracker.now())
        if commit is not None:
            commit(report)


def newest_runs(conn: sqlite3.Connection, issue: str | None, commit: str, limit: int) -> list[tuple[int, str, bool]]:
    """The issue's newest runs, newest first (by the ``gate_runs(issue, id)`` index); without an
    issue, the runs of ``commit``: (id, the report as stored, advisory)."""
    if issue:
        where, params = "issue = ?", (issue,)
    else:
        where, params = "issue IS NULL AND commit_sha = ?", (commit,)
    rows = conn.execute(
        f"SELECT id, report, advisory FROM gate_runs WHERE {where} ORDER BY id DESC LIMIT ?", (*params, limit)
    )
    return [(int(run_id), str(text), bool(advisory)) for run_id, text, advisory in rows]


MAX_RUN_ID = 2**63 - 1  # SQLite's largest integer: a bigger id (a URL's) is no run, not an overflow


def get_run(conn: sqlite3.Connection, run_id: int) -> GateReport:
    if not 0 < run_id <= MAX_RUN_ID:
        raise NotFoundError(f"no gate run {run_id}: list them with `shopfloor gate list`")
    row = conn.execute("SELECT id, report, created_at FROM gate_runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no gate run {run_id}: list them with `shopfloor gate list`")
    return cast("GateReport", {"id": row[0], **json.loads(row[1]), "created_at": row[2]})


def list_runs(conn: sqlite3.Connection, issue: str | None, limit: int) -> list[dict[str, Any]]:
    sql = "SELECT id, rev, commit_sha, verdict, issue, cached, duration_s, created_at, advisory FROM gate_runs"
    params: list[Any] = []
    if issue:
        sql += " WHERE issue = ?"
        params.append(issue)
    sql += " ORDER BY id DESC LIMIT ?"
    params.append(limit)
    keys = ("id", "rev", "commit", "verdict", "issue", "cached", "duration_s", "created_at", "advisory")
    runs = [dict(zip(keys, row, strict=True)) for row in conn.execute(sql, params)]
    for run in runs:
        run["advisory"] = bool(run["advisory"])
    return runs


BASELINE = "baseline"  # the base_tree column of a result that is a fact about one tree alone


def cached_baseline(conn: sqlite3.Connection, tree: str, checks: list[Check], salt: str) -> dict[str, CheckResult]:
    """Results of ``checks`` on ``tree`` by itself, each keyed by the check's own definition (so
    changing one check, or adding another, does not throw the others' base results away) and
    ``salt``, the fingerprint of the environment the checks ran in."""
    out = {}
    for check in checks:
        row = conn.execute(
            "SELECT result FROM gate_cache WHERE tree = ? AND base_tree = ? AND config_hash = ? AND check_name = ?",
            (tree, BASELINE, f"{check.hash}.{salt}", check.name),
        ).fetchone()
        if row:
            out[check.name] = CheckResult.from_json(json.loads(row[0]))
    return out


def remember_baseline(
    conn: sqlite3.Connection, tree: str, checks: list[Check], results: list[CheckResult], now: str, salt: str
) -> None:
    by_name = {c.name: c for c in checks}
    keep = [r for r in results if r.status in ("pass", "fail") and r.name in by_name]
    with db.transaction(conn):
        conn.executemany(
            "INSERT OR REPLACE INTO gate_cache (tree, base_tree, config_hash, check_name, result, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(tree, BASELINE, f"{by_name[r.name].hash}.{salt}", r.name, json.dumps(r.as_json()), now) for r in keep],
        )
