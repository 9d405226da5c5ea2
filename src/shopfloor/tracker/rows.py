"""One row mapper: a dataclass and the table that stores it, for the packages' row modules.

The dataclass's fields are the columns it reads and writes (in field order); a row read back
becomes the dataclass again, with ``read`` converting the columns SQLite cannot store as they
are (a flag stored as 0/1 read back as a bool). Writes name their columns: an unknown one is a
``ValueError``, never SQL built from a typo. The ``where`` fragments come from the row module
that owns the table, never from input; values always travel as parameters.

``owner`` is the package's ``migrations``: the table is that package's (a test checks its steps
create it), and a module that uses the rows has registered the steps that make them.

The transaction convention, the same for every package: a function that writes takes the
caller's connection and never commits itself. It writes inside ``db.transaction(conn)``, which
joins the caller's open transaction (the caller's commit or rollback decides for every step
together) and is a transaction of its own only when the caller has none.
"""

from __future__ import annotations

import sqlite3
from dataclasses import fields
from typing import Any, Generic, TypeVar

from shopfloor.tracker import db

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from _typeshed import DataclassInstance

    from shopfloor.tracker.migrate import Migrations

T = TypeVar("T", bound="DataclassInstance")


class Rows(Generic[T]):
    """Rows of ``table`` as instances of the dataclass ``kind``."""

    def __init__(
        self,
        kind: type[T],
        table: str,
        *,
        owner: Migrations,
        read: Mapping[str, Callable[[Any], Any]] | None = None,
    ) -> None:
        self.kind = kind
        self.table = table
        self.owner = owner.package
        self.columns: tuple[str, ...] = tuple(f.name for f in fields(kind))
        self.read = dict(read or {})
        self._select = f"SELECT {', '.join(self.columns)} FROM {table}"

    def row(self, values: Sequence[Any]) -> T:
        named = dict(zip(self.columns, values, strict=True))
        for column, convert in self.read.items():
            if named[column] is not None:
                named[column] = convert(named[column])
        return self.kind(**named)

    def first(self, conn: sqlite3.Connection, where: str, params: Sequence[Any] = ()) -> T | None:
        """The first row ``where`` matches (``where`` may end in ``ORDER BY``), or None."""
        found = conn.execute(f"{self._select} WHERE {where}", params).fetchone()
        return self.row(found) if found is not None else None

    def select(self, conn: sqlite3.Connection, where: str = "", params: Sequence[Any] = (), order: str = "") -> list[T]:
        sql = self._select + (f" WHERE {where}" if where else "") + (f" ORDER BY {order}" if order else "")
        return [self.row(r) for r in conn.execute(sql, params)]

    def insert(self, conn: sqlite3.Connection, values: Mapping[str, Any], *, or_ignore: bool = False) -> int:
        """Insert one row of ``values`` (the columns not named take their defaults); its rowid."""
        self._check(values)
        verb = "INSERT OR IGNORE" if or_ignore else "INSERT"
        marks = ", ".join("?" for _ in values)
        with db.transaction(conn):
            cursor = conn.execute(
                f"{verb} INTO {self.table} ({', '.join(values)}) VALUES ({marks})", list(values.values())
            )
        return int(cursor.lastrowid or 0)

    def update(self, conn: sqlite3.Connection, where: str, params: Sequence[Any], **changes: Any) -> int:
        """Set ``changes`` on the rows ``where`` matches; how many it changed."""
        self._check(changes)
        sets = ", ".join(f"{column} = ?" for column in changes)
        with db.transaction(conn):
            cursor = conn.execute(f"UPDATE {self.table} SET {sets} WHERE {where}", [*changes.values(), *params])
        return cursor.rowcount

    def delete(self, conn: sqlite3.Connection, where: str, params: Sequence[Any]) -> int:
        with db.transaction(conn):
            return conn.execute(f"DELETE FROM {self.table} WHERE {where}", params).rowcount

    def _check(self, values: Mapping[str, Any]) -> None:
        unknown = sorted(set(values) - set(self.columns))
        if unknown:
            raise ValueError(f"unknown {self.table} columns: {unknown}")
        if not values:
            raise ValueError(f"no {self.table} columns to write")
