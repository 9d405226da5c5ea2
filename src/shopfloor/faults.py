"""Named crash points, for the fault-injection tests of the floor's recovery.

``point("gate")`` kills this process with SIGKILL (nothing runs after it: no ``finally``, no
atexit) when ``SHOPFLOOR_FAULT`` names that point. The tests start ``shopfloor run`` with
``SHOPFLOOR_FAULT=<point>`` and then start it again without, and check the issue lands exactly
once, so every state a crash at a named point leaves has a way forward. Unset (always, outside
those tests), a point costs one environment lookup.

The points of a worker's life, in order: ``claim`` (the issue is claimed, no worker yet),
``clone`` (the worker row exists, its workspace is cloned but nothing is checked out), ``setup``
(the workspace is made, its setup has not run), ``launch`` (the agent was
launched, no attempt recorded), ``run`` (the agent runs), ``gate`` (the gate ran, inside the
transaction that records its run, the attempt's verdict and the queue entry: none of them is
recorded), ``queue`` (the change is queued, nothing more), ``land`` (the target has moved, the
queue entry is not yet merged).

The points of publishing accepted rules (``floor.promote``, ``shopfloor rules accept``), in
order: ``rules-branch`` (the ``rules/<n>`` branch exists, no issue or queue entry),
``rules-issue`` (its issue exists, it is not queued), ``rules-state`` (it is queued, the rule's
new state is not saved). Running the same command again finishes the job.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "SHOPFLOOR_FAULT"
POINTS = ("claim", "clone", "setup", "launch", "run", "gate", "queue", "land")
RULES_POINTS = ("rules-branch", "rules-issue", "rules-state")


def point(name: str) -> None:
    """Die here, at once, when the fault-injection test names this point."""
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
