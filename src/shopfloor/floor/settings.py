"""The ``[floor]`` table of ``.shopfloor/config.toml``: settings of the floor itself.

``keep_logs_days`` (default 14): how long a closed issue's archived agent logs are kept
(see ``workers.archive``).

Admission (``floor.admission``): a free slot is filled only while the machine can take another agent.
``min_free_mb`` (default 1024): memory available (MemAvailable) must be at least this; an agent CLI
takes a few hundred MB, its gate's checks more, so 1 GB left keeps one more of each from swapping
or the OOM killer. ``max_load`` (default twice the cores): the 1-minute load average must be below
this; agents mostly wait on their model, so the load is gates and tests, and twice the cores is
where they queue for a core as long as they run. ``0`` or ``"none"`` turns a check off.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopfloor.configfile import read_toml, section
from shopfloor.errors import ValidationError

KEEP_LOGS_DAYS = 14
MIN_FREE_MB = 1024.0


def default_max_load() -> float:
    return 2.0 * (os.cpu_count() or 1)


@dataclass(frozen=True)
class FloorSettings:
    keep_logs_days: float = KEEP_LOGS_DAYS
    min_free_mb: float | None = MIN_FREE_MB  # None: off
    max_load: float | None = field(default_factory=default_max_load)  # None: off


def _limit(table: dict[str, Any], key: str, default: float, what: str, path: Path | str) -> float | None:
    value = table.get(key, default)
    if value == "none":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValidationError(
            f'{path}: [floor] {key} must be {what}, or 0 or "none" to turn the check off, not {value!r}: fix the file'
        )
    return float(value) or None


def parse(data: dict[str, Any], path: Path | str) -> FloorSettings:
    table = section(data, "floor", path)
    days = table.get("keep_logs_days", KEEP_LOGS_DAYS)
    if isinstance(days, bool) or not isinstance(days, (int, float)) or days < 0:
        raise ValidationError(f"{path}: [floor] keep_logs_days must be a number of days >= 0, e.g. 14: fix the file")
    free = _limit(table, "min_free_mb", MIN_FREE_MB, "a number of MB >= 0, e.g. 1024", path)
    load = _limit(table, "max_load", default_max_load(), "a load average >= 0, e.g. 4", path)
    return FloorSettings(keep_logs_days=float(days), min_free_mb=free, max_load=load)


def load(config_path: str | Path) -> FloorSettings:
    return parse(read_toml(Path(config_path)), config_path)
