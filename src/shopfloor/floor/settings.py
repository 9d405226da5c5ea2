"""The ``[floor]`` table of ``.shopfloor/config.toml``: settings of the floor itself.

``keep_logs_days`` (default 14): how long a closed issue's archived agent logs are kept
(see ``workers.archive``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopfloor.configfile import read_toml, section
from shopfloor.errors import ValidationError

KEEP_LOGS_DAYS = 14


@dataclass(frozen=True)
class FloorSettings:
    keep_logs_days: float = KEEP_LOGS_DAYS


def parse(data: dict[str, Any], path: Path | str) -> FloorSettings:
    table = section(data, "floor", path)
    days = table.get("keep_logs_days", KEEP_LOGS_DAYS)
    if isinstance(days, bool) or not isinstance(days, (int, float)) or days < 0:
        raise ValidationError(f"{path}: [floor] keep_logs_days must be a number of days >= 0, e.g. 14: fix the file")
    return FloorSettings(keep_logs_days=float(days))


def load(config_path: str | Path) -> FloorSettings:
    return parse(read_toml(Path(config_path)), config_path)
