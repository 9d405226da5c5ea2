"""The memory's tables: the documents, their FTS5 index, and what each was built from (``index``)."""

from __future__ import annotations

from shopfloor.tracker.migrate import Migrations, run_script

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3

migrations = Migrations("learn", after="queue")


@migrations.register
def m001_memory(conn: sqlite3.Connection) -> None:
    """Documents (one per source id), an FTS5 index over their title and body, and the origins
    they came from (a file by its stamp, an attempt once it is final), so a refresh reads only
    what changed."""
    run_script(
        conn,
        """
        CREATE TABLE learn_docs (
          id INTEGER PRIMARY KEY,
          source TEXT NOT NULL UNIQUE,
          kind TEXT NOT NULL,
          title TEXT NOT NULL,
          place TEXT NOT NULL,
          origin TEXT NOT NULL,
          body TEXT NOT NULL
        );
        CREATE INDEX learn_docs_origin ON learn_docs(origin);
        CREATE VIRTUAL TABLE learn_fts USING fts5(
          title, body, content='learn_docs', content_rowid='id', tokenize='porter unicode61'
        );
        CREATE TABLE learn_origins (
          origin TEXT PRIMARY KEY,
          stamp TEXT NOT NULL
        ) WITHOUT ROWID;
        """,
    )


@migrations.register
def m002_rules(conn: sqlite3.Connection) -> None:
    """Rules promoted from recurring failures (``learn.rules``): one per failure signature, proposed
    once, then accepted, rejected or retired by a person."""
    run_script(
        conn,
        """
        CREATE TABLE learn_rules (
          id INTEGER PRIMARY KEY,
          text TEXT NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('proposed', 'accepted', 'rejected', 'retired')),
          signature TEXT NOT NULL UNIQUE,
          evidence TEXT NOT NULL,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL,
          accepted_by TEXT
        );
        """,
    )


@migrations.register
def m003_rules_accepted_at(conn: sqlite3.Connection) -> None:
    """When a person last accepted each rule: ``shopfloor metrics`` splits its signature's rate
    there. A rule accepted before this step counts from its last change."""
    run_script(
        conn,
        """
        ALTER TABLE learn_rules ADD COLUMN accepted_at TEXT;
        UPDATE learn_rules SET accepted_at = updated_at WHERE state = 'accepted';
        """,
    )
