"""Named migrations: each package's tables, applied by the tracker's database; old databases
(numbered versions 1 to 12) upgrade to exactly the schema a new one gets, keeping their rows."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import legacy_schema
from conftest import Runner
from shopfloor.errors import ShopfloorError
from shopfloor.floor import tables
from shopfloor.tracker import db, migrate

NOW = "2026-01-01T00:00:00.000000Z"
# Rows the old code could hold at each version: (the version that made the table, the insert).
ROWS: list[tuple[int, str]] = [
    (
        1,
        "INSERT INTO issues (id, title, status, priority, created_at, created_by) "
        "VALUES ('t-aaaa', 'kept ✓', 'open', 2, '2026-01-01T00:00:00.000000Z', 'me')",
    ),
    (1, "INSERT INTO labels (issue, label) VALUES ('t-aaaa', 'x')"),
    (1, "INSERT INTO events (issue, actor, kind, at) VALUES ('t-aaaa', 'me', 'created', 'now')"),
    (
        4,
        "INSERT INTO workers (name, issue, actor, branch, worktree, agent, state, terminal, log_dir, started_at) "
        "VALUES ('w1', 't-aaaa', 'worker/w1', 'floor/t-aaaa', '/wt', 'claude', 'done', 'detached', '/log', 'now')",
    ),
    (
        5,
        "INSERT INTO gate_runs (rev, commit_sha, tree, base, base_sha, config_hash, verdict, duration_s, report, "
        "created_at) VALUES ('r', 'c', 't', 'main', 'b', 'h', 'pass', 1.5, '{}', 'now')",
    ),
    (
        6,
        "INSERT INTO queue_entries (branch, target, state, head, created_at, updated_at) "
        "VALUES ('floor/t-aaaa', 'main', 'merged', 'abc', 'now', 'now')",
    ),
    (
        7,
        "INSERT INTO attempts (issue, worker, generation, agent, vibe, started_at) "
        "VALUES ('t-aaaa', 'w1', 1, 'claude', 0, 'now')",
    ),
    (9, "INSERT INTO retries (issue, series, actor, at) VALUES ('t-aaaa', 2, 'me', 'now')"),
]


def _schema(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()


def _applied(conn: sqlite3.Connection) -> set[tuple[str, str]]:
    return set(conn.execute("SELECT package, name FROM _migrations"))


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'issues_fts%'")
    return sorted(r[0] for r in rows)


def _contents(conn: sqlite3.Connection, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    return conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {columns[0]}, {columns[1]}").fetchall()


def _old_database(path: Path, version: int) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """A database made by the old code at ``version``, with rows; returns every table's rows."""
    conn = sqlite3.connect(path, isolation_level=None)
    legacy_schema.build(conn, version)
    for made_at, insert in ROWS:
        if made_at <= version:
            conn.execute(insert)
    kept = {}
    for table in _tables(conn):
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        kept[table] = (columns, _contents(conn, table, columns))
    conn.close()
    return kept


def test_every_package_registers_its_tables_in_layer_order() -> None:
    assert migrate.registered() == list(tables.ALL)
    assert [m.package for m in tables.ALL] == ["tracker", "workers", "gate", "queue", "learn", "floor"]
    named = {(m.package, name) for m in tables.ALL for name in m.names}
    assert {pair for step in db.NUMBERED for pair in step} <= named  # every old step is a named one


@pytest.mark.parametrize("version", range(13))
def test_an_old_database_upgrades_to_the_new_schema_and_keeps_its_rows(tmp_path: Path, version: int) -> None:
    fresh = db.connect(tmp_path / "fresh.db", create=True)
    old = tmp_path / "old.db"
    kept = _old_database(old, version)
    upgraded = db.connect(old, create=True)
    assert _schema(upgraded) == _schema(fresh)
    assert _applied(upgraded) == _applied(fresh)
    assert upgraded.execute("PRAGMA user_version").fetchone()[0] == db.LATEST
    for table, (columns, rows) in kept.items():
        assert _contents(upgraded, table, columns) == rows, table
    if version >= 1:
        hit = upgraded.execute(
            "SELECT issues.id FROM issues_fts JOIN issues ON issues.rowid = issues_fts.rowid "
            "WHERE issues_fts MATCH 'kept'"
        )
        assert [r[0] for r in hit] == ["t-aaaa"]  # the search index came along too
    if version >= 8:  # columns added by later steps read their defaults
        assert upgraded.execute("SELECT sandbox, series FROM attempts").fetchall() == [("none", 1)]
    upgraded.close()
    again = db.connect(old, create=False)  # nothing left to do: the same schema, no new steps
    assert _schema(again) == _schema(fresh)


def test_a_process_applies_only_the_packages_it_loaded_and_the_rest_later(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    code = f"from shopfloor.tracker import db; db.connect({str(path)!r}, create=True).close()"
    subprocess.run([sys.executable, "-c", code], check=True)
    conn = sqlite3.connect(path)
    assert {p for p, _ in _applied(conn)} == {"tracker"}
    assert "workers" not in _tables(conn)
    conn.close()
    full = db.connect(path, create=False)  # this process knows every package: it adds theirs
    assert _schema(full) == _schema(db.connect(tmp_path / "fresh.db", create=True))
    full.close()
    # A process that has not loaded a package leaves its steps alone: no "newer" refusal.
    subprocess.run([sys.executable, "-c", code.replace("create=True", "create=False")], check=True)


@pytest.mark.parametrize("step", [("workers", "m099_from_the_future"), ("billing", "m001_initial")])
def test_a_step_this_shopfloor_does_not_know_is_refused_in_one_line(tmp_path: Path, step: tuple[str, str]) -> None:
    path = tmp_path / "t.db"
    conn = db.connect(path, create=True)
    conn.execute("INSERT INTO _migrations VALUES (?, ?, ?)", (*step, NOW))
    before = _schema(conn)
    conn.close()
    with pytest.raises(ShopfloorError) as caught:
        db.connect(path, create=True)
    message = str(caught.value)
    assert "created by a newer shopfloor" in message and f"{step[0]}.{step[1]}" in message
    assert "upgrade shopfloor" in message and "\n" not in message
    assert _schema(sqlite3.connect(path)) == before  # nothing changed


def test_the_cli_refuses_a_database_with_an_unknown_step(sf: Runner) -> None:
    path = sf.cwd / ".git" / "shopfloor" / "tracker.db"
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO _migrations VALUES ('queue', 'm050_later', ?)", (NOW,))
    conn.commit()
    conn.close()
    done = sf("list", check=False)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "created by a newer shopfloor" in done.stderr


def test_step_names_are_numbered_in_order() -> None:
    steps = migrate.Migrations("test-only-names")
    try:
        with pytest.raises(ValueError, match="m001_"):

            @steps.register
            def m002_skipped(conn: sqlite3.Connection) -> None: ...

        with pytest.raises(ValueError, match="declared twice"):
            migrate.Migrations("test-only-names")
    finally:
        migrate._REGISTRY.pop("test-only-names")


def test_the_cli_process_creates_every_packages_tables(sf: Runner) -> None:
    path = sf.cwd / ".git" / "shopfloor" / "tracker.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    command = [sys.executable, "-m", "shopfloor", "ready", "--json"]
    subprocess.run(command, cwd=sf.cwd, env=sf.env, check=True, capture_output=True)  # a real process
    conn = sqlite3.connect(path)
    assert {p for p, _ in _applied(conn)} == {m.package for m in tables.ALL}
    assert {"workers", "gate_runs", "queue_entries", "attempts"} <= set(_tables(conn))
