"""``.shopfloor/config.toml``: committed settings. The tracker only needs its id prefix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shopfloor.configfile import read_toml
from shopfloor.tracker.ids import check_prefix, prefix_from_name


@dataclass(frozen=True)
class TrackerConfig:
    prefix: str


def read_config(path: Path) -> TrackerConfig:
    """Read the tracker section; a missing file or key falls back to the repository's name."""
    default = prefix_from_name(path.parent.parent.name)
    data = read_toml(path)
    section = data.get("tracker", {})
    prefix = section.get("prefix", default) if isinstance(section, dict) else default
    return TrackerConfig(check_prefix(str(prefix)))


def render_config(prefix: str) -> str:
    return (
        "# shopfloor settings; commit this file.\n"
        "\n"
        "[tracker]\n"
        "# Issue ids look like <prefix>-<hash>, e.g. " + prefix + "-a3f8.\n"
        f'prefix = "{check_prefix(prefix)}"\n'
    )


def set_prefix(text: str, prefix: str) -> str:
    """Change the prefix in an existing config file, keeping everything else."""
    lines = text.splitlines(keepends=True)
    in_tracker = False
    for n, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("["):
            in_tracker = stripped == "[tracker]"
        elif in_tracker and stripped.startswith("prefix") and "=" in stripped:
            lines[n] = f'prefix = "{check_prefix(prefix)}"\n'
            return "".join(lines)
    if "[tracker]" in text:
        return text.replace("[tracker]\n", f'[tracker]\nprefix = "{prefix}"\n', 1)
    return text.rstrip("\n") + f'\n\n[tracker]\nprefix = "{check_prefix(prefix)}"\n'
