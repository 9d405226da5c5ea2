"""What ``shopfloor run`` checks before it claims anything: the agent it would start.

A typo in ``--agent`` or a missing CLI used to claim and block every ready issue; now it is one
line naming the fix, and nothing in the tracker changes. (The sandbox and the gate's configured
checks are checked by the CLI next to this, see ``cli.floor_cmds``.)
"""

from __future__ import annotations

import os

from shopfloor.agents import registry
from shopfloor.errors import ShopfloorError, UsageError
from shopfloor.tracker.service import Tracker
from shopfloor.workers import selfpath
from shopfloor.workers.lifecycle import agent_options, log_root, resolve_binary


def check_agent(tracker: Tracker, name: str) -> str:
    """The agent ``name`` can be started here: it is a known agent, its ``[agents.NAME]`` table
    parses, its CLI is on the workers' PATH, and its command line builds; the workers can run
    ``shopfloor``. Returns the CLI's path; raises ``UsageError`` (exit 2) otherwise."""

    if name not in registry.ADAPTERS:
        raise UsageError(registry.unknown(name))
    adapter = registry.ADAPTERS[name]
    opts = agent_options(tracker, adapter, dict(os.environ), log_root(tracker) / "preflight")
    env = {**os.environ, **adapter.env(), **dict(opts.env)}
    env["PATH"] = selfpath.path_first(env.get("PATH"), selfpath.own_dir())  # as a worker gets it
    try:
        binary = resolve_binary(adapter, opts, env.get("PATH"))
        adapter.start_argv(binary, "preflight", None, opts)  # a bad argv template or missing scenario
        extra_check = getattr(adapter, "preflight", None)  # an adapter's own files (the scripted scenario)
        if extra_check is not None:
            extra_check(opts)
        selfpath.require_reachable(env)
    except UsageError:
        raise
    except ShopfloorError as exc:
        raise UsageError(f"{exc} (nothing was claimed; or pick another agent with --agent)") from None
    return binary
