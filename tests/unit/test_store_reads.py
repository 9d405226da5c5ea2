"""The tracker's reads and writes that the CLI's ``stats``, ``doctor`` and database rebuild use
(``tracker.store``, ``tracker.writes``): the CLI runs no SQL of its own (tests/test_rows.py).
And the one lease renewal (``writes.renew``) that the floor, a worker's start and its shim use."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from shopfloor.errors import ConflictError
from shopfloor.tracker import db, store, writes
from shopfloor.tracker.clock import iso

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


def test_one_renewal_writes_when_half_the_lease_is_gone_and_takes_back_only_when_told(
    conn: sqlite3.Connection,
) -> None:
    a = _create(conn, "a")
    now, lease = 1_800_000_000.0, 1800.0
    writes.claim(conn, a, "floor", iso(now), iso(now + lease))
    assert not writes.renew(conn, a, "floor", now + 60, lease, take=False)  # fresh: a read, no write
    assert not conn.in_transaction
    later = now + lease * 0.6
    assert writes.renew(conn, a, "floor", later, lease, take=False)
    assert not conn.in_transaction and store.get(conn, a)["lease_until"] == iso(later + lease)
    with pytest.raises(ConflictError, match="does not hold"):  # a shim never renews another's claim
        writes.renew(conn, a, "worker/w1", later, lease, take=False)
    with pytest.raises(RuntimeError), db.transaction(conn):  # it joins the caller's transaction
        writes.renew(conn, a, "floor", later + lease, lease, take=True)
        raise RuntimeError("the caller fails after the renewal")
    assert store.get(conn, a)["lease_until"] == iso(later + lease)
    writes.release(conn, a, "floor", "floor", iso(later))
    with pytest.raises(ConflictError, match="no longer holds"):  # nor claims an issue gone back to ready
        writes.renew(conn, a, "floor", later, lease, take=False)
    assert store.get(conn, a)["status"] == "open"
    assert writes.renew(conn, a, "floor", later, lease, take=True)  # the floor and a start hold it again
    taken = store.get(conn, a)
    assert (taken["status"], taken["assignee"], taken["lease_until"]) == ("in_progress", "floor", iso(later + lease))
