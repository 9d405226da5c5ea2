"""``[sandbox]`` in ``.shopfloor/config.toml`` (``parse`` is pure: a parsed table in).

``network = false`` cuts a confined process off the network (agents that need their model
API keep the default, ``true``). ``writable`` names extra directories a confined process may
write, e.g. a package cache a check's setup fills (``~`` is the user's home).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from shopfloor.configfile import only_known, section, string_list
from shopfloor.errors import ValidationError

_KEYS = {"network", "writable"}
OFF_ENV = "SHOPFLOOR_SANDBOX"  # "off": run without a sandbox (what --no-sandbox sets)


@dataclass(frozen=True)
class SandboxConfig:
    network: bool = True
    writable: tuple[str, ...] = ()


def parse(data: dict[str, Any], where: str) -> SandboxConfig:
    raw = section(data, "sandbox", where)
    only_known(raw, _KEYS, where, "[sandbox]")
    network = raw.get("network", True)
    if not isinstance(network, bool):
        raise ValidationError(f"{where}: sandbox.network must be true or false: fix the file")
    paths = []
    for item in string_list(raw.get("writable", []), "sandbox.writable", where):
        path = os.path.expanduser(item)
        if not os.path.isabs(path):
            raise ValidationError(f"{where}: sandbox.writable entry {item!r} must be an absolute path or start with ~")
        paths.append(os.path.normpath(path))
    return SandboxConfig(network=network, writable=tuple(paths))


def enabled(environ: dict[str, str] | None = None) -> bool:
    """False when the caller asked to run without a sandbox (``--no-sandbox`` sets ``SHOPFLOOR_SANDBOX=off``)."""
    value = (environ if environ is not None else os.environ).get(OFF_ENV, "")
    return value.strip().lower() not in ("off", "0", "no", "false")
