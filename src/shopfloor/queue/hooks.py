"""What a landing needs from the floor, given by the caller: the queue sits below the floor.

The floor records each pass at an issue as an attempt (``floor.attempts``, its table). Landing
an issue's change marks the attempt that waited in the queue ``merged``, in the transaction
that closes the issue, and a squashed commit counts the attempts in its trailers. The queue
cannot import the floor, so whoever runs a queue pass passes the floor's ``Hooks``
(``floor.attempts.QUEUE_HOOKS``): the floor's loop and lane, and ``shopfloor queue run``. There
is no default, so a caller that forgets them does not type-check.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Tried:
    """What the floor tried on an issue before its change landed (for the squashed commit)."""

    ended: int = 0  # attempts that ended: the ``Shopfloor-Attempts`` trailer
    last_worker: str | None = None  # the latest attempt's worker: the author once its row is gone


@dataclass(frozen=True)
class Hooks:
    """``merged(conn, issue)`` runs inside the landing's transaction; ``tried(conn, issue)`` reads."""

    merged: Callable[[sqlite3.Connection, str], None]
    tried: Callable[[sqlite3.Connection, str], Tried]
