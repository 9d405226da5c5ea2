"""Does the gate config in the main checkout differ from the one the gate read from the target?

The gate reads its rules only from the target branch. An uncommitted ``gate init`` (or an
edit not yet committed on the target) is therefore not in force, and a person who runs
``gate run`` right after it would believe otherwise: ``gate run`` says so, in one line.
"""

from __future__ import annotations

from pathlib import Path

from shopfloor.errors import ShopfloorError
from shopfloor.gate.config import parse


def working_tree_hash(config_path: Path) -> str | None:
    """The gate config hash of the working tree's config file (None: it is not valid)."""
    try:
        text = config_path.read_text(encoding="utf-8") if config_path.exists() else ""
        return parse(text, str(config_path)).hash
    except (OSError, UnicodeDecodeError, ShopfloorError):
        return None


def drift_warning(config_path: Path, base: str, base_hash: str) -> str | None:
    """The one-line warning, when the working tree's gate rules are not the ones in force."""
    if working_tree_hash(config_path) == base_hash:
        return None
    return (
        f"warning: the gate config in your working tree differs from {base}'s: commit it, "
        f"the gate reads its rules from {base}"
    )
