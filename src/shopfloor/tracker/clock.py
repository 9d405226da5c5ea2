"""Timestamps as fixed-width UTC strings, so that string order is time order.

Every time the tracker stores looks like ``2026-11-28T11:20:44.123456Z``. SQLite and the
merge driver compare them as plain strings; that only works because the width never varies.
"""

from __future__ import annotations

import re
import time

from shopfloor.errors import ValidationError

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_RELATIVE = re.compile(r"^\+?(\d+)([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def iso(t: float) -> str:
    """Format epoch seconds as the tracker's timestamp form."""
    whole = int(t)
    micros = round((t - whole) * 1_000_000)
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micros:06d}Z"


def now() -> str:
    return iso(time.time())


def bump(stamp: str) -> str:
    """The timestamp one microsecond after ``stamp`` (deterministic, unlike ``now``)."""
    from datetime import datetime, timedelta

    moved = datetime.fromisoformat(stamp[:-1]) + timedelta(microseconds=1)
    return moved.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def is_timestamp(text: str) -> bool:
    return bool(_ISO.fullmatch(text))


def parse_duration(text: str) -> float:
    """Parse ``30m``, ``2h``, ``1d``, ``90s`` or a bare number of minutes into seconds."""
    text = text.strip()
    if text.isdigit():
        return int(text) * 60.0
    match = _RELATIVE.fullmatch(text)
    if not match:
        raise ValidationError(f"invalid duration {text!r}: use a number with s, m, h, d or w (e.g. 30m, 2h)")
    return int(match.group(1)) * float(_UNIT_SECONDS[match.group(2)])


def parse_when(text: str, *, base: float | None = None) -> str:
    """Parse a user-given point in time: a tracker timestamp, an ISO date/datetime, or ``+3d``."""
    text = text.strip()
    if is_timestamp(text):
        return text
    if _RELATIVE.fullmatch(text):
        return iso((time.time() if base is None else base) + parse_duration(text))
    from datetime import UTC, datetime

    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"invalid time {text!r}: use an ISO date like 2026-12-01, a datetime, or a relative time like +3d"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return iso(parsed.timestamp())
