"""Each worker's own range of TCP ports, so two agents' dev and test servers never collide.

A worker gets ``[workspace] ports_per_worker`` ports (default 10) starting at the lowest slot
above ``[workspace] port_base`` (default 20000) that no other worker's range touches. Its agent
(and its setup commands) see the range as ``SHOPFLOOR_PORT_BASE`` and ``SHOPFLOOR_PORT_COUNT``.
A worker holds its range as long as its row exists (a finished worker can be restarted with
the same environment); removing the worker frees it for the next one.

``allocate`` is pure: the ranges in use in, the first port of a free one out. The worker's
start runs it on the ranges the worker rows hold (``workers.records.held_ports``) inside the
transaction that inserts the new row, so two parallel starts cannot both take the same range.
"""

from __future__ import annotations

from typing import Any

from shopfloor.errors import ShopfloorError, ValidationError

BASE_ENV = "SHOPFLOOR_PORT_BASE"
COUNT_ENV = "SHOPFLOOR_PORT_COUNT"
DEFAULT_BASE = 20000
DEFAULT_COUNT = 10
LOWEST = 1024  # below: privileged ports an agent cannot bind anyway
HIGHEST = 65535


def parse(raw: dict[str, Any], path: object) -> tuple[int, int]:
    """``(port_base, ports_per_worker)`` from the ``[workspace]`` table, checked."""
    base = raw.get("port_base", DEFAULT_BASE)
    count = raw.get("ports_per_worker", DEFAULT_COUNT)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 1000:
        raise ValidationError(
            f"{path}: workspace.ports_per_worker must be a whole number of ports from 1 to 1000, "
            f"not {count!r}: fix the file"
        )
    if not isinstance(base, int) or isinstance(base, bool) or not LOWEST <= base <= HIGHEST - count + 1:
        raise ValidationError(
            f"{path}: workspace.port_base must be a port from {LOWEST} to {HIGHEST - count + 1} "
            f"(room for ports_per_worker = {count}), not {base!r}: fix the file"
        )
    return base, count


def allocate(taken: list[tuple[int, int]], base: int, count: int) -> int:
    """The first port of the lowest slot ``base + k * count`` whose ``count`` ports overlap none of
    ``taken`` (``(first, count)`` pairs, which may have other sizes); an error when none is left."""
    start = base
    while start + count - 1 <= HIGHEST:
        end = start + count
        if all(end <= first or first + size <= start for first, size in taken):
            return start
        start += count
    raise ShopfloorError(
        f"no free range of {count} ports from {base} to {HIGHEST}: {len(taken)} workers hold theirs; "
        "remove finished workers (`shopfloor worker rm`) or lower workspace.ports_per_worker"
    )


def env(first: int | None, count: int) -> dict[str, str]:
    """The variables that tell the agent its range (none for a worker from before ranges)."""
    if first is None or count < 1:
        return {}
    return {BASE_ENV: str(first), COUNT_ENV: str(count)}


def label(first: int | None, count: int) -> str:
    """``20000-20009`` for ``worker list``; ``-`` for a worker without a range."""
    return f"{first}-{first + count - 1}" if first is not None and count > 0 else "-"
