"""The coordinator wakes when another process commits to the tracker, not at the next tick
(issue 13, section 4): `floor.wake` on real SQLite connections, and a real floor run."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from shopfloor.floor import wake


def _db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def test_a_commit_by_another_connection_wakes_the_waiter_and_its_own_does_not(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    mine, other = _db(db), _db(db)
    mine.execute("CREATE TABLE t (x)")
    since = wake.version(mine)
    mine.execute("INSERT INTO t VALUES (1)")  # its own commit: nothing to wake for
    assert wake.until_changed(mine, since, timeout_s=0.1) is False
    writer = threading.Timer(0.05, lambda: other.execute("INSERT INTO t VALUES (2)"))
    writer.start()
    try:
        assert wake.until_changed(mine, since, timeout_s=30) is True  # long before the 30 s timer
    finally:
        writer.join()
    assert wake.until_changed(mine, since, timeout_s=0) is True  # a change already there is seen at once
