"""Telling the person who is needed: ``[notify] command`` runs on the events a person must act on.

Those events are an issue blocked (a spiral and a crash loop are blocks of their own kind), a
change waiting for a person's approval, and the floor going idle or stopping. The command is an
argv list (never a shell string: reasons quote agent output), run with the event as one JSON
object on stdin, with a timeout. A command that is missing, fails or hangs is reported in the
floor's progress and never stops the floor.

``event`` and ``kind_of_block`` are pure; ``Notifier`` runs the command. The coordinator installs
one notifier per ``shopfloor run`` (``install``), and the places that block or wait call ``emit``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopfloor.configfile import only_known, read_toml, section, string_list
from shopfloor.errors import ValidationError
from shopfloor.progress import Progress

KINDS = ("blocked", "spiral", "crash-loop", "needs-approval", "idle", "stopped")
TIMEOUT_S = 10.0


def kind_of_block(why: str) -> str:
    """The event kind of a block, from the floor's reason (pure)."""
    if why.startswith("spiral"):
        return "spiral"
    if why.startswith("a crash loop"):
        return "crash-loop"
    return "blocked"


def event(kind: str, repo: str, at: str, **fields: Any) -> dict[str, Any]:
    """The JSON object the command reads on stdin (pure)."""
    if kind not in KINDS:
        raise ValueError(f"unknown notify event {kind!r}")
    return {"event": kind, "repo": repo, "at": at, **fields}


def parse(data: dict[str, Any], where: str) -> tuple[str, ...] | None:
    """``[notify] command``: an argv list, or None when there is none."""
    raw = section(data, "notify", where)
    only_known(raw, {"command"}, where, "[notify]")
    if "command" not in raw:
        return None
    command = string_list(raw["command"], "notify.command", where)
    if not command:
        raise ValidationError(f'{where}: notify.command must name a program, e.g. ["notify-send", "shopfloor"]')
    return tuple(command)


@dataclass
class Notifier:
    command: tuple[str, ...]
    repo: str
    progress: Progress
    told: set[tuple[str, str]] = field(default_factory=set)  # (kind, issue) already sent this run

    def send(self, kind: str, **fields: Any) -> bool:
        """Run the command with the event on stdin; False (and a progress line) when it failed."""
        issue = str(fields.get("issue", ""))
        if kind == "needs-approval" and (kind, issue) in self.told:
            return True  # once per change and run, not once per turn
        self.told.add((kind, issue))
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        body = json.dumps(event(kind, self.repo, at, **fields), ensure_ascii=False) + "\n"
        try:
            done = subprocess.run(
                list(self.command),
                input=body.encode("utf-8"),
                capture_output=True,
                timeout=TIMEOUT_S,
                check=False,
                env={**os.environ, "SHOPFLOOR_EVENT": kind},
            )
        except FileNotFoundError:
            self.progress(f"warning: [notify] command {self.command[0]!r} was not found: install it or fix [notify]")
            return False
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.progress(f"warning: [notify] command failed on {kind}: {exc}")
            return False
        if done.returncode != 0:
            why = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit {done.returncode}"]
            self.progress(f"warning: [notify] command failed on {kind}: {why[0][:200]}")
            return False
        return True


_CURRENT: list[Notifier] = []  # the notifier of this process's `shopfloor run`, if it has one


def install(config_path: Path, repo: str, progress: Progress) -> Notifier | None:
    """Read ``[notify]`` (a bad table is one error before anything runs) and make it current."""
    _CURRENT.clear()
    command = parse(read_toml(config_path), str(config_path))
    if command is None:
        return None
    notifier = Notifier(command, repo, progress)
    _CURRENT.append(notifier)
    return notifier


def emit(kind: str, **fields: Any) -> None:
    """Tell the person, if ``shopfloor run`` installed a notifier; otherwise nothing."""
    for notifier in _CURRENT:
        notifier.send(kind, **fields)
