"""tracker.history: the questions the floor asks of an issue's events and comments."""

from __future__ import annotations

import pytest

from conftest import Runner
from shopfloor.tracker import db, history, store, writes
from test_cli import create

NOW = "2026-06-01T00:00:00.000000Z"


def test_history_answers_who_closed_who_blocked_and_what_they_said(sf: Runner) -> None:
    first = create(sf, "one")
    second = create(sf, "two")
    sf("comment", first, "a person's note", actor="alice")
    sf("comment", first, "why I block it", actor="worker/w1")
    sf("update", first, "--status", "blocked", actor="worker/w1")
    sf("comment", first, "later words", actor="alice")
    sf("close", second, actor="bob")
    conn = db.connect(sf.cwd / ".git" / "shopfloor" / "tracker.db", create=False)
    assert history.last_actor(conn, second, "closed") == "bob"
    assert history.last_actor(conn, first, "closed") is None
    assert history.last_setter(conn, first, "status", "blocked") == "worker/w1"
    assert history.last_setter(conn, second, "status", "blocked") is None
    assert history.last_comment(conn, first) == "later words"
    assert history.last_comment(conn, first, actor="worker/w1") == "why I block it"
    blocked_at = conn.execute(
        "SELECT seq FROM events WHERE issue = ? AND field = 'status' AND new = 'blocked'", (first,)
    ).fetchone()[0]
    assert history.last_comment(conn, first, before=blocked_at) == "why I block it"
    assert history.happened(conn, second, "closed", "bob", "2000-01-01T00:00:00.000000Z")
    assert not history.happened(conn, second, "closed", "bob", "2999-01-01T00:00:00.000000Z")
    newest = history.last_seq(conn)
    assert newest == conn.execute("SELECT MAX(seq) FROM events").fetchone()[0]
    last_kind = conn.execute("SELECT kind FROM events WHERE seq = ?", (newest,)).fetchone()[0]
    assert history.last_seq(conn, excluding=(last_kind,)) < newest


def test_peek_reads_named_columns_and_release_frees_only_its_holders_claim(sf: Runner) -> None:
    issue = create(sf, "claimed")
    sf("update", issue, "--claim", actor="worker/w1")
    conn = db.connect(sf.cwd / ".git" / "shopfloor" / "tracker.db", create=False)
    assert store.peek(conn, issue, "status", "assignee") == ("in_progress", "worker/w1")
    assert store.peek(conn, "t-none", "status") is None
    with pytest.raises(ValueError, match="not issue columns"):
        store.peek(conn, issue, "status; DROP TABLE issues")
    with db.transaction(conn):
        assert not writes.release(conn, issue, "worker/w2", "floor", NOW)  # not w2's claim
    assert store.peek(conn, issue, "status") == ("in_progress",)
    with db.transaction(conn):
        assert writes.release(conn, issue, "worker/w1", "floor", NOW)
    assert store.peek(conn, issue, "status", "assignee")[0] == "open"


def test_what_changed_since_an_event(sf: Runner) -> None:
    before = create(sf, "closed before the mark")
    sf("close", before, "--reason", "merged to main as abc")
    conn = db.connect(sf.cwd / ".git" / "shopfloor" / "tracker.db", create=False)
    mark = history.last_seq(conn)
    landed, dropped, stuck, unstuck = (create(sf, t) for t in ("landed", "dropped", "stuck", "unstuck"))
    sf("close", landed, "--reason", "merged to main as def")
    sf("close", dropped, "--reason", "not needed")
    for issue in (stuck, unstuck):
        sf("comment", issue, "blocked: needs a person")
        sf("update", issue, "--status", "blocked")
    sf("update", unstuck, "--status", "open")
    assert history.closed_since(conn, mark, "merged to ") == [(landed, "landed", "merged to main as def")]
    [(issue, title, at)] = history.set_to_since(conn, mark, "blocked")
    assert (issue, title) == (stuck, "stuck") and history.last_comment(
        conn, stuck, before=at
    ) == "blocked: needs a person"
    assert history.comments_starting(conn, [stuck, landed], ["blocked:", "other"]) == [
        (stuck, "blocked: needs a person")
    ]
