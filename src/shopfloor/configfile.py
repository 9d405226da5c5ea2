"""Reading ``.shopfloor/config.toml``: one loader, each package parses its own section.

The file is committed and edited by people, so every error names the file, the key and
the fix. Sections: ``[tracker]`` (tracker.config), ``[workspace]`` (workspace.provision),
``[agents.<name>]`` (agents.options).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shopfloor.errors import ValidationError


def read_toml(path: Path) -> dict[str, Any]:
    """The whole file as a dict; a missing file is an empty one."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path} is not valid TOML ({exc}): fix the file") from None


def section(data: dict[str, Any], name: str, path: Path | str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ValidationError(f"{path}: [{name}] must be a table: fix the file")
    return value


def only_known(
    table: dict[str, Any], known: Iterable[str], where: Path | str, label: str, fix: str = "fix the file"
) -> None:
    """Refuse a key this version does not read: a misspelt key must not silently mean the default.
    ``label`` names the table as the file spells it (``[queue]``, ``[[gate.check]] number 2``)."""
    unknown = set(table) - set(known)
    if unknown:
        raise ValidationError(
            f"{where}: unknown key(s) in {label}: {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(known))}): {fix}"
        )


def string_list(value: Any, key: str, path: Path | str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(f'{path}: {key} must be a list of strings, e.g. ["a", "b"]: fix the file')
    return list(value)


def argv_list(value: Any, key: str, path: Path | str) -> list[list[str]]:
    """A list of argv lists (never shell strings): ``[["npm", "ci"], ["make", "build"]]``."""
    if not isinstance(value, list) or not all(
        isinstance(cmd, list) and cmd and all(isinstance(arg, str) for arg in cmd) for cmd in value
    ):
        raise ValidationError(
            f'{path}: {key} must be a list of argv lists, e.g. [["npm", "ci"]] (no shell strings): fix the file'
        )
    return [list(cmd) for cmd in value]
