"""The SQLite adapter: connection settings, migrations applied, write transactions.

One database per repository, in WAL mode so readers never wait for a writer. Every write
runs in ``BEGIN IMMEDIATE``: the write lock is taken up front, so two claimers can never both
read "unclaimed" and then both write. A busy timeout makes concurrent writers queue instead
of failing with "database is locked".
"""

from __future__ import annotations

import os
import sqlite3
import time

from shopfloor.errors import ShopfloorError
from shopfloor.tracker import migrate as migrate_steps
from shopfloor.tracker.clock import iso
from shopfloor.tracker.migrate import run_script
from shopfloor.tracker.migrations import fts_triggers

TYPE_CHECKING = False
if TYPE_CHECKING:
    from os import PathLike
    from types import TracebackType

    from shopfloor.tracker.migrate import Step

BUSY_TIMEOUT_S = 60.0


class CorruptDatabaseError(ShopfloorError):
    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason  # SQLite's own words, for doctor


class fts_suspended:
    """Inside a write transaction: skip per-row index updates, then rebuild the index once.

    For bulk imports: the per-row triggers cost more than the rest of the import together.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        for name in ("insert", "delete", "update"):
            self.conn.execute(f"DROP TRIGGER issues_fts_{name}")

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        if kind is None:
            self.conn.execute("INSERT INTO issues_fts(issues_fts) VALUES ('rebuild')")
            run_script(self.conn, fts_triggers())


# ``PRAGMA user_version`` of a database that names its steps in ``_migrations`` (see ``migrate``).
# Versions 1 to 12 counted one sequence of steps, all written here before each package owned its
# tables; ``NUMBERED[n - 1]`` is what step n became. Append-only history: never edit it.
LATEST = 13
NUMBERED: tuple[tuple[tuple[str, str], ...], ...] = (
    (("tracker", "m001_initial"),),
    (("tracker", "m002_sync_base"),),
    (("tracker", "m003_issue_identity"),),
    (("workers", "m001_workers"),),
    (("gate", "m001_runs_and_cache"),),
    (("queue", "m001_entries"),),
    (("floor", "m001_attempts"),),
    (("floor", "m002_containment"), ("gate", "m002_advisory")),
    (("floor", "m003_retries"),),
    (("workers", "m002_ports"),),
    (("queue", "m002_gate_reused"),),
    (("queue", "m003_branch_index"),),
)
_BOOK = """CREATE TABLE _migrations (
  package TEXT NOT NULL,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL,
  PRIMARY KEY (package, name)
) WITHOUT ROWID"""


def connect(path: str | PathLike[str], *, create: bool) -> sqlite3.Connection:
    """Open the database at ``path``, creating and migrating it when ``create`` is set."""
    path = os.fspath(path)
    if not create and not os.path.exists(path):
        raise ShopfloorError(f"no tracker database at {path}: run `shopfloor init`")
    if os.path.isdir(path):
        raise ShopfloorError(f"the tracker database path {path} is a directory: point SHOPFLOOR_DB at a file")
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise ShopfloorError(
            f"cannot open the tracker database {path} ({exc}): check the path and permissions"
        ) from None
    try:
        conn.execute("PRAGMA synchronous=NORMAL")
        if not up_to_date(conn):
            migrate(conn)
    except BaseException as exc:
        conn.close()
        if isinstance(exc, sqlite3.DatabaseError) and is_corruption(exc):
            raise corrupt_error(path, exc) from None
        if isinstance(exc, sqlite3.OperationalError) and "locked" not in str(exc):
            raise ShopfloorError(
                f"cannot use the tracker database {path} ({exc}): check its permissions and free disk space"
            ) from None
        raise
    return conn


def vacuum(conn: sqlite3.Connection) -> None:
    """Give the space back after large deletions (``shopfloor compact --vacuum``): merge the
    search index's segments (a changed row leaves its old terms as delete markers until then),
    then rebuild the file (``VACUUM``, which cannot run inside a transaction)."""
    with transaction(conn):
        conn.execute("INSERT INTO issues_fts(issues_fts) VALUES ('optimize')")
    conn.execute("VACUUM")


def corrupt_error(path: str, exc: sqlite3.DatabaseError) -> CorruptDatabaseError:
    """The one message for a damaged database, whenever SQLite notices (at connect, or at a page
    read later): rebuild it from the JSONL with ``doctor --fix``."""
    return CorruptDatabaseError(
        f"the tracker database {path} is corrupt ({exc}): run `shopfloor doctor --fix` to rebuild it "
        "from .shopfloor/issues.jsonl",
        str(exc),
    )


def is_corruption(exc: sqlite3.DatabaseError) -> bool:
    """Damage that rebuilding from the JSONL repairs (not permissions, locks or versions)."""
    text = str(exc).lower()
    return any(m in text for m in ("not a database", "malformed", "disk image", "corrupt"))


def up_to_date(conn: sqlite3.Connection) -> bool:
    """True when every step this process registered is applied (the check every connection
    makes: two small reads); raises when the database is newer than this shopfloor."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version != LATEST:
        _refuse_newer(version)
        return False
    return not _pending(conn, _applied(conn))


def migrate(conn: sqlite3.Connection) -> None:
    """Apply every registered step the database lacks, in layer order, under the write lock.

    A database from before named steps (``PRAGMA user_version`` 1 to 12) first has the steps
    its version stands for marked applied (``NUMBERED``), so it is upgraded, never rebuilt.
    """
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        conn.execute("PRAGMA journal_mode=WAL")
    with transaction(conn):
        # Re-read under the write lock: another process may have migrated meanwhile.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        _refuse_newer(version)
        if version < LATEST:
            conn.execute(_BOOK)
            now = iso(time.time())
            marked = [(package, name, now) for number in range(version) for package, name in NUMBERED[number]]
            conn.executemany("INSERT INTO _migrations (package, name, applied_at) VALUES (?, ?, ?)", marked)
            conn.execute(f"PRAGMA user_version={LATEST}")
        applied = _applied(conn)
        for package, name, step in _pending(conn, applied):
            step(conn)
            conn.execute(
                "INSERT INTO _migrations (package, name, applied_at) VALUES (?, ?, ?)",
                (package, name, iso(time.time())),
            )


def _applied(conn: sqlite3.Connection) -> dict[str, set[str]]:
    applied: dict[str, set[str]] = {}
    for package, name in conn.execute("SELECT package, name FROM _migrations"):
        applied.setdefault(package, set()).add(name)
    return applied


def _pending(conn: sqlite3.Connection, applied: dict[str, set[str]]) -> list[tuple[str, str, Step]]:
    """The registered steps not applied yet, in order; raises on an applied step this shopfloor
    does not know (of a package it has loaded, or of any package once it knows them all)."""
    ordered = migrate_steps.registered()
    for package, names in sorted(applied.items()):
        known = next((m.names for m in ordered if m.package == package), None)
        if known is None and not migrate_steps.knows_every_package():
            continue  # a package this process has not loaded: not its business
        unknown = sorted(names - set(known or ()))
        if unknown:
            raise ShopfloorError(
                f"the tracker database was created by a newer shopfloor (it has migration {package}.{unknown[0]}, "
                "which this one does not know): upgrade shopfloor"
            )
    done = {(package, name) for package, names in applied.items() for name in names}
    return [(m.package, name, step) for m in ordered for name, step in m.steps if (m.package, name) not in done]


def _refuse_newer(version: int) -> None:
    if version > LATEST:
        raise ShopfloorError(
            f"the tracker database was created by a newer shopfloor (schema version {version}, newer than "
            f"this one understands: {LATEST}): upgrade shopfloor"
        )


class transaction:
    """A write transaction that holds the write lock from its first statement.

    Inside another transaction on the same connection it joins that one: the outer one commits
    or rolls back everything, so steps written as their own transactions (record a gate run,
    finish an attempt, queue a change) can be made one atomic step by their caller.

    A class rather than ``contextlib.contextmanager``: contextlib costs start-up time.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.outer = False

    def __enter__(self) -> sqlite3.Connection:
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
            self.outer = True
        return self.conn

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if not self.outer:
            return  # joined: the outer transaction decides
        if kind is None:
            self.conn.execute("COMMIT")
        elif self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
