"""The tracker's schema steps as they shipped before each package owned its tables (numbered
1 to 12 in ``PRAGMA user_version``), frozen as test data: the upgrade tests build databases at
each old version with them and check ``db.connect`` upgrades those to the schema a new database
gets. Copied unchanged from ``tracker/db.py`` at the last commit that had them; never edit."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from shopfloor.tracker.schema import COLUMN_FIELDS, SEARCHABLE, Field


def _column_sql(field: Field) -> str:
    sql_type = "INTEGER" if field.kind == "int" else "TEXT"
    if field.name == "id":
        return "id TEXT NOT NULL UNIQUE"
    return f"{field.name} {sql_type}"


def _migration_1(conn: sqlite3.Connection) -> None:
    """The initial schema: issue columns come from ``schema.FIELDS``; side tables for the rest."""
    columns = ",\n  ".join(_column_sql(f) for f in COLUMN_FIELDS)
    fts_columns = ", ".join(SEARCHABLE)
    _run_script(
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
    _run_script(conn, _fts_triggers())


def _fts_triggers() -> str:
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


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run statements one by one: ``executescript`` would commit the open transaction."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement: {statement!r}")


def _migration_2(conn: sqlite3.Connection) -> None:
    """Remember the content last synced with each JSONL file: the base of a three-way import.

    A table of its own: as a column of sync_state, a 10 MB row made the lookup that every
    command does take 10 ms.
    """
    conn.execute("CREATE TABLE sync_base (path TEXT PRIMARY KEY, content BLOB NOT NULL)")


def _migration_3(conn: sqlite3.Connection) -> None:
    """Index an issue's identity (created_at, created_by): creates keep it unique, imports use it."""
    conn.execute("CREATE INDEX issues_identity ON issues(created_at, created_by)")


def _migration_4(conn: sqlite3.Connection) -> None:
    """Workers: one row per worker slot, written by the shim that runs its agent.

    ``generation`` goes up on every restart; a shim only writes rows of its own generation,
    so an old shim that is still dying can never overwrite its successor's state.
    """
    _run_script(
        conn,
        """
        CREATE TABLE workers (
          name TEXT PRIMARY KEY,
          issue TEXT NOT NULL,
          actor TEXT NOT NULL,
          branch TEXT NOT NULL,
          worktree TEXT NOT NULL,
          agent TEXT NOT NULL,
          state TEXT NOT NULL,
          terminal TEXT NOT NULL,
          generation INTEGER NOT NULL DEFAULT 1,
          session_id TEXT,
          context_tokens INTEGER NOT NULL DEFAULT 0,
          context_window INTEGER,
          context_used REAL,
          tokens INTEGER NOT NULL DEFAULT 0,
          cost_usd REAL NOT NULL DEFAULT 0,
          pid INTEGER,
          pid_start TEXT,
          agent_pid INTEGER,
          agent_pid_start TEXT,
          exit_code INTEGER,
          error TEXT,
          wip_commit TEXT,
          last_event TEXT,
          log_dir TEXT NOT NULL,
          started_at TEXT NOT NULL,
          last_event_at TEXT,
          ended_at TEXT
        );
        CREATE INDEX workers_issue ON workers(issue);
        """,
    )


def _migration_5(conn: sqlite3.Connection) -> None:
    """Gate runs (every verdict, with its report) and the per-check result cache."""
    _run_script(
        conn,
        """
        CREATE TABLE gate_runs (
          id INTEGER PRIMARY KEY,
          rev TEXT NOT NULL,
          commit_sha TEXT NOT NULL,
          tree TEXT NOT NULL,
          base TEXT NOT NULL,
          base_sha TEXT NOT NULL,
          config_hash TEXT NOT NULL,
          verdict TEXT NOT NULL,
          issue TEXT,
          attempt TEXT,
          cached INTEGER NOT NULL DEFAULT 0,
          duration_s REAL NOT NULL,
          report TEXT NOT NULL,
          created_at TEXT NOT NULL
        );
        CREATE INDEX gate_runs_issue ON gate_runs(issue, id);
        CREATE TABLE gate_cache (
          tree TEXT NOT NULL,
          base_tree TEXT NOT NULL,
          config_hash TEXT NOT NULL,
          check_name TEXT NOT NULL,
          result TEXT NOT NULL,
          created_at TEXT NOT NULL,
          PRIMARY KEY (tree, base_tree, config_hash, check_name)
        ) WITHOUT ROWID;
        """,
    )


def _migration_6(conn: sqlite3.Connection) -> None:
    """Merge queue entries: what was asked to land, what was tested, what landed."""
    _run_script(
        conn,
        """
        CREATE TABLE queue_entries (
          id INTEGER PRIMARY KEY,
          branch TEXT NOT NULL,
          issue TEXT,
          target TEXT NOT NULL,
          state TEXT NOT NULL,
          head TEXT NOT NULL,
          tested TEXT,
          merged TEXT,
          gate_run INTEGER,
          detail TEXT,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL
        );
        CREATE INDEX queue_state ON queue_entries(state, id);
        """,
    )


def _migration_7(conn: sqlite3.Connection) -> None:
    """Attempts: one pass of an agent at an issue, ending in a gate verdict."""
    _run_script(
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


def _migration_8(conn: sqlite3.Connection) -> None:
    """Containment: each attempt says whether its agent ran in a sandbox and what the floor
    refused it; a gate run an agent started itself is advisory (never cached, never a verdict)."""
    _run_script(
        conn,
        """
        ALTER TABLE attempts ADD COLUMN sandbox TEXT NOT NULL DEFAULT 'none';
        ALTER TABLE attempts ADD COLUMN refused TEXT;
        ALTER TABLE gate_runs ADD COLUMN advisory INTEGER NOT NULL DEFAULT 0;
        """,
    )


def _migration_9(conn: sqlite3.Connection) -> None:
    """Retries: an issue's attempts come in series; ``shopfloor retry`` starts a new one (a row
    in ``retries``), so spiral detection counts only the current series and a new worker of the
    same name and generation never reuses an old series' attempt."""
    _run_script(
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


def _migration_10(conn: sqlite3.Connection) -> None:
    """Ports: each worker holds a range of TCP ports (``workspace.ports``), unique among the rows."""
    _run_script(
        conn,
        """
        ALTER TABLE workers ADD COLUMN port_base INTEGER;
        ALTER TABLE workers ADD COLUMN port_count INTEGER NOT NULL DEFAULT 0;
        """,
    )


def _migration_11(conn: sqlite3.Connection) -> None:
    """A queue entry may land on an earlier passing gate run of the same tree, base and rules
    (``queue.reuse``): ``gate_reused`` says its ``gate_run`` was reused, not run for it."""
    _run_script(conn, "ALTER TABLE queue_entries ADD COLUMN gate_reused INTEGER NOT NULL DEFAULT 0;")


def _migration_12(conn: sqlite3.Connection) -> None:
    """The floor reads a worker branch's queue entries every turn: by key, not by a scan of every
    entry ever queued (issue 13: nothing in the loop may grow with the issues it has finished)."""
    _run_script(conn, "CREATE INDEX queue_branch ON queue_entries(branch, id);")


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
    _migration_7,
    _migration_8,
    _migration_9,
    _migration_10,
    _migration_11,
    _migration_12,
)
LATEST = len(MIGRATIONS)


def build(conn: sqlite3.Connection, version: int) -> None:
    """Bring an empty database to ``version`` the way the old code did, one step at a time."""
    for number in range(1, version + 1):
        conn.execute("BEGIN IMMEDIATE")
        MIGRATIONS[number - 1](conn)
        conn.execute(f"PRAGMA user_version={number}")
        conn.execute("COMMIT")
