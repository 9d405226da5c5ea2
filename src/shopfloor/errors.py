"""Errors that carry their own exit code, so the CLI can report them in one line.

Exit codes are part of the stable interface (see the brief): 0 ok, 1 error, 2 usage,
3 not found, 4 conflict.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_CONFLICT = 4


class ShopfloorError(Exception):
    """A problem the user can fix; the message names the problem and the fix."""

    exit_code = EXIT_ERROR


class UsageError(ShopfloorError):
    exit_code = EXIT_USAGE


class ValidationError(UsageError):
    """A value that breaks the schema (bad status, empty title, ...)."""


class NotFoundError(ShopfloorError):
    exit_code = EXIT_NOT_FOUND


class ConflictError(ShopfloorError):
    """Already claimed, a dependency cycle, a stale reference."""

    exit_code = EXIT_CONFLICT
