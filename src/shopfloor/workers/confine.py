"""The sandbox a worker's agent runs in: what it may write, what it cannot see.

An agent may write its own workspace, a private HOME and TMPDIR in its log directory, the
state directories its CLI names through the environment, and what ``[sandbox] writable``
adds. It cannot see the tracker's database (and the other workers' logs and specs beside
it), the other workers' workspaces, the gate's and queue's checkouts, or the other workers'
channels. Everything else is read-only. The user's git identity and the CLI's login files
are shown read-only inside the private HOME, so commits and the model API still work.
"""

from __future__ import annotations

import os
from pathlib import Path

from shopfloor.agents.base import AgentAdapter
from shopfloor.sandbox.config import SandboxConfig
from shopfloor.sandbox.policy import Confinement

SHARED_HOME_FILES = (".gitconfig", ".config/git/config")  # the user's git identity, read-only


def worker_confinement(
    adapter: AgentAdapter,
    config: SandboxConfig,
    *,
    workspace: Path,
    log_dir: Path,
    hidden: tuple[str, ...],
    env: dict[str, str],
    channel_dir: str | None = None,
) -> tuple[Confinement, dict[str, str]]:
    """The confinement, and the variables that change in the agent's environment (pure)."""
    home, tmp = log_dir / "home", log_dir / "tmp"
    user_home = env.get("HOME") or os.path.expanduser("~")
    readonly = [
        (os.path.join(user_home, name), str(home / name)) for name in (*SHARED_HOME_FILES, *adapter.credentials)
    ]
    hide = list(hidden)
    if channel_dir:
        readonly.append((channel_dir, channel_dir))
        hide.append(os.path.dirname(channel_dir))  # the other workers' channels sit beside this one
    state = [env[name] for name in adapter.state_env if env.get(name, "").startswith("/")]
    confinement = Confinement(
        workdir=str(workspace),
        writable=(str(home), str(tmp), *state, *config.writable),
        hidden=tuple(hide),
        readonly=tuple(readonly),
        network=config.network,
    )
    return confinement, {"HOME": str(home), "TMPDIR": str(tmp)}
