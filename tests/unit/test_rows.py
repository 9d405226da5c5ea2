"""The one row mapper (tracker.rows): dataclass <-> row, checked columns, the caller's transaction."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from shopfloor.floor import attempts, tables
from shopfloor.queue import entries
from shopfloor.tracker import db
from shopfloor.workers import records

NOW = "2026-01-01T00:00:00.000000Z"


def _worker(name: str) -> records.Worker:
    return records.Worker(
        name=name,
        issue="t-aaaa",
        actor=f"worker/{name}",
        branch="floor/t-aaaa",
        worktree="/wt",
        agent="claude",
        state="running",
        terminal="detached",
        log_dir="/log",
        started_at=NOW,
    )


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    return db.connect(tmp_path / "t.db", create=True)


def test_each_mapper_reads_a_table_its_owner_package_creates() -> None:
    for rows in (records.ROWS, entries.ROWS, attempts.ROWS):
        owner = next(m for m in tables.ALL if m.package == rows.owner)
        scratch = sqlite3.connect(":memory:")
        for m in tables.ALL[: tables.ALL.index(owner)]:  # the layers below the owner
            for _, step in m.steps:
                step(scratch)
        assert not scratch.execute("PRAGMA table_info(" + rows.table + ")").fetchall()
        for _, step in owner.steps:
            step(scratch)
        columns = {r[1] for r in scratch.execute("PRAGMA table_info(" + rows.table + ")")}
        assert columns == set(rows.columns), rows.table


def test_a_row_round_trips_and_updates_name_their_columns(conn: sqlite3.Connection) -> None:
    records.insert(conn, _worker("w1"))
    assert records.get(conn, "w1") == _worker("w1")
    assert records.update(conn, "w1", 1, state="done", tokens=5)
    assert not records.update(conn, "w1", 2, state="lost")  # another generation: not this row
    assert (records.get(conn, "w1").state, records.get(conn, "w1").tokens) == ("done", 5)
    with pytest.raises(ValueError, match=r"unknown workers columns: \['stat'\]"):
        records.update(conn, "w1", 1, stat="done")
    entry = entries.add(conn, "floor/t-aaaa", "t-aaaa", "main", "abc", NOW)
    entries.update(conn, entry.id, NOW, gate_reused=1)
    assert entries.get(conn, entry.id).gate_reused is True  # read back as the dataclass's type


def test_writes_join_the_callers_transaction(conn: sqlite3.Connection) -> None:
    with pytest.raises(RuntimeError), db.transaction(conn):
        records.insert(conn, _worker("w1"))
        entries.add(conn, "floor/t-aaaa", "t-aaaa", "main", "abc", NOW)
        raise RuntimeError("the caller fails after both writes")
    assert records.find(conn, "w1") is None and entries.list_entries(conn) == []
    with db.transaction(conn):
        records.insert(conn, _worker("w1"))
        assert conn.in_transaction  # the write did not commit the caller's transaction
    assert records.find(conn, "w1") is not None


WRITE = re.compile(
    r"\b(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|REPLACE\s+INTO|DELETE\s+FROM|UPDATE)\s+(\w+)(?:\s*\(|\s+SET|\s+WHERE|\s+VALUES|\s*$)"
)
READ = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)")


def _owners() -> dict[str, str]:
    """Each table, by the package whose migrations create it."""
    scratch = sqlite3.connect(":memory:")
    owners: dict[str, str] = {}
    for m in tables.ALL:
        for _, step in m.steps:
            step(scratch)
        for (name,) in scratch.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            owners.setdefault(name, m.package)
    return owners


def test_no_module_has_sql_on_another_packages_table() -> None:
    owners = _owners()
    root = Path(tables.__file__).parents[1]
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        package = relative.split("/")[0].removesuffix(".py")
        text = path.read_text()
        for verb, pattern in (("writes", WRITE), ("reads", READ)):
            for table in pattern.findall(text):
                owner = owners.get(table)
                if owner is not None and owner != package:
                    found.append(f"{relative} {verb} {table} ({owner}'s)")
    assert found == []
    assert {"workers", "queue_entries", "attempts", "gate_runs", "issues"} <= set(owners)  # the scan sees them
