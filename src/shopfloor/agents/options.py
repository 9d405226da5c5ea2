"""``[agents.<name>]`` tables of ``.shopfloor/config.toml`` as ``AgentOptions``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shopfloor.agents.base import AgentOptions
from shopfloor.configfile import only_known, section, string_list
from shopfloor.errors import ValidationError

_KEYS = {"binary", "argv", "context_window", "context_limit", "scenario", "env"}


def parse(data: dict[str, Any], name: str, path: Path) -> AgentOptions:
    agents = section(data, "agents", path)
    raw = agents.get(name, {})
    where = f"{path}: [agents.{name}]"
    if not isinstance(raw, dict):
        raise ValidationError(f"{where} must be a table: fix the file")
    only_known(raw, _KEYS, path, f"[agents.{name}]")
    binary, scenario = raw.get("binary"), raw.get("scenario")
    for key, value in (("binary", binary), ("scenario", scenario)):
        if value is not None and (not isinstance(value, str) or not value):
            raise ValidationError(f"{where} {key} must be a non-empty string")
    window = raw.get("context_window")
    if window is not None and (not isinstance(window, int) or isinstance(window, bool) or window < 1):
        raise ValidationError(f"{where} context_window must be a whole number of tokens")
    limit = raw.get("context_limit", 0.40)
    if not isinstance(limit, int | float) or isinstance(limit, bool) or not 0 < limit <= 1:
        raise ValidationError(f"{where} context_limit must be a fraction between 0 and 1, e.g. 0.4")
    env = raw.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise ValidationError(f'{where} env must be a table of strings, e.g. env = {{ FOO = "1" }}')
    if scenario is not None and not Path(scenario).is_absolute():
        scenario = str(path.parent.parent / scenario)  # relative to the repository root
    return AgentOptions(
        binary=binary,
        argv=tuple(string_list(raw.get("argv", []), f"agents.{name}.argv", path)),
        context_window=window,
        context_limit=float(limit),
        scenario=scenario,
        env=tuple(sorted(env.items())),
    )
