"""The merge queue's table: one row per change asked to land (``entries``)."""

from __future__ import annotations

from shopfloor.tracker.migrate import Migrations, run_script

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3

migrations = Migrations("queue", after="gate")


@migrations.register
def m001_entries(conn: sqlite3.Connection) -> None:
    """Merge queue entries: what was asked to land, what was tested, what landed."""
    run_script(
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


@migrations.register
def m002_gate_reused(conn: sqlite3.Connection) -> None:
    """A queue entry may land on an earlier passing gate run of the same tree, base and rules
    (``queue.reuse``): ``gate_reused`` says its ``gate_run`` was reused, not run for it."""
    run_script(conn, "ALTER TABLE queue_entries ADD COLUMN gate_reused INTEGER NOT NULL DEFAULT 0;")


@migrations.register
def m003_branch_index(conn: sqlite3.Connection) -> None:
    """The floor reads a worker branch's queue entries every turn: by key, not by a scan of every
    entry ever queued (issue 13: nothing in the loop may grow with the issues it has finished)."""
    run_script(conn, "CREATE INDEX queue_branch ON queue_entries(branch, id);")
