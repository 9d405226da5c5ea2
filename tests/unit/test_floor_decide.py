"""The floor's decision table (``floor.decide``): pure, in-process, milliseconds.

Each row is one situation of one worker and the action the floor must take. The properties
check what no table can list: whatever the facts, one issue never gets a second live session,
and a finished attempt is always gated or explained.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopfloor.floor.decide import (
    Action,
    Current,
    Do,
    Facts,
    Past,
    Prompt,
    QueueFacts,
    Rules,
    decide,
)
from shopfloor.floor.outcomes import Outcome, parse
from shopfloor.floor.spiral import AttemptFacts

NOW = 1_000_000.0
RULES = Rules(context_limit=0.4, stall_s=600.0, max_attempts=4)


def facts(state: str = "running", current: Current | None = None, **changes: object) -> Facts:
    base = Facts(
        issue="t-1",
        state=state,
        now=NOW,
        last_event_at=NOW - 1,
        current=current if current is not None else Current(7, None, False),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def ended(outcome: Outcome, gate_run: int | None = None, verdict: str | None = None) -> Current:
    return Current(7, outcome, True, gate_run, verdict)


def failed_pass(n: int, signature: str = "lint:E1", diff: str = "") -> Past:
    return Past(n, Outcome.FAILED, NOW - 100 + n, AttemptFacts("fail", frozenset({signature}), frozenset(), diff))


def crash(n: int, ago: float) -> Past:
    return Past(n, Outcome.CRASHED_FAILED, NOW - ago)


OPEN = Current(7, None, False)
HANDED_OFF = tuple(  # three handoffs: each the attempt that filled its context, then its note turn
    Past(n, Outcome.HANDOFF if n % 2 else Outcome.HANDOFF_NOTE, NOW - 50 + n) for n in range(1, 7)
)
TABLE: list[tuple[str, Facts, Do, Prompt | None, Outcome | None]] = [
    ("no attempt recorded yet", replace(facts(), current=None), Do.BEGIN, None, None),
    ("the agent is working", facts(), Do.WAIT, None, None),
    ("the worker is starting", facts("starting"), Do.WAIT, None, None),
    ("the agent finished", facts("done"), Do.GATE, None, None),
    ("its gate runs", facts("done", gating=True), Do.WAIT, None, None),
    ("said done, then killed", facts("killed", Current(7, Outcome.SAID_DONE, False)), Do.GATE, None, None),
    ("said done, still running", facts(said_done=True), Do.STOP_SESSION, None, Outcome.SAID_DONE),
    ("context over the limit", facts(context_used=0.41), Do.ASK_HANDOFF, None, Outcome.HANDOFF),
    (
        "context over the limit after two handoffs in a row",
        facts(context_used=0.41, series=(failed_pass(0), *HANDED_OFF[:4], Past(7, None, None))),
        Do.ASK_HANDOFF,
        None,
        Outcome.HANDOFF,
    ),
    (
        "context over the limit after three handoffs in a row, nothing gated between",
        facts(context_used=0.41, series=(*HANDED_OFF, Past(7, None, None))),
        Do.BLOCK,
        None,
        Outcome.HANDOFF,
    ),
    (
        "three handoffs, but a gated pass since",
        facts(context_used=0.41, series=(*HANDED_OFF, failed_pass(6), Past(7, None, None))),
        Do.ASK_HANDOFF,
        None,
        Outcome.HANDOFF,
    ),
    ("context under the limit", facts(context_used=0.39), Do.WAIT, None, None),
    ("writing its handoff note", facts(current=Current(7, Outcome.WRITING_NOTE, False)), Do.WAIT, None, None),
    (
        "its handoff note written",
        facts("done", Current(7, Outcome.WRITING_NOTE, False)),
        Do.FRESH,
        Prompt.HANDOFF_WITH_OWN_NOTE,
        Outcome.HANDOFF_NOTE,
    ),
    ("silent: the first time", facts(last_event_at=NOW - 601), Do.RESUME, Prompt.NUDGE, Outcome.NUDGED),
    (
        "silent again after a nudge",
        facts(last_event_at=NOW - 601, series=(Past(1, Outcome.NUDGED, NOW - 700), Past(7, None, None))),
        Do.FRESH,
        Prompt.HANDOFF,
        Outcome.RESTARTED,
    ),
    (
        "silent after a nudge and a fresh restart",
        facts(
            last_event_at=NOW - 601,
            series=(Past(1, Outcome.NUDGED, NOW - 900), Past(2, Outcome.RESTARTED, NOW - 700), Past(7, None, None)),
        ),
        Do.BLOCK,
        None,
        Outcome.RESTARTED,
    ),
    ("a first crash: restart at once", facts("failed"), Do.RESUME, Prompt.AFTER_CRASH, Outcome.CRASHED_FAILED),
    ("a second crash: back off", facts("lost", series=(crash(1, 1),)), Do.WAIT, None, Outcome.CRASHED_LOST),
    (
        "a second crash, backed off long enough",
        facts(state="failed", current=ended(Outcome.CRASHED_FAILED), series=(crash(1, 60), crash(7, 3))),
        Do.RESUME,
        Prompt.AFTER_CRASH,
        None,
    ),
    ("a third crash: a crash loop", facts("killed", series=(crash(1, 60), crash(2, 30))), Do.BLOCK, None, None),
    ("crashes long ago do not count", facts("failed", series=(crash(1, 3600), crash(2, 3000))), Do.RESUME, None, None),
    ("its start was killed before launch", facts("failed", launched=False), Do.FORGET_START, None, None),
    (
        "gate failed: back with the report",
        facts(current=ended(Outcome.FAILED, 3, "fail")),
        Do.RESUME,
        Prompt.REPORT,
        None,
    ),
    (
        "gate failed and the context is full",
        facts(current=ended(Outcome.FAILED, 3, "fail"), context_used=0.5),
        Do.FRESH,
        Prompt.HANDOFF_AND_REPORT,
        None,
    ),
    (
        "the same failure twice: a spiral",
        facts(current=ended(Outcome.FAILED, 3, "fail"), series=(failed_pass(1), failed_pass(7))),
        Do.BLOCK,
        None,
        Outcome.SPIRAL,
    ),
    ("a spiral recorded, its block interrupted", facts(current=ended(Outcome.SPIRAL, 3, "fail")), Do.BLOCK, None, None),
    (
        "queued, in the queue",
        facts(current=ended(Outcome.QUEUED, 3, "pass"), queue=QueueFacts("queued", "h1")),
        Do.WAIT,
        None,
        None,
    ),
    ("queued, the entry missing", facts(current=ended(Outcome.QUEUED, 3, "pass")), Do.QUEUE, None, None),
    (
        "the queue sent it back",
        facts(current=ended(Outcome.QUEUED, 3, "pass"), queue=QueueFacts("conflict", "h1", ("h1",))),
        Do.RESUME,
        Prompt.QUEUE_REJECTION,
        Outcome.QUEUE_CONFLICT,
    ),
    (
        "the queue sent back the same head again",
        facts(current=ended(Outcome.QUEUED, 3, "pass"), queue=QueueFacts("failed", "h1", ("h1", "h1"))),
        Do.BLOCK,
        None,
        Outcome.QUEUE_FAILED,
    ),
    (
        "the queue's rounds run out",
        facts(current=ended(Outcome.QUEUED, 3, "pass"), queue=QueueFacts("conflict", "h4", ("h1", "h2", "h3", "h4"))),
        Do.BLOCK,
        None,
        Outcome.QUEUE_CONFLICT,
    ),
    (
        "sent back, but every slot is taken: it waits for one",
        facts(current=ended(Outcome.QUEUED, 3, "pass"), queue=QueueFacts("conflict", "h1", ("h1",)), slot_free=False),
        Do.WAIT,
        None,
        Outcome.QUEUE_CONFLICT,
    ),
    (
        "its gate could not run a moment ago: a pause first",
        facts("done", gate_errors=1, gate_error="database is locked", gate_error_at=NOW - 1),
        Do.WAIT,
        None,
        None,
    ),
    (
        "its gate could not run, the pause is over",
        facts("done", gate_errors=2, gate_error="x", gate_error_at=NOW - 11),
        Do.GATE,
        None,
        None,
    ),
    (
        "its gate could not run 3 times: blocked, the attempt ended",
        facts("done", gate_errors=3, gate_error="x", gate_error_at=NOW - 100),
        Do.BLOCK,
        None,
        Outcome.GATE_ERROR,
    ),
    ("stopped by `shopfloor stop`", facts(current=ended(Outcome.STOPPED)), Do.RESUME, Prompt.AFTER_STOP, None),
    (
        "its handoff note written, the fresh start interrupted",
        facts(current=ended(Outcome.HANDOFF_NOTE)),
        Do.FRESH,
        Prompt.HANDOFF_WITH_OWN_NOTE,
        None,
    ),
    ("nudged, its resume interrupted", facts(current=ended(Outcome.NUDGED)), Do.RESUME, Prompt.NUDGE, None),
    ("handoff asked, interrupted", facts(current=ended(Outcome.HANDOFF)), Do.ASK_HANDOFF, None, None),
    ("merged: nothing left", facts(current=ended(Outcome.MERGED)), Do.WAIT, None, None),
    (
        "gate failed, its session lost: a fresh one with the note and the report",
        facts(current=ended(Outcome.FAILED, 3, "fail"), resumable=False),
        Do.FRESH,
        Prompt.HANDOFF_AND_REPORT,
        None,
    ),
    (
        "context over the limit, its session never saved: straight to a fresh one",
        facts(context_used=0.55, resumable=False),
        Do.FRESH,
        Prompt.HANDOFF,
        Outcome.HANDOFF,
    ),
    (
        "crashed, its session lost: a fresh one, not a crash loop",
        facts("failed", resumable=False),
        Do.FRESH,
        Prompt.HANDOFF,
        Outcome.CRASHED_FAILED,
    ),
]


@pytest.mark.parametrize(("situation", "given_facts", "do", "prompt", "record"), TABLE, ids=[r[0] for r in TABLE])
def test_the_decision_table(
    situation: str, given_facts: Facts, do: Do, prompt: Prompt | None, record: Outcome | None
) -> None:
    action = decide(given_facts, RULES)
    assert action.do == do, f"{situation}: {action}"
    if prompt is not None:
        assert action.prompt == prompt, f"{situation}: {action}"
    if record is not None:
        assert action.record == record, f"{situation}: {action}"


def test_a_pass_goes_to_the_queue_and_needs_approval_waits_there_never_back_to_the_agent() -> None:
    from shopfloor.floor.decide import after_gate

    for verdict in ("pass", "needs-approval"):
        assert after_gate(facts(), verdict, RULES).do == Do.QUEUE
    assert after_gate(facts(), "fail", RULES).do == Do.RESUME


def test_stored_outcomes_read_back_as_members_and_unknown_ones_as_none() -> None:
    assert parse("crashed (lost)") is Outcome.CRASHED_LOST and Outcome.CRASHED_LOST.crashed
    assert parse("queue conflict") is Outcome.QUEUE_CONFLICT and Outcome.QUEUE_CONFLICT.rejected_by_queue
    assert parse("something newer") is None and parse(None) is None
    assert Outcome.QUEUED == "queued"  # the stored string is the member's value: no migration


# --- properties over any facts -------------------------------------------------------------

STATES = ("starting", "running", "done", "failed", "lost", "killed")
outcomes = st.none() | st.sampled_from(list(Outcome))
pasts = st.builds(
    Past,
    id=st.integers(1, 6),
    outcome=outcomes,
    ended_at=st.none() | st.floats(NOW - 5000, NOW),
    facts=st.builds(
        AttemptFacts,
        verdict=st.sampled_from(["pass", "fail", "needs-approval"]),
        signatures=st.frozensets(st.sampled_from(["a", "b"]), max_size=2),
        passing=st.frozensets(st.sampled_from(["x", "y"]), max_size=2),
        diff=st.sampled_from(["", "d1", "d2"]),
    ),
)
currents = st.none() | st.builds(
    Current,
    id=st.just(7),
    outcome=outcomes,
    ended=st.booleans(),
    gate_run=st.none() | st.just(3),
    verdict=st.none() | st.sampled_from(["pass", "fail", "needs-approval"]),
)
queues = st.none() | st.builds(
    QueueFacts,
    last_state=st.sampled_from(["queued", "testing", "merged", "conflict", "failed", "needs-approval"]),
    last_head=st.sampled_from(["h1", "h2"]),
    rejected_heads=st.lists(st.sampled_from(["h1", "h2"]), max_size=5).map(tuple),
)
any_facts = st.builds(
    Facts,
    issue=st.just("t-1"),
    state=st.sampled_from(STATES),
    now=st.just(NOW),
    last_event_at=st.floats(NOW - 2000, NOW),
    context_used=st.none() | st.floats(0, 1),
    current=currents,
    series=st.lists(pasts, max_size=6).map(tuple),
    queue=queues,
    said_done=st.booleans(),
    gating=st.booleans(),
    launched=st.booleans(),
    gate_errors=st.integers(0, 4),
    gate_error_at=st.floats(NOW - 100, NOW),
    slot_free=st.booleans(),
    resumable=st.booleans(),
)
SESSION_STARTS = (Do.RESUME, Do.FRESH, Do.ASK_HANDOFF)


@settings(max_examples=400, deadline=None)
@given(any_facts)
def test_no_action_starts_a_second_live_session_for_one_issue(given_facts: Facts) -> None:
    """A new session replaces the worker's own: never while its gate runs (the gate judges the
    old session's work), and for an agent still live only after ending its attempt (the floor's
    restart ends the session it replaces). Nothing ever starts another worker."""
    action = decide(given_facts, RULES)
    if action.do in SESSION_STARTS:
        assert not given_facts.gating or (given_facts.current is not None and given_facts.current.ended)
        live = given_facts.state in ("starting", "running")
        cur = given_facts.current
        if live and cur is not None and not cur.ended:
            assert action.record is not None and action.ended, action
    assert action.do != Do.GATE or not given_facts.gating
    if not given_facts.resumable:
        assert action.do not in (Do.RESUME, Do.ASK_HANDOFF), action  # a session that cannot be continued
    if action.prompt == Prompt.QUEUE_REJECTION:
        assert given_facts.slot_free, action  # an agent sent back by the queue starts only in a free slot


@settings(max_examples=400, deadline=None)
@given(any_facts)
def test_a_finished_attempt_is_always_gated_or_explained(given_facts: Facts) -> None:
    action = decide(given_facts, RULES)
    cur = given_facts.current
    done = given_facts.state == "done" and cur is not None and not cur.ended and not given_facts.gating
    if done:
        # gated, or the note turn of a handoff ends into a fresh session, or a gate that cannot run
        # blocks it; the only wait is the pause before gating again after a gate that could not run
        pausing = action.do == Do.WAIT and given_facts.gate_errors > 0 and "trying again" in action.why
        assert action.do in (Do.GATE, Do.FRESH, Do.BLOCK) or pausing, action
    if action.do == Do.WAIT:
        assert action.why, action  # a wait always names what it waits for
    assert isinstance(action, Action)
