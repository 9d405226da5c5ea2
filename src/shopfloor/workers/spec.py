"""The launch spec: everything the shim needs, written as a file in the worker's log directory.

Passing it as a file rather than on the command line keeps prompts (untrusted text) and API
keys in the environment out of ``ps`` output and out of tmux's command parsing; the shim's
own argv is only its interpreter, its module and this file's path. The file is private (0600).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shopfloor.errors import ShopfloorError

SPEC_NAME = "spec.json"


@dataclass
class LaunchSpec:
    name: str
    issue: str
    actor: str
    agent: str
    generation: int
    argv: list[str]
    cwd: str
    db_file: str
    log_dir: str
    prompt: str
    system_extra: str | None
    lease_s: float
    env: dict[str, str] = field(default_factory=dict)
    context_window: int | None = None  # from config, until the agent reports its own
    session_id: str | None = None  # the session a restart resumes
    base_tokens: int = 0  # spent by earlier runs of this worker
    base_cost_usd: float = 0.0
    channel: str | None = None  # the worker channel's socket (shopfloor.channel.paths); None: no channel
    token: str | None = None  # the channel's token: it fixes the actor as worker/<name>
    sandbox: list[str] = field(default_factory=list)  # the bwrap prefix; empty: unconfined (--no-sandbox)
    stdin: str | None = None  # a long prompt, fed on the agent's stdin (agents.launch); None: /dev/null


def write(spec: LaunchSpec) -> Path:
    path = Path(spec.log_dir) / SPEC_NAME
    temp = path.with_name(f".{SPEC_NAME}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(spec), out)
    os.replace(temp, path)
    return path


def read(path: Path) -> LaunchSpec:
    try:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return LaunchSpec(**raw)
    except (OSError, ValueError, TypeError) as exc:
        raise ShopfloorError(f"cannot read the worker spec {path} ({exc}): restart the worker") from None
