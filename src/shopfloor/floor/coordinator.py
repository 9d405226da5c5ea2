"""The coordinator (``shopfloor run``): plain code, not an agent following prose.

Each turn it reads the tracker and acts:
1. returns expired leases to ready, and renews its own once less than half is left;
2. for each worker whose agent finished, gates its branch (recording the attempt): a pass is
   queued; a failure resumes the *same* session with the gate report, unless the issue's
   attempts spiral, which blocks the issue with a summary;
3. hands a session off when its context use reaches the limit (a fresh session on the same
   worktree, with a note built from the attempt history);
4. restarts a crashed agent, and blocks the issue after three crashes;
5. runs a queue pass (also for a waiting change a person approved: ``floor.waiting``), and cleans
   up the workers of closed issues (merged only if the queue closed it), and of issues their own
   agent blocked (``floor.selfblock``); a finished issue's session is first asked, once, what the
   next agent on this code should know (``floor.lessons``, ``[flywheel] ask_agent``);
6. fills free slots by claiming ready issues (a change waiting for approval takes no slot);
7. commits the tracker's JSONL on the target when that is due (``floor.publish``).
It keeps no state of its own: killed and started again, it carries on from the rows.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from shopfloor import faults
from shopfloor.agents.options import parse
from shopfloor.configfile import read_toml
from shopfloor.errors import ConflictError, ShopfloorError
from shopfloor.floor import (
    admission,
    adopt,
    attempts,
    lanes,
    learnings,
    lessonturn,
    notes,
    notify,
    retry,
    review,
    selfblock,
    startfail,
    stopping,
    waiting,
    wake,
)
from shopfloor.floor import facts as floorfacts
from shopfloor.floor.cleanup import cleanup
from shopfloor.floor.decide import QUEUED_VERDICTS, Action, Do, Prompt, Rules, decide
from shopfloor.floor.gatepool import GatePool
from shopfloor.floor.lessons import DEFAULT_MODE
from shopfloor.floor.outcomes import Outcome
from shopfloor.floor.pools import Pools, taken
from shopfloor.floor.prompts import HANDOFF_REQUEST, briefing, for_session
from shopfloor.floor.publish import TrackerPublisher
from shopfloor.floor.startpool import StartPool, begin_attempt
from shopfloor.gate import runlog
from shopfloor.gate.results import GateReport
from shopfloor.learn.brief import DEFAULT_TOKENS
from shopfloor.paths import main_tree, state_dir
from shopfloor.progress import Progress
from shopfloor.queue import branches, entries
from shopfloor.queue.landing import add, run_once
from shopfloor.tracker import store, writes
from shopfloor.tracker.issuetype import Issue
from shopfloor.tracker.service import Tracker
from shopfloor.workers import lifecycle as workers
from shopfloor.workers.records import Worker

Clock = Callable[[], float]  # epoch seconds: time.time, or a test's
MAX_CRASHES = 3  # restarts within CRASH_WINDOW_S that make a crash loop
CRASH_WINDOW_S = 15 * 60.0
BACKOFF_S = (0.0, 2.0, 8.0)  # wait before the 1st, 2nd, 3rd restart


@dataclass(frozen=True)
class FloorConfig:
    workers: int = 3
    agent: str = "claude"
    max_attempts: int = 4
    context_limit: float | None = None  # None: each agent's [agents.X] context_limit (default 0.40)
    until_idle: bool = False
    lease_s: float = 30 * 60.0
    batch: int = 4
    terminal: str | None = None
    poll_s: float = 1.0  # the slow timer (leases, stalls, lost processes); another process's commit wakes it at once
    stall_s: float = 600.0  # no event for this long: nudge once, then restart fresh
    tracker_interval_s: float | None = 60.0  # tracker commits on the target at most this often; None: none
    limits: admission.Limits | None = None  # what the machine must have to start one more; None: anything
    gate_jobs: int | None = None  # gates run at once beside the loop; None: ``default_gate_jobs()``
    brief_tokens: int = DEFAULT_TOKENS  # [flywheel] brief_tokens: the learnings a worker is briefed with; 0: none
    ask_agent: str = DEFAULT_MODE  # [flywheel] ask_agent: when a finished issue's agent is asked for its lessons


def _issue(tracker: Tracker, issue_id: str) -> Issue:
    return store.get(tracker.conn, issue_id)


def _comment(tracker: Tracker, issue_id: str, text: str) -> None:
    with tracker.write() as conn:
        writes.add_comment(conn, issue_id, text, tracker.actor, tracker.now())


def _tend(
    tracker: Tracker,
    worker: Worker,
    cfg: FloorConfig,
    pool: GatePool,
    now: float,
    progress: Progress,
    free: bool,
    rules: Rules,
) -> None:
    """Decide what one busy worker needs (``floor.decide``) and do it. A recorded attempt is the
    first thing every worker generation needs: after ``BEGIN``, decide again. ``free``: the floor
    runs no more agents than --workers if this one starts again."""
    if worker.state == "running":
        faults.point("run")
    for _ in range(2):
        facts = floorfacts.of_worker(tracker, worker, now, pool.gating(worker), free)
        if facts.current is not None:
            errors, error, at = pool.errors(facts.current.id)
            facts = replace(facts, gate_errors=errors, gate_error=error, gate_error_at=at)
        action = decide(facts, rules)
        if action.do in (Do.RESUME, Do.ASK_HANDOFF) and not workers.can_resume(worker):
            action = decide(replace(facts, resumable=False), rules)  # read only when it matters
        if action.do != Do.BEGIN:
            _perform(tracker, worker, action, cfg, pool, progress)
            return
        begin_attempt(tracker, worker)


def _rules(tracker: Tracker, cfg: FloorConfig, agent: str) -> Rules:
    return Rules(
        context_limit=limit_for(tracker, cfg, agent),
        stall_s=cfg.stall_s,
        max_attempts=cfg.max_attempts,
        max_crashes=MAX_CRASHES,
        crash_window_s=CRASH_WINDOW_S,
        backoff_s=BACKOFF_S,
    )


# What the progress line says an action does (after the issue and the action's reason).
_SAYS = {
    (Do.RESUME, Prompt.REPORT): "resuming the same session with the report",
    (Do.FRESH, Prompt.HANDOFF_AND_REPORT): "handing off to a fresh session",
    (Do.RESUME, Prompt.NUDGE): "nudging it",
    (Do.FRESH, Prompt.HANDOFF): "restarting it fresh",
    (Do.FRESH, Prompt.HANDOFF_WITH_OWN_NOTE): "starting fresh with the handoff note",
    (Do.RESUME, Prompt.QUEUE_REJECTION): "back to its session",
    (Do.RESUME, Prompt.AFTER_CRASH): "the agent crashed; restarting it",
    (Do.RESUME, Prompt.AFTER_STOP): "stopped by `shopfloor stop`; resuming its session",
    (Do.RESUME, Prompt.REVIEW): "resuming the same session with the review",
    (Do.FRESH, Prompt.REVIEW): "its session is gone; a fresh one gets the review",
    (Do.ASK_HANDOFF, None): "handoff: asking the session for its note",
    (Do.STOP_SESSION, None): "stopping its session and gating",
    (Do.QUEUE, None): "queued",
}


def _perform(
    tracker: Tracker, worker: Worker, action: Action, cfg: FloorConfig, pool: GatePool, progress: Progress
) -> None:
    """Carry out ``action`` for ``worker``: record its outcome on the current attempt, then act."""
    attempt = attempts.of_worker(tracker.conn, worker.name, worker.generation)
    if action.record is not None and attempt is not None:
        if attempt.ended_at or not action.ended:
            attempts.finish(tracker.conn, attempt.id, outcome=action.record)
        else:
            attempts.end(tracker.conn, attempt.id, tracker.now(), action.record, worker)
    says = _SAYS.get((action.do, action.prompt))
    if says:
        progress(f"{worker.issue}: {action.why}; {says}")
    if action.do == Do.GATE and attempt is not None:
        pool.start(worker, attempt.id)
    elif action.do == Do.QUEUE:
        with contextlib.suppress(ConflictError):  # already queued
            add(tracker, worker.branch)
    elif action.prompt == Prompt.REVIEW:  # a person's review (``floor.review``): the next attempt's input
        review.resume(tracker, worker, cfg.terminal, fresh=action.do == Do.FRESH)
    elif action.do in (Do.RESUME, Do.FRESH) and action.prompt is not None:
        text, note = for_session(tracker, worker, action.prompt, attempt)
        if note:  # the floor's handoff note is kept on the issue (the rest of the prompt is not)
            _comment(tracker, worker.issue, note)
        _restart(tracker, worker, text, cfg, fresh=action.do == Do.FRESH)
    elif action.do == Do.ASK_HANDOFF:
        # The ending session writes its own handoff note in one resumed turn; the fresh session
        # starts once that turn is done (``decide``: done while writing the note).
        row = _restart(tracker, worker, HANDOFF_REQUEST.format(issue=worker.issue), cfg, fresh=False)
        current = attempts.of_worker(tracker.conn, row.name, row.generation)
        if current is not None:
            attempts.finish(tracker.conn, current.id, outcome=Outcome.WRITING_NOTE)
    elif action.do == Do.STOP_SESSION:
        workers.kill(tracker, worker)
    elif action.do == Do.FORGET_START:
        if startfail.never_launched(tracker, worker, progress) and attempt is not None:
            attempts.discard(tracker.conn, attempt.id)
    elif action.do == Do.BLOCK:
        # The last gate run's findings, when they are why: not a passing run the queue could not land.
        failed = attempt is not None and attempt.gate_run and attempt.verdict not in QUEUED_VERDICTS
        report = _gate_report(tracker, attempt) if failed and attempt is not None else None
        _block(tracker, worker, action.why, progress, report, _asker(tracker, cfg, progress))


def _restart(tracker: Tracker, worker: Worker, prompt: str, cfg: FloorConfig, *, fresh: bool) -> Worker:
    row = workers.restart(tracker, worker, cfg.terminal, prompt=prompt, fresh=fresh)
    begin_attempt(tracker, row, handoff=fresh)
    return row


def _asker(tracker: Tracker, cfg: FloorConfig, progress: Progress) -> Callable[[Worker], bool]:
    """Where a finished issue's worker would go: ask its session for its lessons first
    (``floor.lessonturn``); True while it stays for that turn."""
    return lambda worker: lessonturn.ask(tracker, worker, cfg.ask_agent, time.time(), progress)


def _block(
    tracker: Tracker,
    worker: Worker,
    why: str,
    progress: Progress,
    report: GateReport | None = None,
    ask: Callable[[Worker], bool] | None = None,
) -> None:
    """Block the issue with a comment: why, what failed in the last gate run (``report``), the
    attempts. Its worker goes, once its session was asked for its lessons (``ask``)."""

    text = notes.block_comment(why, attempts.of_issue(tracker.conn, worker.issue), report)
    with tracker.write() as conn:
        writes.add_comment(conn, worker.issue, text, tracker.actor, tracker.now())
        writes.update(conn, worker.issue, {"status": "blocked"}, tracker.actor, tracker.now())
    title = _issue(tracker, worker.issue)["title"]
    notify.emit(notify.kind_of_block(why), issue=worker.issue, title=title, reason=why)
    try:
        ended = workers.find(tracker, worker.name)
        if ask is not None and ask(ended):
            progress(f"{worker.issue}: blocked ({why})")
            return
        workers.remove(tracker, ended, force=True, drop_landed=branches.after_remove)
    except ShopfloorError as exc:
        progress(f"{worker.issue}: could not remove its worker ({exc})")
    progress(f"{worker.issue}: blocked ({why})")


def limit_for(tracker: Tracker, cfg: FloorConfig, agent: str) -> float:
    """The context limit: --context-limit, else the agent's configured one (the 40% rule by default)."""
    if cfg.context_limit is not None:
        return cfg.context_limit

    path = Path(tracker.location.config_path)
    return parse(read_toml(path), agent, path).context_limit


def _gate_report(tracker: Tracker, attempt: attempts.Attempt) -> GateReport:
    assert attempt.gate_run is not None
    return runlog.get_run(tracker.conn, attempt.gate_run)


def _busy(tracker: Tracker, all_workers: list[Worker], lease_s: float | None = None) -> list[Worker]:
    """Workers whose issue is still in progress (not merged, not blocked); with ``lease_s``, their
    issues' leases are renewed (an issue waiting in the queue must not return to ready), but only
    once less than half of a lease is left: not at every poll (``tracker.writes.renew``)."""

    out = []
    for worker in all_workers:
        issue = _issue(tracker, worker.issue)
        if issue.get("status") == "in_progress":
            out.append(worker)
            if lease_s and issue.get("assignee") == tracker.actor:  # only its own claims: not a person's
                writes.renew(tracker.conn, worker.issue, tracker.actor, time.time(), lease_s, take=True)
    return out


def _fill(tracker: Tracker, cfg: FloorConfig, taken: int, progress: Progress, starts: StartPool) -> int:
    """Claim ready issues for the free slots (``taken``: slots in use) and hand each start to
    ``starts``; how many were handed over."""

    started = 0
    while taken + started < cfg.workers and starts.room() > 0:
        with tracker.write() as conn:
            issue = writes.claim_next(conn, tracker.actor, tracker.now(), tracker.lease_until(cfg.lease_s))
        if issue is None:
            break
        faults.point("claim")
        retry.renew_if_over(tracker, issue["id"])  # set open again by a person: its old attempts are history
        learned = learnings.for_issue(tracker, issue, cfg.brief_tokens)  # within [flywheel] brief_tokens
        extra = briefing(tracker, issue["id"], learned.text)
        agent = retry.agent_for(tracker.conn, issue["id"]) or cfg.agent  # `shopfloor retry --agent` picks one
        starts.start(workers.StartRequest(issue["id"], agent, extra, cfg.terminal, cfg.lease_s), learned.sources)
        started += 1
    return started


def turn(
    tracker: Tracker,
    cfg: FloorConfig,
    progress: Progress,
    publisher: TrackerPublisher | None,
    pools: Pools,
    clock: Clock,
) -> bool:
    """One turn of the loop; True while there is anything left to do. With a ``publisher``, the
    tracker is committed on the target when that is due (``floor.publish``). Gates, starts and
    queue passes run in ``pools``, beside the loop; ``clock`` is the floor's *now* (epoch seconds)."""

    pools.starts.raise_if_stopped()  # a start in a job reached the streak that stops the floor
    # Claims lost while no coordinator ran, starts it never made (a start in flight is not one).
    adopt.settle(tracker, cfg.lease_s, progress, pools.starts.starting())
    listed = workers.list_workers(tracker)
    now = clock()
    staying, asked = lessonturn.settle(tracker, listed, now, progress)  # lessons turns under way (``floor.lessons``)
    ask = _asker(tracker, cfg, progress)
    # An agent that blocked its own issue: its worker goes (after its lessons turn, if any).
    selfblock.settle(tracker, [w for w in listed if w.name not in asked], progress, ask)
    busy = _busy(tracker, listed, cfg.lease_s)
    flight = pools.starts.starting()  # a start in flight is not tended: its worker is not made yet
    free = taken(tracker, busy, flight, cfg.workers) <= cfg.workers
    rules: dict[str, Rules] = {}  # per agent, read once a turn (its context limit is in config.toml)
    for worker in busy:
        if worker.issue not in flight:
            if worker.agent not in rules:
                rules[worker.agent] = _rules(tracker, cfg, worker.agent)
            _tend(tracker, worker, cfg, pools.gates, now, progress, free, rules[worker.agent])
    pools.check_lane(progress)
    queued_now = entries.list_entries(tracker.conn, ("queued",))
    # testing: a pass killed mid-landing, recovered; approved: a waiting change a person approved since
    due = queued_now + entries.list_entries(tracker.conn, ("testing",)) + waiting.approved(tracker.conn)
    if due:
        if pools.queue is not None:
            pools.poke(due, now)  # the lane lands it beside the loop; changes queued meanwhile join its next batch
        else:
            try:
                run_once(tracker, cfg.batch, progress, hooks=attempts.QUEUE_HOOKS)
            except ConflictError as exc:
                if queued_now:  # a person's `queue run` holds the lock: say so only when the floor has work for it
                    progress(str(exc))
    listed = workers.list_workers(tracker)
    cleanup(tracker, listed, progress, lambda w: w.name in staying or ask(w))
    busy = _busy(tracker, workers.list_workers(tracker))
    flight = pools.starts.starting()
    used = taken(tracker, busy, flight, cfg.workers)
    # A change in the queue (to land, or waiting for a person's approval) runs no agent: it keeps
    # the floor busy only as a queue entry (below), never as a worker.
    in_queue = waiting.in_queue(tracker.conn)
    working = [w for w in waiting.working(busy, in_queue) if w.issue not in flight]
    # A free slot with a ready issue waits while the machine cannot take another agent (``floor.admission``).
    limited = cfg.limits is not None and cfg.limits.enabled
    wants = limited and used < cfg.workers and bool(store.ready_ids(tracker.conn, tracker.now(), 1))
    held = admission.hold(state_dir(tracker), cfg.limits, wants, tracker.now(), progress)
    started = 0 if held else _fill(tracker, cfg, used, progress, pools.starts)
    queued = entries.list_entries(tracker.conn, entries.OPEN_STATES)
    # Issues waiting for a person's approval are not work the floor can do: they do not keep it busy.
    approvals = entries.list_entries(tracker.conn, ("needs-approval",))
    for entry in approvals:
        notify.emit("needs-approval", issue=entry.issue, branch=entry.branch)  # once per change and run
    active = waiting.keeps_busy(
        working=len(working), in_flight=len(flight), started=started, queued=len(queued), held=bool(held),
        pools_busy=pools.busy(), start_failures=startfail.pending(tracker),
    )  # fmt: skip
    active = active or lessonturn.pending(tracker.conn, listed)  # a lessons turn keeps the floor up
    if publisher is not None:
        publisher.after_turn(tracker, active, progress)
    return active


def run(tracker: Tracker, cfg: FloorConfig, progress: Progress, clock: Clock = time.time) -> None:
    interval = cfg.tracker_interval_s
    publisher = TrackerPublisher(interval) if interval is not None else None
    notify.install(Path(tracker.location.config_path), str(main_tree(tracker)), progress)
    listed = workers.list_workers(tracker)
    for line in adopt.adopted(listed, adopt.situations(tracker, listed)):
        progress(line)
    woken = threading.Event()  # a gate job or a start that ended (their commits also move data_version)
    pools = Pools.beside(tracker, cfg.gate_jobs, cfg.batch, progress, woken)
    shown = lanes.Publisher(state_dir(tracker))  # what `status` says the lanes do
    interrupted = True
    try:
        while True:
            seen = wake.version(tracker.conn)  # a commit by another process during the turn wakes the next one
            active = turn(tracker, cfg, progress, publisher, pools, clock)
            shown.publish(pools.gates.jobs, pools.gates.jobs_now(), pools.queue is not None and pools.queue.busy)
            if cfg.until_idle and not active:
                notify.emit("idle", counts=_counts(tracker))
                interrupted = False
                return
            time.sleep(wake.MIN_TURN_S)
            wake.until_changed(tracker.conn, seen, cfg.poll_s, event=woken)
    except KeyboardInterrupt as exc:
        how = "SIGTERM" if isinstance(exc, stopping.Terminated) else "interrupted"
        notify.emit("stopped", reason=how, counts=_counts(tracker))
        raise
    except startfail.FloorStopped as exc:
        notify.emit("stopped", reason=str(exc), counts=_counts(tracker))
        raise
    finally:
        pools.stop(interrupted)
        shown.close()


def _counts(tracker: Tracker) -> dict[str, int]:
    return store.status_counts(tracker.conn)
