"""Timestamps as fixed-width UTC strings, so that string order is time order.

Every time the tracker stores looks like ``2026-11-28T11:20:44.123456Z``. SQLite and the
merge driver compare them as plain strings; that only works because the width never varies.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from shopfloor.errors import ValidationError

# ASCII digits only: ``\d`` would also match other scripts' digits, which do not sort as time.
_ISO = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$")
_RELATIVE = re.compile(r"^\+?([0-9]+)([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# The years a stored time may have: four digits keep string order time order, and 9998 leaves
# room for ``bump`` to move one microsecond on without leaving the range.
MIN_YEAR = 1970
MAX_YEAR = 9998
MAX_EPOCH = 253_370_764_799  # 9998-12-31T23:59:59Z
MAX_LEASE_S = 365 * 86400


def iso(t: float) -> str:
    """Format epoch seconds as the tracker's timestamp form."""
    whole = int(t)
    micros = round((t - whole) * 1_000_000)
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micros:06d}Z"


def epoch(stamp: str) -> float:
    """The inverse of ``iso``: a tracker timestamp (or any ISO 8601 time with a zone) as epoch seconds."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def now() -> str:
    return iso(time.time())


def bump(stamp: str) -> str:
    """The timestamp one microsecond after ``stamp`` (deterministic, unlike ``now``)."""
    try:
        moved = datetime.fromisoformat(stamp[:-1]) + timedelta(microseconds=1)
    except OverflowError:
        return stamp  # 9999-12-31T23:59:59.999999Z: nothing later can be written
    if moved.year > MAX_YEAR:
        return stamp  # stay inside the range every reader accepts
    return f"{moved.year:04d}" + moved.strftime("-%m-%dT%H:%M:%S.%f") + "Z"


def is_timestamp(text: str) -> bool:
    """The shape of a tracker timestamp (cheap; ``is_real_time`` also checks the calendar)."""
    return bool(_ISO.fullmatch(text))


def is_real_time(text: str) -> bool:
    """A tracker timestamp naming a real moment between the years 1 and ``MAX_YEAR``."""
    if not _ISO.fullmatch(text) or int(text[:4]) > MAX_YEAR:
        return False
    try:
        datetime.fromisoformat(text[:-1])
    except ValueError:
        return False
    return True


def _seconds(text: str) -> float | None:
    """``30m``, ``+2h``, ``90s`` or a bare number of minutes in seconds; None if not that form.

    Absurdly long numbers count as infinite, so callers report them as out of range.
    """
    if text.isascii() and text.isdigit():
        number, unit = text, "m"
    else:
        match = _RELATIVE.fullmatch(text)
        if not match:
            return None
        number, unit = match.group(1), match.group(2)
    if len(number) > 15:
        return float("inf")
    return int(number) * float(_UNIT_SECONDS[unit])


def parse_duration(text: str, what: str = "duration") -> float:
    """Parse ``30m``, ``2h``, ``1d``, ``90s`` or a bare number of minutes into seconds.

    A lease (the only use) must be between 1 second and 365 days.
    """
    text = text.strip()
    seconds = _seconds(text)
    if seconds is None:
        raise ValidationError(f"invalid {what} {text!r}: use a number with s, m, h, d or w (e.g. 30m, 2h)")
    if not 1 <= seconds <= MAX_LEASE_S:
        raise ValidationError(f"{what} {text!r} is out of range: give between 1s and 365d (e.g. 30m, 2h)")
    return seconds


def parse_when(text: str, *, base: float | None = None) -> str:
    """Parse a user-given point in time: a tracker timestamp, an ISO date/datetime, or ``+3d``."""
    text = text.strip()
    out_of_range = ValidationError(
        f"time {text!r} is out of range: give a time between the years {MIN_YEAR} and {MAX_YEAR}"
    )
    if _RELATIVE.fullmatch(text):
        seconds = _seconds(text)
        assert seconds is not None
        moment = (time.time() if base is None else base) + seconds
        if moment > MAX_EPOCH:
            raise out_of_range
        return iso(moment)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"invalid time {text!r}: use an ISO date like 2026-12-01, a datetime, or a relative time like +3d"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        moment = parsed.timestamp()
    except (OverflowError, ValueError, OSError):
        raise out_of_range from None
    if not 0 <= moment <= MAX_EPOCH:
        raise out_of_range
    if is_timestamp(text):
        return text  # already in the stored form: keep every microsecond exactly
    return iso(moment)


def renewal_due(lease_until: str | None, now_s: float, lease_s: float) -> bool:
    """Renew a lease only when less than half of it is left (or it has none): a holder that
    renews on every poll would flood the issue's history with renewals, and git with them."""
    return lease_until is None or lease_until < iso(now_s + lease_s / 2)
