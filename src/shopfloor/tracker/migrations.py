"""The tracker's own tables: issues, their dependencies, labels, comments and events, the
full-text index, and what the JSONL sync remembers (see ``migrate`` for how steps work)."""

from __future__ import annotations

import sqlite3

from shopfloor.tracker.migrate import Migrations, run_script
from shopfloor.tracker.schema import COLUMN_FIELDS, SEARCHABLE, Field

migrations = Migrations("tracker")


def _column_sql(field: Field) -> str:
    sql_type = "INTEGER" if field.kind == "int" else "TEXT"
    if field.name == "id":
        return "id TEXT NOT NULL UNIQUE"
    return f"{field.name} {sql_type}"


@migrations.register
def m001_initial(conn: sqlite3.Connection) -> None:
    """The initial schema: issue columns come from ``schema.FIELDS``; side tables for the rest."""
    columns = ",\n  ".join(_column_sql(f) for f in COLUMN_FIELDS)
    fts_columns = ", ".join(SEARCHABLE)
    run_script(
        conn,
        f"""
        CREATE TABLE issues (
          {columns}
        );
        CREATE INDEX issues_ready ON issues(status, priority, created_at, id);
        CREATE INDEX issues_lease ON issues(lease_until) WHERE lease_until IS NOT NULL;
        CREATE TABLE deps (
          issue TEXT NOT NULL,
          depends_on TEXT NOT NULL,
          type TEXT NOT NULL,
          PRIMARY KEY (issue, depends_on, type)
        ) WITHOUT ROWID;
        CREATE INDEX deps_target ON deps(depends_on, type, issue);
        CREATE TABLE labels (
          issue TEXT NOT NULL,
          label TEXT NOT NULL,
          PRIMARY KEY (issue, label)
        ) WITHOUT ROWID;
        CREATE INDEX labels_label ON labels(label, issue);
        CREATE TABLE comments (
          id TEXT NOT NULL,
          issue TEXT NOT NULL,
          author TEXT NOT NULL,
          text TEXT NOT NULL,
          created_at TEXT NOT NULL,
          PRIMARY KEY (issue, id)
        ) WITHOUT ROWID;
        CREATE TABLE events (
          seq INTEGER PRIMARY KEY,
          issue TEXT NOT NULL,
          actor TEXT NOT NULL,
          kind TEXT NOT NULL,
          field TEXT,
          old TEXT,
          new TEXT,
          at TEXT NOT NULL
        );
        CREATE INDEX events_issue ON events(issue, seq);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE sync_state (
          path TEXT PRIMARY KEY,
          hash TEXT NOT NULL,
          mtime_ns INTEGER NOT NULL,
          size INTEGER NOT NULL,
          at TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE VIRTUAL TABLE issues_fts USING fts5({fts_columns}, content='issues', content_rowid='rowid');
        """,
    )
    run_script(conn, fts_triggers())


def fts_triggers() -> str:
    """The triggers that keep the full-text index in step with ``issues``."""
    fts_columns = ", ".join(SEARCHABLE)
    new_values = ", ".join(f"new.{c}" for c in SEARCHABLE)
    old_values = ", ".join(f"old.{c}" for c in SEARCHABLE)
    return f"""
        CREATE TRIGGER issues_fts_insert AFTER INSERT ON issues BEGIN
          INSERT INTO issues_fts(rowid, {fts_columns}) VALUES (new.rowid, {new_values});
        END;
        CREATE TRIGGER issues_fts_delete AFTER DELETE ON issues BEGIN
          INSERT INTO issues_fts(issues_fts, rowid, {fts_columns}) VALUES ('delete', old.rowid, {old_values});
        END;
        CREATE TRIGGER issues_fts_update AFTER UPDATE OF {fts_columns} ON issues BEGIN
          INSERT INTO issues_fts(issues_fts, rowid, {fts_columns}) VALUES ('delete', old.rowid, {old_values});
          INSERT INTO issues_fts(rowid, {fts_columns}) VALUES (new.rowid, {new_values});
        END;
        """


@migrations.register
def m002_sync_base(conn: sqlite3.Connection) -> None:
    """Remember the content last synced with each JSONL file: the base of a three-way import.

    A table of its own: as a column of sync_state, a 10 MB row made the lookup that every
    command does take 10 ms.
    """
    conn.execute("CREATE TABLE sync_base (path TEXT PRIMARY KEY, content BLOB NOT NULL)")


@migrations.register
def m003_issue_identity(conn: sqlite3.Connection) -> None:
    """Index an issue's identity (created_at, created_by): creates keep it unique, imports use it."""
    conn.execute("CREATE INDEX issues_identity ON issues(created_at, created_by)")
