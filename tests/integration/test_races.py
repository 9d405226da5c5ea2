"""Races between a command waiting for the write lock and the JSONL changing under it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path

from conftest import SHOPFLOOR, Runner
from test_cli import create


def jsonl_path(sf: Runner) -> Path:
    return sf.cwd / ".shopfloor" / "issues.jsonl"


def with_extra_issue(text: str, issue_id: str, title: str) -> str:
    record = json.loads(text.splitlines()[0])
    record.update(id=issue_id, title=title, created_at="2026-01-01T00:00:00.000000Z", created_by="hand")
    return text + json.dumps(record) + "\n"


def hold_write_lock(sf: Runner) -> sqlite3.Connection:
    conn = sqlite3.connect(sf.cwd / ".git" / "shopfloor" / "tracker.db", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def start(sf: Runner, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [str(SHOPFLOOR), *args], cwd=sf.cwd, env=sf.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(1.0)  # long enough to start, read the file and queue for the lock
    return proc


def test_a_file_changed_while_an_import_waits_is_imported_next_time(sf: Runner) -> None:
    create(sf, "base")
    sf("export")
    base = jsonl_path(sf).read_text()
    version_c = with_extra_issue(base, "t-cccc", "from version C")
    version_d = with_extra_issue(version_c, "t-dddd", "from version D")
    lock = hold_write_lock(sf)
    jsonl_path(sf).write_text(version_c)
    waiting = start(sf, "list", "--json")
    jsonl_path(sf).write_text(version_d)  # lands while the first import waits for the lock
    lock.execute("COMMIT")
    lock.close()
    assert waiting.wait(timeout=60) == 0
    titles = {i["title"] for i in sf.json("list")}
    assert "from version D" in titles
    sf("export")
    assert "t-dddd" in jsonl_path(sf).read_text()


def test_export_refuses_a_file_that_changed_while_it_waited(sf: Runner) -> None:
    create(sf, "base")
    sf("export")
    pulled = with_extra_issue(jsonl_path(sf).read_text(), "t-pull", "arrived by git pull")
    lock = hold_write_lock(sf)
    exporting = start(sf, "export")
    jsonl_path(sf).write_text(pulled)
    lock.execute("COMMIT")
    lock.close()
    _out, err = exporting.communicate(timeout=60)
    assert exporting.returncode == 1 and "changed while exporting" in err
    assert jsonl_path(sf).read_text() == pulled
    assert "arrived by git pull" in {i["title"] for i in sf.json("list")}


def test_leaving_in_progress_ends_the_claim(sf: Runner) -> None:
    issue_id = create(sf, "claimed then blocked")
    sf("update", issue_id, "--claim", actor="dana")
    blocked = sf.json("update", issue_id, "--status", "blocked", actor="dana")
    assert (blocked["assignee"], blocked["lease_until"]) == (None, None)
    done = sf("heartbeat", issue_id, actor="dana", check=False)
    assert done.returncode == 4 and "no lease to renew" in done.stderr
    reopened = sf.json("update", issue_id, "--status", "open")
    assert (reopened["status"], reopened["assignee"]) == ("open", None)
    assert sf.json("update", issue_id, "--claim", actor="erin")["assignee"] == "erin"


def test_every_command_returns_expired_leases(sf: Runner) -> None:
    issue_id = create(sf, "lapsed")
    sf("update", issue_id, "--claim", "--lease", "1s", actor="ghost")
    time.sleep(1.3)
    sf("export")
    record = json.loads(jsonl_path(sf).read_text())
    assert (record["status"], record["assignee"]) == ("open", None)
