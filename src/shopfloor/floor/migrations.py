"""The floor's tables: attempts (``attempts``), the retries that start a new series of them (``retry``),
and the agent's lessons of each finished series (``lessonturn``)."""

from __future__ import annotations

from shopfloor.tracker.migrate import Migrations, run_script

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3

migrations = Migrations("floor", after="learn")


@migrations.register
def m001_attempts(conn: sqlite3.Connection) -> None:
    """Attempts: one pass of an agent at an issue, ending in a gate verdict."""
    run_script(
        conn,
        """
        CREATE TABLE attempts (
          id INTEGER PRIMARY KEY,
          issue TEXT NOT NULL,
          worker TEXT NOT NULL,
          generation INTEGER NOT NULL,
          agent TEXT NOT NULL,
          vibe INTEGER NOT NULL,
          session_id TEXT,
          started_at TEXT NOT NULL,
          ended_at TEXT,
          tokens INTEGER NOT NULL DEFAULT 0,
          cost_usd REAL NOT NULL DEFAULT 0,
          diff_stat TEXT,
          diff_fingerprint TEXT,
          gate_run INTEGER,
          verdict TEXT,
          signatures TEXT,
          passing TEXT,
          failed_checks TEXT,
          handoff INTEGER NOT NULL DEFAULT 0,
          outcome TEXT
        );
        CREATE INDEX attempts_issue ON attempts(issue, id);
        CREATE UNIQUE INDEX attempts_worker ON attempts(worker, generation);
        """,
    )


@migrations.register
def m002_containment(conn: sqlite3.Connection) -> None:
    """Containment: each attempt says whether its agent ran in a sandbox and what the floor
    refused it."""
    run_script(
        conn,
        """
        ALTER TABLE attempts ADD COLUMN sandbox TEXT NOT NULL DEFAULT 'none';
        ALTER TABLE attempts ADD COLUMN refused TEXT;
        """,
    )


@migrations.register
def m003_retries(conn: sqlite3.Connection) -> None:
    """Retries: an issue's attempts come in series; ``shopfloor retry`` starts a new one (a row
    in ``retries``), so spiral detection counts only the current series and a new worker of the
    same name and generation never reuses an old series' attempt."""
    run_script(
        conn,
        """
        ALTER TABLE attempts ADD COLUMN series INTEGER NOT NULL DEFAULT 1;
        DROP INDEX attempts_worker;
        CREATE UNIQUE INDEX attempts_worker ON attempts(worker, generation, series);
        CREATE TABLE retries (
          issue TEXT NOT NULL,
          series INTEGER NOT NULL,
          actor TEXT NOT NULL,
          at TEXT NOT NULL,
          fresh INTEGER NOT NULL DEFAULT 0,
          agent TEXT,
          note TEXT,
          kept_branch TEXT,
          PRIMARY KEY (issue, series)
        ) WITHOUT ROWID;
        """,
    )


@migrations.register
def m004_learnings(conn: sqlite3.Connection) -> None:
    """Which learnings (the memory's source ids, a JSON list) briefed each attempt's worker."""
    run_script(conn, "ALTER TABLE attempts ADD COLUMN learnings TEXT;")


@migrations.register
def m005_lessons(conn: sqlite3.Connection) -> None:
    """Lessons: the one resumed turn that asks a finished issue's agent what the next agent on
    this code should know (``floor.lessons``): per series, its bullets (a JSON list) or why there
    are none, and what the turn spent (the retro's own cost)."""
    run_script(
        conn,
        """
        CREATE TABLE lessons (
          issue TEXT NOT NULL,
          series INTEGER NOT NULL,
          worker TEXT NOT NULL,
          generation INTEGER NOT NULL,
          asked_at TEXT NOT NULL,
          base_tokens INTEGER NOT NULL DEFAULT 0,
          base_cost_usd REAL NOT NULL DEFAULT 0,
          settled_at TEXT,
          bullets TEXT,
          why TEXT,
          tokens INTEGER NOT NULL DEFAULT 0,
          cost_usd REAL NOT NULL DEFAULT 0,
          PRIMARY KEY (issue, series)
        ) WITHOUT ROWID;
        """,
    )


@migrations.register
def m006_reviews(conn: sqlite3.Connection) -> None:
    """Reviews: a person's line comments on an attempt's change, sent to the same session as the
    next attempt's input (``attempts.input``: what the attempt began with, "review")."""
    run_script(
        conn,
        """
        CREATE TABLE reviews (
          id INTEGER PRIMARY KEY,
          issue TEXT NOT NULL,
          worker TEXT NOT NULL,
          attempt INTEGER,
          head TEXT NOT NULL,
          actor TEXT NOT NULL,
          at TEXT NOT NULL,
          comments TEXT NOT NULL,
          note TEXT,
          prompt TEXT NOT NULL,
          answered_by INTEGER,
          sent_at TEXT
        );
        CREATE INDEX reviews_issue ON reviews(issue, id);
        ALTER TABLE attempts ADD COLUMN input TEXT;
        """,
    )
