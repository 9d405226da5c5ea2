"""The tracker as one object: find the database, keep it in step with the JSONL, act as an actor.

This is the seam the CLI (and later the floor) use. It holds no state of its own beyond an
open connection: every fact lives in SQLite. It is on every command's start-up path, so the
heavier modules (writes, sync) are imported only when a command needs them.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time

from shopfloor.errors import ShopfloorError
from shopfloor.tracker import db, store, syncstate
from shopfloor.tracker.clock import iso
from shopfloor.tracker.locate import Location, locate

ACTOR_ENV = "SHOPFLOOR_ACTOR"
DEFAULT_LEASE_S = 30 * 60.0


def default_actor() -> str:
    return os.environ.get(ACTOR_ENV) or os.environ.get("USER") or os.environ.get("LOGNAME") or "unknown"


class Tracker:
    __slots__ = ("actor", "conn", "import_error", "location", "notices", "prefix")

    def __init__(self, location: Location, conn: sqlite3.Connection, actor: str, prefix: str) -> None:
        self.location = location
        self.conn = conn
        self.actor = actor
        self.prefix = prefix
        self.notices: list[str] = []
        self.import_error: str | None = None  # why the JSONL could not be auto-imported

    @staticmethod
    def open(actor: str | None = None, start: str | None = None, *, auto_import: bool = True) -> Tracker:
        location = locate(start)
        fresh = not os.path.exists(location.db_file)
        config = os.path.join(location.worktree_dir, ".shopfloor", "config.toml")
        if fresh and not os.path.exists(config) and not os.environ.get("SHOPFLOOR_DB"):
            raise ShopfloorError(
                f"shopfloor is not set up in {location.worktree_dir}: run `shopfloor init` (no .shopfloor/ found)"
            )
        conn = db.connect(location.db_file, create=True)
        prefix = store.get_meta(conn, "prefix")
        if prefix is None:
            prefix = _bootstrap_prefix(conn, location)
        tracker = Tracker(location, conn, actor or default_actor(), prefix)
        if auto_import:
            tracker.auto_import()
        return tracker

    def sibling(self) -> Tracker:
        """Another connection to the same database, as the same actor, for another thread (a
        connection is never shared across threads: the floor's gate jobs, starts and queue lane)."""
        return Tracker(self.location, db.connect(self.location.db_file, create=False), self.actor, self.prefix)

    def close(self) -> None:
        self.conn.close()

    def now(self) -> str:
        return iso(time.time())

    def lease_until(self, lease_s: float) -> str:
        return iso(time.time() + lease_s)

    def write(self) -> db.transaction:
        return db.transaction(self.conn)

    def auto_import(self) -> None:
        """Import the worktree's JSONL if it changed since the last sync (e.g. after ``git pull``).

        A broken file does not stop the command: it is reported once and retried next time,
        and ``shopfloor import`` shows the full error.
        """
        path = self.location.jsonl_file
        try:
            if not syncstate.needs_import(self.conn, path):
                return
            from shopfloor.tracker import sync  # lazy: only when the JSONL changed (start-up time)

            plan = sync.import_file(self.conn, self.location.jsonl_path, "shopfloor", self.now(), only_if_changed=True)
        except ShopfloorError as exc:
            self.import_error = str(exc)
            self.notices.append(f"warning: not auto-importing: {exc}")
            return
        if plan.new or plan.updated or plan.renames or plan.adopted or plan.older_in_file:
            self.notices.append(f"imported {os.path.basename(path)} ({sync.summary(plan)})")
        self.notices.extend(sync.rename_lines(plan, self.location.jsonl_path))

    def reclaim_expired(self) -> list[str]:
        """Return expired leases to ready; a read-only check first keeps the common case cheap."""
        now = self.now()
        if not store.expired_leases(self.conn, now):
            return []
        from shopfloor.tracker import writes  # lazy: only when a lease expired (start-up time)

        with self.write() as conn:
            return writes.reclaim_expired(conn, now)

    def resolve(self, text: str) -> str:
        return store.resolve(self.conn, text, self.prefix)

    def flush_notices(self) -> None:
        for line in self.notices:
            print(line, file=sys.stderr)
        self.notices.clear()


def _bootstrap_prefix(conn: sqlite3.Connection, location: Location) -> str:
    """A new database in an existing setup (a fresh clone): take the prefix from config."""
    from shopfloor.tracker.config import read_config  # lazy: only for a fresh clone's database

    prefix = read_config(location.config_path).prefix
    with db.transaction(conn):
        conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('prefix', ?)", (prefix,))
    return store.get_meta(conn, "prefix") or prefix
