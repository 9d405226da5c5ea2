"""``[queue]`` in ``.shopfloor/config.toml``: how an entry lands (``parse`` is pure: text in).

Like the gate's rules, the queue's settings are read from the *target* branch's committed
file, never from a candidate: a branch cannot change how it is landed.

``strategy = "squash"`` (the default) lands each entry as one commit whose tree is the tree
the queue gated; ``strategy = "rebase"`` cherry-picks every commit of the branch, so its
intermediate commits land without being gated on their own. A landed ``floor/<issue>`` branch
is deleted unless ``keep_branches = true``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from shopfloor import git
from shopfloor.configfile import only_known, section
from shopfloor.errors import ValidationError
from shopfloor.gate.config import CONFIG_PATH

STRATEGIES = ("squash", "rebase")
_KEYS = {"strategy", "keep_branches"}


@dataclass(frozen=True)
class QueueConfig:
    strategy: str = "squash"
    keep_branches: bool = False  # True: a landed floor/<issue> branch stays (queue.branches)


def parse(text: str, where: str) -> QueueConfig:
    """The ``[queue]`` section of a config file's text (as found on the target)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{where} is not valid TOML ({exc}): fix it on the target branch") from None
    raw = section(data, "queue", where)
    only_known(raw, _KEYS, where, "[queue]", "fix it on the target branch")
    strategy = raw.get("strategy", "squash")
    if not isinstance(strategy, str) or strategy not in STRATEGIES:
        raise ValidationError(
            f'{where}: queue.strategy must be "squash" or "rebase", not {strategy!r}: fix it on the target branch'
        )
    keep = raw.get("keep_branches", False)
    if not isinstance(keep, bool):
        raise ValidationError(
            f"{where}: queue.keep_branches must be true or false, not {keep!r}: fix it on the target branch"
        )
    return QueueConfig(strategy=strategy, keep_branches=keep)


def load(repo: Path, commit: str, target: str) -> QueueConfig:
    """The queue's settings as committed on the target at ``commit``."""
    text = git.show(repo, commit, CONFIG_PATH) or ""
    return parse(text, f"{target}:{CONFIG_PATH}")
