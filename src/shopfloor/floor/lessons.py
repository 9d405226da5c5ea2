"""The agent's own lessons (pure): when the floor asks a finished issue's session for them, what it
does next while that turn runs, and how its answer is cut to at most five bullets.

``[flywheel] ask_agent`` says when to ask: ``always`` (every issue the floor finishes),
``on-trouble`` (the default: an issue that needed a second pass or a handoff, or was blocked) or
``never``. ``step`` reads plain facts of one finished issue's worker and returns what to do:
ask (resume the same session once with ``floor.prompts.LESSONS_REQUEST``), wait for that turn,
take its answer, give up with a reason, or nothing (the worker may go). The wait is bounded,
and a session that cannot be resumed, crashes or says nothing never holds the issue up: the
floor records "no lessons: why" instead (``floor.lessonturn`` does the IO).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shopfloor.configfile import section
from shopfloor.errors import ValidationError
from shopfloor.floor.outcomes import Outcome

MODES = ("always", "on-trouble", "never")
DEFAULT_MODE = "on-trouble"
TIMEOUT_S = 300.0  # the longest the floor waits for the lessons turn
MAX_BULLETS = 5
BULLET_CHARS = 300
_MARKERS = ("- ", "* ", "• ", "+ ")


def finished(status: object, outcomes: Iterable[str | None]) -> str | None:
    """How the floor finished an issue, from its status and its attempts' outcomes: ``merged``
    (closed after a merged attempt), ``blocked`` (with attempts), or None: not finished by the
    floor (a person closed it, or it is still being worked). The retro and the lessons turn ask."""
    seen = list(outcomes)
    if status == "closed" and Outcome.MERGED in seen:
        return "merged"
    return "blocked" if status == "blocked" and seen else None


def parse_mode(data: Mapping[str, Any], where: str) -> str:
    """``[flywheel] ask_agent`` of a parsed config (the section's keys are checked by ``learn.brief``)."""
    value = section(dict(data), "flywheel", where).get("ask_agent", DEFAULT_MODE)
    if value not in MODES:
        allowed = ", ".join(f'"{m}"' for m in MODES)
        raise ValidationError(f"{where}: flywheel.ask_agent must be one of {allowed}, not {value!r}")
    return str(value)


def wanted(mode: str, outcome: str, attempts: int, handoffs: int) -> bool:
    """Does ``mode`` ask the agent of an issue that ended ``outcome`` (merged | blocked)?"""
    if mode == "always":
        return True
    if mode == "on-trouble":
        return outcome == "blocked" or attempts > 1 or handoffs > 0
    return False


class Step(StrEnum):
    NONE = "none"  # nothing to ask, or already answered: the worker may go
    ASK = "ask"  # resume the same session once with the lessons prompt
    WAIT = "wait"  # its lessons turn runs
    TAKE = "take"  # its lessons turn ended: record its final text
    GIVE_UP = "give-up"  # record "no lessons: <why>" (and the worker may go)


@dataclass(frozen=True)
class Asked:
    """The lessons turn of the issue's current series, as recorded."""

    generation: int  # the worker generation that runs it
    at: float  # when it was asked (epoch seconds)
    settled: bool  # an answer, or why there is none, is recorded


@dataclass(frozen=True)
class Facts:
    mode: str
    outcome: str | None  # merged | blocked; None: the floor did not finish it (a person closed it)
    attempts: int  # of the current series
    handoffs: int
    state: str  # the worker row's
    generation: int
    now: float
    asked: Asked | None = None
    resumable: bool = True  # its session can be continued
    error: str = ""  # the worker's error, first line (a crashed turn)


@dataclass(frozen=True)
class Action:
    step: Step
    why: str = ""


def step(facts: Facts, timeout_s: float = TIMEOUT_S) -> Action:
    asked = facts.asked
    if asked is None:
        if facts.outcome is None or not wanted(facts.mode, facts.outcome, facts.attempts, facts.handoffs):
            return Action(Step.NONE, "not asked")
        if not facts.resumable:
            return Action(Step.GIVE_UP, "its session cannot be resumed")
        return Action(Step.ASK, f"{facts.outcome} after {facts.attempts} attempt(s)")
    if asked.settled:
        return Action(Step.NONE, "answered")
    if facts.generation != asked.generation:
        return Action(Step.GIVE_UP, "its session was restarted by someone else")
    if facts.state in ("starting", "running"):
        waited = facts.now - asked.at
        if waited >= timeout_s:
            return Action(Step.GIVE_UP, f"no answer within {timeout_s:.0f} s")
        return Action(Step.WAIT, "its lessons turn runs")
    if facts.state == "done":
        return Action(Step.TAKE, "its lessons turn ended")
    return Action(Step.GIVE_UP, f"its lessons turn ended {facts.state}" + (f": {facts.error}" if facts.error else ""))


def bullets(text: str) -> tuple[str, ...]:
    """At most ``MAX_BULLETS`` one-line bullets from the agent's answer: its bulleted (or numbered)
    lines, markers stripped, whitespace folded, each cut to ``BULLET_CHARS``. Prose is not a
    lesson: an answer without bullets ("Nothing to add.", a harness's canned reply) gives none,
    so boilerplate that recurs across issues never becomes a proposed rule. Untrusted text stays
    data: no line breaks survive inside a bullet."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    marked = [unmarked(line) for line in lines if line and unmarked(line) != line]
    chosen = [b for b in marked if b][:MAX_BULLETS]
    return tuple(b if len(b) <= BULLET_CHARS else b[: BULLET_CHARS - 1] + "…" for b in chosen)


def unmarked(line: str) -> str:
    """``line`` without its list marker ("- ", "* ", "• ", "+ ", "1. "), if it has one; a line that
    only starts with such a character ("--no-verify", "+1") keeps it."""
    for marker in _MARKERS:
        if line.startswith(marker):
            return line[len(marker) :].strip()
    head, dot, rest = line.partition(". ")
    if dot and head.isdigit() and len(head) <= 2:
        return rest.strip()
    return line
