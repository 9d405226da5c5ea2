"""Sixteen real processes race to claim work: every issue is claimed exactly once."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import SHOPFLOOR, Runner

WORKER = """
import json, subprocess, sys
claimed = []
while True:
    done = subprocess.run([sys.argv[1], "ready", "--claim", "--json"], capture_output=True, text=True)
    if done.returncode != 0:
        print(json.dumps({"error": done.stderr}))
        sys.exit(1)
    issue = json.loads(done.stdout)
    if issue is None:
        break
    if done.stderr:
        print(json.dumps({"error": done.stderr}))
        sys.exit(1)
    claimed.append(issue["id"])
print(json.dumps({"claimed": claimed}))
"""


def test_sixteen_processes_claim_each_issue_exactly_once(sf: Runner, tmp_path: Path) -> None:
    total = 160
    plan = tmp_path / "plan.jsonl"
    plan.write_text("".join(json.dumps({"title": f"job {n}", "priority": n % 5}) + "\n" for n in range(total)))
    sf("create", "-f", str(plan))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(SHOPFLOOR)],
            cwd=sf.cwd,
            env={**sf.env, "SHOPFLOOR_ACTOR": f"worker-{n}"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(16)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, out + err
        results.append(json.loads(out))
    claimed = [issue_id for r in results for issue_id in r["claimed"]]
    assert len(claimed) == total
    assert len(set(claimed)) == total
    conn = sqlite3.connect(sf.cwd / ".git" / "shopfloor" / "tracker.db")
    statuses = conn.execute("SELECT status, count(*) FROM issues GROUP BY status").fetchall()
    assert statuses == [("in_progress", total)]
    per_issue = conn.execute("SELECT count(*) FROM events WHERE kind = 'claimed' GROUP BY issue").fetchall()
    assert per_issue == [(1,)] * total
    holders = dict(conn.execute("SELECT id, assignee FROM issues").fetchall())
    for n, r in enumerate(results):
        assert all(holders[i] == f"worker-{n}" for i in r["claimed"])
