"""The tracker's reads and writes that the CLI's ``stats``, ``doctor`` and database rebuild use
(``tracker.store``, ``tracker.writes``): the CLI runs no SQL of its own (tests/test_rows.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from shopfloor.tracker import db, store, writes

T0, T1 = "2026-01-01T00:00:00.000000Z", "2026-01-01T06:00:00.000000Z"


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    return db.connect(tmp_path / "t.db", create=True)


def _create(conn: sqlite3.Connection, title: str, **fields: object) -> str:
    return writes.create(conn, prefix="t", actor="alice", now=T0, fields={"title": title, **fields})


def test_counts_group_by_a_known_column_only(conn: sqlite3.Connection) -> None:
    a = _create(conn, "a", type="bug", priority=1)
    _create(conn, "b", type="bug", priority=2)
    writes.close(conn, a, "done", "alice", T1)
    assert store.counts_by(conn, "type") == {"bug": 2}
    assert store.counts_by(conn, "priority") == {1: 1, 2: 1}
    assert store.status_counts(conn) == {"closed": 1, "open": 1}
    assert store.closed_spans(conn) == [(T0, T1)]
    with pytest.raises(ValueError, match="not counted by 'title; DROP TABLE issues'"):
        store.counts_by(conn, "title; DROP TABLE issues")


def test_dangling_dependencies_are_those_on_a_missing_issue(conn: sqlite3.Connection) -> None:
    a = _create(conn, "a")
    b = _create(conn, "b")
    writes.add_dep(conn, a, b, "blocks", "alice", T0)
    assert store.dangling_deps(conn) == []
    conn.execute("DELETE FROM issues WHERE id = ?", (b,))  # e.g. an import that dropped it
    assert store.dangling_deps(conn) == [(a, b)]


def test_set_meta_replaces_the_prefix(conn: sqlite3.Connection) -> None:
    writes.set_meta(conn, "prefix", "aa")
    writes.set_meta(conn, "prefix", "bb")
    assert store.get_meta(conn, "prefix") == "bb"
