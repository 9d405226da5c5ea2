"""What long work says while it runs: a callable that takes one line.

The CLI prints each line (with the time, on stderr under ``--json``); the floor passes its own
through to the gate and the queue; tests and benches collect the lines; ``quiet`` drops them.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]


def quiet(_: str) -> None:
    """A ``Progress`` that says nothing."""
    return None
