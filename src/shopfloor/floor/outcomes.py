"""How an attempt ended: one enum, stored as its value in ``attempts.outcome``.

A ``StrEnum``, so a row read back compares equal to its member and older databases (which hold
the same strings) need no migration. ``parse`` reads a stored value; an unknown one (written by
a newer version) is ``None`` rather than an error, and the floor treats it as still open.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    QUEUED = "queued"  # the gate passed (or needs a person's approval): the change is in the queue
    MERGED = "merged"  # the queue landed it
    FAILED = "failed"  # the gate failed it: the same session is resumed with the report
    SPIRAL = "spiral"  # the gate failed it and the attempts spiral: the issue is blocked
    QUEUE_CONFLICT = "queue conflict"  # the queue could not merge it onto the target
    QUEUE_FAILED = "queue failed"  # the queue's gate failed it on the rebased tree
    CRASHED_FAILED = "crashed (failed)"  # the agent exited with an error
    CRASHED_LOST = "crashed (lost)"  # the agent's process vanished
    CRASHED_KILLED = "crashed (killed)"  # the agent was killed from outside
    NUDGED = "nudged"  # silent for the stall time: ended and resumed with a nudge
    RESTARTED = "restarted"  # silent again after a nudge: a fresh session took over
    HANDOFF = "handoff"  # the context limit: the session was asked for a handoff note
    WRITING_NOTE = "writing-handoff"  # the resumed turn in which the ending session writes its note
    HANDOFF_NOTE = "handoff-note"  # that turn ended: a fresh session starts with the note
    SAID_DONE = "said-done"  # the agent ran `shopfloor done` while its session went on
    STOPPED = "stopped"  # `shopfloor stop` ended its agent; the next run resumes the session
    GATE_ERROR = "gate-error"  # its gate could not run, again and again: the issue is blocked
    REVIEWED = "reviewed"  # a person's review sent its change back to the same session

    @property
    def crashed(self) -> bool:
        return self in CRASHES

    @property
    def rejected_by_queue(self) -> bool:
        return self in (Outcome.QUEUE_CONFLICT, Outcome.QUEUE_FAILED)


CRASHES = frozenset({Outcome.CRASHED_FAILED, Outcome.CRASHED_LOST, Outcome.CRASHED_KILLED})
_CRASH_OF_STATE = {"failed": Outcome.CRASHED_FAILED, "lost": Outcome.CRASHED_LOST, "killed": Outcome.CRASHED_KILLED}
_QUEUE_OF_STATE = {"conflict": Outcome.QUEUE_CONFLICT, "failed": Outcome.QUEUE_FAILED}
_BY_VALUE = {o.value: o for o in Outcome}


def parse(value: str | None) -> Outcome | None:
    """The member a stored outcome names; None for none, or for a value this version does not know."""
    return _BY_VALUE.get(value) if value else None


def crashed(worker_state: str) -> Outcome:
    """The outcome of an attempt whose worker ended in ``worker_state`` (failed, lost or killed)."""
    return _CRASH_OF_STATE[worker_state]


def rejected(queue_state: str) -> Outcome:
    """The outcome of an attempt the queue sent back (its entry ended ``conflict`` or ``failed``)."""
    return _QUEUE_OF_STATE[queue_state]
