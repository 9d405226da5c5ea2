"""The workers' table: one row per worker slot (``records``)."""

from __future__ import annotations

from shopfloor.tracker.migrate import Migrations, run_script

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3

migrations = Migrations("workers", after="tracker")


@migrations.register
def m001_workers(conn: sqlite3.Connection) -> None:
    """Workers: one row per worker slot, written by the shim that runs its agent.

    ``generation`` goes up on every restart; a shim only writes rows of its own generation,
    so an old shim that is still dying can never overwrite its successor's state.
    """
    run_script(
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


@migrations.register
def m002_ports(conn: sqlite3.Connection) -> None:
    """Ports: each worker holds a range of TCP ports (``workspace.ports``), unique among the rows."""
    run_script(
        conn,
        """
        ALTER TABLE workers ADD COLUMN port_base INTEGER;
        ALTER TABLE workers ADD COLUMN port_count INTEGER NOT NULL DEFAULT 0;
        """,
    )
