"""Who acts: a worker's agent acts in the tracker as ``worker/<name>``; anyone else is a person
(or a person's script). One definition, because trust hangs on it: the gate believes labels and
vibe levels only from people (``gate.trust``), and an agent may not approve, close or retry."""

from __future__ import annotations

WORKER_PREFIX = "worker/"


def of_worker(name: str) -> str:
    """The actor name of worker ``name``'s agent."""
    return f"{WORKER_PREFIX}{name}"


def is_agent(actor: str) -> bool:
    """``actor`` is a worker's agent, not a person."""
    return actor.startswith(WORKER_PREFIX)
