"""Writing ``gate init``'s checks into ``.shopfloor/config.toml``, keeping every other table.

Checks ``gate init`` dropped (their tool is missing, or they cannot pass on the target) are
written commented out, each with the reason, so the file says what was tried and why it is
off; uncommenting one switches it on.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from shopfloor.errors import ConflictError, ValidationError
from shopfloor.gate.detect import Proposal

_GATE_HEADER = re.compile(r"^\s*\[\[?\s*gate(\s*[\].]|\.)")
_ANY_HEADER = re.compile(r"^\s*\[")
_COMMENT_BLOCK = re.compile(r"\n# The gate re-checks every candidate[^\n]*\n(#[^\n]*\n)*")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    return "[" + ", ".join(_toml_value(v) for v in value) + "]"


def _table(proposal: Proposal) -> list[str]:
    return ["[[gate.check]]"] + [f"{key} = {_toml_value(value)}" for key, value in proposal.as_table().items()]


def render(target: str, kept: list[Proposal], dropped: list[tuple[Proposal, str]]) -> str:
    """The ``[gate]`` section: the kept checks, then the dropped ones commented out with the reason."""
    lines = [
        "",
        "# The gate re-checks every candidate with these rules, read from the target branch.",
        "# Each check: argv (never a shell string), timeout in seconds, paths that trigger it,",
        "# setup commands, fast = true for the subset run at vibe 4-5, junit = true when argv",
        '# holds "{junit}" (the test counts are compared with the base).',
        "[gate]",
        f"target = {_toml_value(target)}",
        "complexity_max = 15",
        "complexity_ratchet = 25",
    ]
    for proposal in kept:
        lines += ["", f"# found: {_one_line(proposal.why)}", *_table(proposal)]
    for proposal, reason in dropped:
        lines += ["", f"# dropped by `shopfloor gate init`: {_one_line(reason)}"]
        lines += [f"# found: {_one_line(proposal.why)}"]
        lines += [f"# {line}" for line in _table(proposal)]
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    """Text fit for a TOML comment: one line, no control characters (TOML forbids them there)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def without_gate(text: str) -> str:
    """The config text with every [gate] / [gate.*] / [[gate.check]] table removed, and the
    comment block ``gate init`` writes above them; every other table is kept as it was."""
    out: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        if _ANY_HEADER.match(line):
            skipping = bool(_GATE_HEADER.match(line))
        if not skipping:
            out.append(line)
    return _COMMENT_BLOCK.sub("\n", "".join(out))


def current_text(path: Path, *, force: bool) -> str:
    """The config file's text, refused (before any check runs) if it has a gate and no --force."""
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except UnicodeDecodeError:
        raise ValidationError(f"{path} is not valid UTF-8: fix or re-encode it first") from None
    if any(_GATE_HEADER.match(line) for line in text.splitlines()):
        if not force:
            raise ConflictError(f"{path} already has a [gate] section: edit it, or pass --force to replace it")
        text = without_gate(text)
    return text


def write_config(path: Path, section: str, *, force: bool) -> Path:
    """Append ``section`` to the config file (replacing its gate with --force), atomically."""
    text = current_text(path, force=force)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(text.rstrip("\n") + "\n" + section, encoding="utf-8")
    os.replace(temp, path)
    return path
