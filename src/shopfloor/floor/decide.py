"""The floor's rules as one pure function: the facts of one worker and its issue -> one action.

``decide`` reads plain data (``Facts``: the worker row, its current attempt, the attempts of the
issue's series, its queue entries, whether a gate job runs for it, and *now*) and the floor's
``Rules``, and returns an ``Action``: what to record on the current attempt, and what to do next.
It does no IO and reads no clock, so every rule is a row in a table test
(``tests/unit/test_floor_decide.py``). ``floor.coordinator`` gathers the facts (``floor.facts``) and
performs the action; it holds no rules of its own.

Every ended attempt leads somewhere: gated, queued, resumed, restarted, blocked, or waiting for
a named reason (``Action.why``). A worker killed between recording an outcome and acting on it
finds the same action on the next turn, so each step is safe to repeat.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from shopfloor.floor.outcomes import Outcome, crashed, rejected
from shopfloor.floor.spiral import AttemptFacts, spiral

ENDED_STATES = ("failed", "lost", "killed")


class Do(StrEnum):
    BEGIN = "begin"  # record the attempt of the worker's generation, then decide again
    GATE = "gate"  # start a gate job on the worker's branch
    QUEUE = "queue"  # put the passed change in the merge queue
    RESUME = "resume"  # end the session's turn and resume the *same* session with a prompt
    FRESH = "fresh"  # a fresh session on the same workspace, with a prompt
    ASK_HANDOFF = "ask-handoff"  # resume the ending session once, asking it for its handoff note
    STOP_SESSION = "stop-session"  # the agent said done but runs on: stop it (its work is then gated)
    FORGET_START = "forget-start"  # its start died before launch: remove the worker, start the issue again
    BLOCK = "block"  # block the issue with ``why``; its worker goes
    WAIT = "wait"  # nothing to do now; ``why`` says what it waits for


class Prompt(StrEnum):
    """Which of the floor's prompts (``floor.prompts``) a resumed or fresh session is given."""

    REPORT = "report"  # the gate's report
    HANDOFF_AND_REPORT = "handoff+report"  # a handoff note, then the gate's report
    HANDOFF = "handoff"  # a handoff note built from the attempt history
    HANDOFF_WITH_OWN_NOTE = "handoff+own-note"  # that, plus the note the ending session wrote
    NUDGE = "nudge"
    QUEUE_REJECTION = "queue-rejection"
    AFTER_CRASH = "after-crash"
    AFTER_STOP = "after-stop"
    REVIEW = "review"  # a person's review of the change (``floor.review``): their line comments


@dataclass(frozen=True)
class Rules:
    context_limit: float = 0.40
    stall_s: float = 600.0
    max_attempts: int = 4
    max_crashes: int = 3  # crashes within crash_window_s that make a crash loop
    crash_window_s: float = 15 * 60.0
    backoff_s: tuple[float, ...] = (0.0, 2.0, 8.0)  # wait before the 1st, 2nd, 3rd restart
    max_gate_errors: int = 3  # gate jobs that could not run before the issue is blocked
    gate_retry_s: float = 5.0  # the pause before gating again after the first one (doubling)
    max_handoffs: int = 3  # handoffs in a row with nothing gated between them before the issue is blocked


@dataclass(frozen=True)
class Past:
    """One attempt of the issue's current series (the current one included)."""

    id: int
    outcome: Outcome | None
    ended_at: float | None  # epoch seconds; None while open
    facts: AttemptFacts = field(default_factory=lambda: AttemptFacts("fail"))  # what its gate found (``spiral``)


@dataclass(frozen=True)
class Current:
    """The attempt of the worker's current generation."""

    id: int
    outcome: Outcome | None
    ended: bool
    gate_run: int | None = None
    verdict: str | None = None


@dataclass(frozen=True)
class QueueFacts:
    """The worker branch's queue entries of this series."""

    last_state: str  # the latest entry's state
    last_head: str
    rejected_heads: tuple[str, ...] = ()  # heads of the entries that ended conflict/failed, oldest first
    last_detail: str = ""  # what the queue said of the latest entry


@dataclass(frozen=True)
class Facts:
    issue: str
    state: str  # the worker row's state
    now: float
    last_event_at: float  # epoch of the agent's last event (or the worker's start)
    context_used: float | None = None
    current: Current | None = None
    series: tuple[Past, ...] = ()
    queue: QueueFacts | None = None
    said_done: bool = False  # the agent ran `shopfloor done` since the attempt began
    gating: bool = False  # a gate job runs on this attempt now
    launched: bool = True  # the worker wrote its launch spec (its start was not killed half-way)
    gate_errors: int = 0  # gate jobs of this attempt that could not run (an error, not a verdict)
    gate_error: str = ""  # the last one's error
    gate_error_at: float = 0.0  # and when (epoch seconds)
    error: str = ""  # the first line of the worker's own error (a crash), for a block's reason
    slot_free: bool = True  # the worker may run an agent again without going over --workers
    resumable: bool = True  # its agent session can be continued (``workers.can_resume``)
    review: int | None = None  # a person's review (its id) waits to be sent to the session (``floor.review``)


@dataclass(frozen=True)
class Action:
    do: Do
    record: Outcome | None = None  # the outcome to record on the current attempt first
    ended: bool = True  # with ``record`` on an open attempt: it ends now (False: it is only marked)
    prompt: Prompt | None = None
    why: str = ""


QUEUED_VERDICTS = ("pass", "needs-approval")  # a pass lands; a needs-approval waits for a person


def decide(facts: Facts, rules: Rules) -> Action:
    action = _decide(facts, rules)
    if not facts.resumable and action.do in (Do.RESUME, Do.ASK_HANDOFF):
        return _fresh_instead(action)
    return action


def _fresh_instead(action: Action) -> Action:
    """A session that cannot be continued (never saved, or lost) is not resumed: a fresh one
    starts with the floor's handoff note (and the gate report, when that was the prompt; a
    person's review goes to the fresh session as it is)."""
    prompt = Prompt.HANDOFF_AND_REPORT if action.prompt == Prompt.REPORT else Prompt.HANDOFF
    if action.prompt == Prompt.REVIEW:
        prompt = Prompt.REVIEW
    why = f"{action.why}; its session cannot be resumed" if action.why else "its session cannot be resumed"
    return Action(Do.FRESH, record=action.record, ended=action.ended, prompt=prompt, why=why)


def _decide(facts: Facts, rules: Rules) -> Action:
    cur = facts.current
    if cur is None:
        return Action(Do.BEGIN, why="no attempt recorded for this generation")
    if facts.review is not None and not facts.gating and facts.state in ("done", *ENDED_STATES) and not _landing(facts):
        return _review(facts)
    if cur.ended:
        return _after_end(facts, cur, rules)
    if facts.gating:
        return Action(Do.WAIT, why="its gate is running")
    if facts.state == "done":
        if cur.outcome == Outcome.WRITING_NOTE:
            why = "the ending session's note turn is over"
            return Action(Do.FRESH, record=Outcome.HANDOFF_NOTE, prompt=Prompt.HANDOFF_WITH_OWN_NOTE, why=why)
        return _gate(facts, rules, "the agent finished")
    if facts.state == "running":
        return _running(facts, cur, rules)
    if facts.state in ENDED_STATES:
        if cur.outcome == Outcome.SAID_DONE:
            return _gate(facts, rules, "the agent said done")
        if not facts.launched:
            return Action(Do.FORGET_START, why="its start was interrupted before the agent launched")
        return _crash(facts, rules, this_one=True)
    return Action(Do.WAIT, why=f"the worker is {facts.state}")


def _landing(facts: Facts) -> bool:
    """The queue is landing its change: too late for a review (it is sent if the landing fails)."""
    return facts.queue is not None and facts.queue.last_state in ("queued", "testing")


def _review(facts: Facts) -> Action:
    """A person reviewed the change its agent left (waiting for approval, or ungated): the same
    session gets the review; its answer is gated like any attempt."""
    if not facts.slot_free:
        return Action(Do.WAIT, why="a person's review waits for a free slot")
    return Action(Do.RESUME, record=Outcome.REVIEWED, prompt=Prompt.REVIEW, why=f"a person's review ({facts.review})")


def _gate(facts: Facts, rules: Rules, why: str) -> Action:
    """Gate it; a gate that could not run is tried again after a growing pause, then blocks."""
    n = facts.gate_errors
    if n >= rules.max_gate_errors:
        why = f"its gate could not run ({n} times): {facts.gate_error}"
        return Action(Do.BLOCK, record=Outcome.GATE_ERROR, why=why)
    pause = rules.gate_retry_s * 2 ** (n - 1) if n else 0.0
    if facts.now - facts.gate_error_at < pause:
        return Action(Do.WAIT, why=f"its gate could not run; trying again in {pause:.0f} s")
    return Action(Do.GATE, why=why)


def _after_end(facts: Facts, cur: Current, rules: Rules) -> Action:
    """The current attempt has ended: carry out what its outcome asks, if that is not done yet."""
    out = cur.outcome
    if out == Outcome.QUEUED or (out is not None and out.rejected_by_queue):
        return _queue_result(facts, cur, rules)
    if out == Outcome.FAILED and cur.gate_run is not None:
        return after_gate(facts, cur.verdict or "fail", rules, cur.gate_run)
    if out == Outcome.SPIRAL:
        why = spiral(_gated(facts), rules.max_attempts) or "the attempts stopped making progress"
        return Action(Do.BLOCK, why=f"spiral: {why}")
    if out is not None and out.crashed:
        return _crash(facts, rules, this_one=False)
    if out == Outcome.STOPPED:
        return Action(Do.RESUME, prompt=Prompt.AFTER_STOP, why="`shopfloor stop` ended it; its session carries on")
    # Ended, and the restart that follows was interrupted (the generation did not move on): redo it.
    if out == Outcome.NUDGED:
        return Action(Do.RESUME, prompt=Prompt.NUDGE, why="nudged; its resume was interrupted")
    if out == Outcome.RESTARTED:
        return Action(Do.FRESH, prompt=Prompt.HANDOFF, why="its fresh session's start was interrupted")
    if out == Outcome.HANDOFF_NOTE:
        return Action(Do.FRESH, prompt=Prompt.HANDOFF_WITH_OWN_NOTE, why="its fresh session's start was interrupted")
    if out == Outcome.HANDOFF:
        return Action(Do.ASK_HANDOFF, why="its handoff request was interrupted")
    return Action(Do.WAIT, why=f"its attempt ended ({out or 'no outcome'})")


def after_gate(facts: Facts, verdict: str, rules: Rules, run: int | None = None) -> Action:
    """What follows a recorded gate verdict: queue a pass, block a spiral, else back to the agent."""
    said = f"gate {verdict}" + (f" (run {run})" if run is not None else "")
    if verdict in QUEUED_VERDICTS:
        return Action(Do.QUEUE, why=said)
    why = spiral(_gated(facts), rules.max_attempts)
    if why:
        return Action(Do.BLOCK, record=Outcome.SPIRAL, why=f"spiral: {why}")
    if facts.context_used is not None and facts.context_used >= rules.context_limit:
        return Action(Do.FRESH, prompt=Prompt.HANDOFF_AND_REPORT, why=f"{said}; its context is full")
    return Action(Do.RESUME, prompt=Prompt.REPORT, why=said)


def _gated(facts: Facts) -> list[AttemptFacts]:
    return [p.facts for p in facts.series if p.ended_at is not None]


def _queue_result(facts: Facts, cur: Current, rules: Rules) -> Action:
    """A queued pass: wait while the queue holds it; one the queue sent back returns to its session."""
    queue = facts.queue
    if queue is None:
        if cur.outcome == Outcome.QUEUED:  # recorded as queued, not in the queue (a person removed it)
            return Action(Do.QUEUE, why="its pass is not in the queue")
        return Action(Do.WAIT, why="its queue entry is gone")
    if queue.last_state not in ("conflict", "failed"):
        return Action(Do.WAIT, why=f"in the merge queue ({queue.last_state})")
    record = rejected(queue.last_state)
    same_head = queue.last_head in queue.rejected_heads[:-1]
    rounds = len(queue.rejected_heads)
    said = f"{queue.last_state}: {queue.last_detail}" if queue.last_detail else queue.last_state
    if same_head or rounds >= rules.max_attempts:
        why = "the same branch head came back" if same_head else f"{rounds} rounds"
        return Action(Do.BLOCK, record=record, why=f"the merge queue could not land it ({said}; {why})")
    if not facts.slot_free:  # its agent ended when it was queued: it starts again only in a free slot
        return Action(Do.WAIT, record=record, why="sent back by the merge queue; waiting for a free slot")
    return Action(Do.RESUME, record=record, prompt=Prompt.QUEUE_REJECTION, why=f"the merge queue says {said}")


def _running(facts: Facts, cur: Current, rules: Rules) -> Action:
    quiet = facts.now - facts.last_event_at
    if quiet >= rules.stall_s:
        return _stalled(facts, cur, quiet)
    if cur.outcome == Outcome.WRITING_NOTE:
        return Action(Do.WAIT, why="the ending session is writing its handoff note")
    if facts.said_done:
        return Action(Do.STOP_SESSION, record=Outcome.SAID_DONE, ended=False, why="the agent said done")
    used = facts.context_used
    if used is not None and used >= rules.context_limit:
        said = f"context at {used:.0%} (limit {rules.context_limit:.0%})"
        streak = _handoff_streak(facts, cur)
        if streak >= rules.max_handoffs:
            why = (
                f"{said} again after {streak} handoffs in a row with nothing gated: each fresh session "
                "fills its context before its work is done; split the issue, or trim its briefing"
            )
            return Action(Do.BLOCK, record=Outcome.HANDOFF, why=why)
        return Action(Do.ASK_HANDOFF, record=Outcome.HANDOFF, why=said)
    return Action(Do.WAIT, why="the agent is working")


def _handoff_streak(facts: Facts, cur: Current) -> int:
    """The handoffs just before this attempt with nothing else between (each is two attempts: the
    one that filled its context, then its note turn): a session whose fresh start fills its
    context would otherwise hand off for ever."""
    streak = 0
    for past in reversed([p for p in facts.series if p.id != cur.id]):
        if past.outcome not in (Outcome.HANDOFF, Outcome.HANDOFF_NOTE):
            break
        streak += past.outcome == Outcome.HANDOFF
    return streak


def _stalled(facts: Facts, cur: Current, quiet: float) -> Action:
    """No event for the stall time: nudge once, then restart fresh, then block."""
    others = [p for p in facts.series if p.id != cur.id]
    nudged_before = any(p.outcome == Outcome.NUDGED for p in others)
    if not nudged_before:
        return Action(Do.RESUME, record=Outcome.NUDGED, prompt=Prompt.NUDGE, why=f"no event for {quiet:.0f} s")
    restarts = 1 + sum(1 for p in others if p.outcome == Outcome.RESTARTED)
    if restarts >= 2:
        why = f"it went silent again after a nudge and {restarts} fresh restarts"
        return Action(Do.BLOCK, record=Outcome.RESTARTED, why=why)
    why = f"still no event after a nudge ({quiet:.0f} s)"
    return Action(Do.FRESH, record=Outcome.RESTARTED, prompt=Prompt.HANDOFF, why=why)


def _crash(facts: Facts, rules: Rules, *, this_one: bool) -> Action:
    """A crashed agent: restart it after a growing pause; a crash loop blocks the issue.
    ``this_one``: the current attempt's crash is not recorded yet (it ends now)."""
    ended = [p.ended_at for p in facts.series if p.outcome is not None and p.outcome.crashed and p.ended_at]
    if this_one:
        ended.append(facts.now)
    recent = sorted(t for t in ended if facts.now - t <= rules.crash_window_s)
    record = _crash_outcome(facts.state) if this_one else None
    n = len(recent)
    if n >= rules.max_crashes:
        why = f"a crash loop: the agent crashed {n} times in 15 minutes" + (f": {facts.error}" if facts.error else "")
        return Action(Do.BLOCK, record=record, why=why)
    pause = rules.backoff_s[min(n - 1, len(rules.backoff_s) - 1)] if n else 0.0
    waited = facts.now - recent[-1] if recent else pause
    if waited < pause:
        return Action(Do.WAIT, record=record, why=f"backing off {pause - waited:.1f} s after a crash")
    return Action(Do.RESUME, record=record, prompt=Prompt.AFTER_CRASH, why=f"{n} crash(es) in 15 min")


def _crash_outcome(state: str) -> Outcome:
    return crashed(state) if state in ENDED_STATES else Outcome.CRASHED_LOST
