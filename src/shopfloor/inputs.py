"""Bounded reads of files and stdin a person names: never more than a limit, so ``-f /dev/zero``
is one clear error, not a process that reads until it is killed."""

from __future__ import annotations

from typing import BinaryIO

from shopfloor.errors import UsageError

MB = 1024 * 1024
PLAN_LIMIT = 16 * MB  # `create -f`, scenarios, hook input
IMPORT_LIMIT = 64 * MB  # `import -i`: a whole tracker's JSONL
TEXT_LIMIT = 10 * MB  # a text argument given as `-` (stdin)


def too_big(name: str, limit: int, fix: str) -> UsageError:
    return UsageError(f"{name} is over {limit // MB} MB: {fix}")


def read_at_most(handle: BinaryIO, limit: int, name: str, fix: str) -> bytes:
    """All of ``handle`` if it holds at most ``limit`` bytes; reads ``limit + 1`` bytes at most."""
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise too_big(name, limit, fix)
    return data


def read_file(path: str, limit: int, fix: str) -> bytes:
    """``path``'s content, at most ``limit`` bytes (``OSError`` as ``open`` raises it)."""
    with open(path, "rb") as handle:
        return read_at_most(handle, limit, path, fix)
