"""Named migrations: each package declares its own tables, the tracker's database applies them.

A package that keeps tables writes them in its own ``migrations`` module, one function per
step, named ``m001_...``, ``m002_...`` and registered in order::

    migrations = Migrations("workers", after="tracker")

    @migrations.register
    def m001_workers(conn: sqlite3.Connection) -> None: ...

A shipped step is never edited: a change is a new step. The database records the steps it
has applied in ``_migrations(package, name, applied_at)`` (``db.connect`` applies them).

The tracker is the lowest layer, so it cannot import the packages whose tables it applies
(the import-linter contracts in ``pyproject.toml`` forbid it). The registry is filled from
above instead: constructing a ``Migrations`` registers it here, and its package's row modules
import it (their rows are its tables), so a process that uses a table has registered it. A
process registers only what it loads: it applies and checks those packages' steps and leaves
the others alone. The CLI, which opens the database before it knows which packages a command
will use, first imports ``floor.tables``: the one module, in the highest library layer, that
knows every package with tables. Entry points would have done the same without the import,
but reading package metadata costs about 25 ms of every command's start-up.

Packages are applied in layer order: each names the package it builds on (``after``).
"""

from __future__ import annotations

import sqlite3

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    Step = Callable[[sqlite3.Connection], None]

_REGISTRY: dict[str, Migrations] = {}
_EVERY_PACKAGE = [False]  # set by the module that registers every package (``declare_complete``)


class Migrations:
    """The ordered, named steps that create and change one package's tables."""

    def __init__(self, package: str, *, after: str | None = None) -> None:
        if package in _REGISTRY:
            raise ValueError(f"migrations of {package!r} are declared twice")
        self.package = package
        self.after = after
        self.steps: list[tuple[str, Step]] = []
        _REGISTRY[package] = self

    def register(self, step: Step) -> Step:
        """Append ``step``; its name (``mNNN_what``) numbers it one after the previous step."""
        name = step.__name__
        if not name.startswith(f"m{len(self.steps) + 1:03d}_") or not name[5:].isidentifier():
            raise ValueError(f"{self.package} migration {name!r} must be named m{len(self.steps) + 1:03d}_<what>")
        self.steps.append((name, step))
        return step

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.steps]


def registered() -> list[Migrations]:
    """The packages registered in this process, in layer order: each after the one it builds on
    (when that one is registered too), otherwise in the order they registered."""
    ordered: list[Migrations] = []
    pending = list(_REGISTRY.values())
    while pending:
        placed = {m.package for m in ordered}
        ready = next((m for m in pending if m.after not in _REGISTRY or m.after in placed), None)
        if ready is None:
            raise ValueError(f"migrations that build on each other in a circle: {[m.package for m in pending]}")
        ordered.append(ready)
        pending.remove(ready)
    return ordered


def declare_complete() -> None:
    """Say that every package with tables is registered: a step of any package this process does
    not know then means a newer shopfloor made the database (refused, not ignored)."""
    _EVERY_PACKAGE[0] = True


def knows_every_package() -> bool:
    return _EVERY_PACKAGE[0]


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run statements one by one: ``executescript`` would commit the open transaction."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement: {statement!r}")
