"""The gate's tables: every run with its report, and the per-check result cache (``runlog``)."""

from __future__ import annotations

from shopfloor.tracker.migrate import Migrations, run_script

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3

migrations = Migrations("gate", after="workers")


@migrations.register
def m001_runs_and_cache(conn: sqlite3.Connection) -> None:
    """Gate runs (every verdict, with its report) and the per-check result cache."""
    run_script(
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


@migrations.register
def m002_advisory(conn: sqlite3.Connection) -> None:
    """A gate run an agent started itself is advisory: never cached, never a verdict."""
    run_script(
        conn,
        """
        ALTER TABLE gate_runs ADD COLUMN advisory INTEGER NOT NULL DEFAULT 0;
        """,
    )
