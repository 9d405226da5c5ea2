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
   agent blocked (``floor.selfblock``);
6. fills free slots by claiming ready issues (a change waiting for approval takes no slot);
7. commits the tracker's JSONL on the target when that is due (``floor.publish``).
It keeps no state of its own: killed and started again, it carries on from the rows.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopfloor import faults
from shopfloor.errors import ConflictError, ShopfloorError
from shopfloor.floor import admission, adopt, attempts, notes, notify, selfblock, startfail, stopping, waiting, wake
from shopfloor.floor.cleanup import cleanup
from shopfloor.floor.prompts import HANDOFF_REQUEST, NUDGE, briefing, history, report_text
from shopfloor.floor.publish import TrackerPublisher
from shopfloor.floor.spiral import spiral
from shopfloor.sandbox.config import enabled as sandbox_enabled
from shopfloor.tracker.service import Tracker
from shopfloor.workers import service as workers
from shopfloor.workers.records import Worker
from shopfloor.workers.shim import refusals

Progress = Callable[[str], None]
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


def _issue(tracker: Tracker, issue_id: str) -> dict[str, Any]:
    from shopfloor.tracker import store

    return store.get(tracker.conn, issue_id)


def _comment(tracker: Tracker, issue_id: str, text: str) -> None:
    from shopfloor.tracker import writes

    with tracker.write() as conn:
        writes.add_comment(conn, issue_id, text, tracker.actor, tracker.now())


def _finished_attempt(tracker: Tracker, worker: Worker, progress: Progress, cfg: FloorConfig) -> None:
    from shopfloor.gate.service import GateRequest
    from shopfloor.gate.service import run as gate_run

    attempt = attempts.of_worker(tracker.conn, worker.name, worker.generation)
    if attempt is None or attempt.ended_at:
        return
    progress(f"{worker.issue}: the agent finished; gating {worker.branch} ...")
    _bring_back(tracker, worker, progress)
    request = GateRequest(rev=worker.branch, issue=worker.issue, attempt=str(attempt.id), require_change=True)
    report = gate_run(tracker, request)
    faults.point("gate")
    failing = [c for c in report["checks"] if c["status"] in ("fail", "error", "timeout")]
    from shopfloor.gate import gitio

    stat = gitio.git(
        tracker.location.worktree, "diff", "--shortstat", f"{report['merge_base']}..{report['commit']}", check=False
    ).stdout.strip()
    attempts.finish(
        tracker.conn,
        attempt.id,
        ended_at=tracker.now(),
        verdict=report["verdict"],
        gate_run=report["id"],
        session_id=worker.session_id,
        tokens=worker.tokens,
        cost_usd=worker.cost_usd,
        diff_fingerprint=report["tree"],
        diff_stat=stat,
        signatures={c["signature"] for c in failing if c["signature"]},
        passing={c["name"] for c in report["checks"] if c["status"] in ("pass", "flaky")},
        failed_checks={c["name"] for c in failing},
        outcome="queued" if report["verdict"] in QUEUED_VERDICTS else "failed",
        refused=refusals(worker.log_dir, worker.generation),  # what the worker channel refused this pass
    )
    after_gate(tracker, worker, report, cfg, progress)


def _bring_back(tracker: Tracker, worker: Worker, progress: Progress) -> None:
    """Fetch the worker's branch from its workspace (a clone) into the main repository, so the
    gate sees what the agent committed, its wip commit included. If that fails (the agent
    deleted its branch), the gate judges what the main repository holds, and says so."""
    from pathlib import Path

    from shopfloor.workers.service import main_tree
    from shopfloor.workspace.worktrees import fetch_back

    if not Path(worker.worktree).is_dir():
        return
    try:
        fetch_back(main_tree(tracker), worker.issue)
    except ShopfloorError as exc:
        progress(f"{worker.issue}: {exc}; gating {worker.branch} as the main repository has it")


# Verdicts whose change goes to the queue: a pass lands; a change that needs a person's approval
# waits there for `shopfloor approve` (sending it back to the agent would only make it spiral).
QUEUED_VERDICTS = ("pass", "needs-approval")


def after_gate(tracker: Tracker, worker: Worker, report: dict[str, Any], cfg: FloorConfig, progress: Progress) -> None:
    """What follows a recorded gate verdict. Idempotent, so a coordinator killed right after
    recording the attempt does it again on its next turn (see ``turn``)."""
    if report["verdict"] in QUEUED_VERDICTS:
        from shopfloor.queue.service import add

        with contextlib.suppress(ConflictError):  # already queued
            add(tracker, worker.branch)
        faults.point("queue")
        if report["verdict"] == "pass":
            progress(f"{worker.issue}: gate pass (run {report['id']}); queued for landing")
        else:  # nothing for the agent to fix: the queue holds it until a person approves it
            progress(f"{worker.issue}: gate needs approval (run {report['id']}); `shopfloor approve {worker.issue}`")
        return
    attempt = attempts.of_worker(tracker.conn, worker.name, worker.generation)
    facts = [a.facts() for a in attempts.of_series(tracker.conn, worker.issue) if a.ended_at]
    why = spiral(facts, cfg.max_attempts)
    if why:
        if attempt is not None:  # before the comment, which lists every attempt's outcome
            attempts.finish(tracker.conn, attempt.id, outcome="spiral")
        _block(tracker, worker, f"spiral: {why}", progress, report)
        return
    over = worker.context_used is not None and worker.context_used >= limit_for(tracker, cfg, worker.agent)
    progress(
        f"{worker.issue}: gate {report['verdict']} (run {report['id']}); "
        + ("handing off to a fresh session" if over else "resuming the same session with the report")
    )
    follow = report_text(report)
    if over:
        follow = handoff_note(tracker, worker) + "\n\n" + follow
    _restart(tracker, worker, follow, cfg, fresh=over)


def handoff_note(tracker: Tracker, worker: Worker) -> str:
    used = worker.context_used
    why = f"reached {used:.0%} of its context window" if used is not None else "stopped making progress"
    note = (
        f"Handoff: the previous session on this issue {why} and ended. Its work is committed on "
        f"{worker.branch} in this worktree; check `git log` and `git status`.\n" + history(tracker, worker.issue)
    )
    _comment(tracker, worker.issue, note)
    return note


def _begin(tracker: Tracker, row: Worker, *, handoff: bool = False) -> None:
    """Record the start of an attempt for the worker's current generation."""
    vibe = int(_issue(tracker, row.issue).get("vibe") or 3)
    sandbox = "bwrap" if sandbox_enabled() else "none"  # --no-sandbox: every attempt says so
    attempts.begin(
        tracker.conn,
        row.issue,
        row.name,
        row.generation,
        row.agent,
        vibe,
        tracker.now(),
        handoff=handoff,
        sandbox=sandbox,
    )


def _restart(tracker: Tracker, worker: Worker, prompt: str, cfg: FloorConfig, *, fresh: bool) -> Worker:
    row = workers.restart(tracker, worker, cfg.terminal, prompt=prompt, fresh=fresh)
    _begin(tracker, row, handoff=fresh)
    return row


def _block(
    tracker: Tracker, worker: Worker, why: str, progress: Progress, report: dict[str, Any] | None = None
) -> None:
    """Block the issue with a comment: why, what failed in the last gate run (``report``), the attempts."""
    from shopfloor.tracker import writes

    text = notes.block_comment(why, attempts.of_issue(tracker.conn, worker.issue), report)
    with tracker.write() as conn:
        writes.add_comment(conn, worker.issue, text, tracker.actor, tracker.now())
        writes.update(conn, worker.issue, {"status": "blocked"}, tracker.actor, tracker.now())
    title = str(_issue(tracker, worker.issue).get("title", ""))
    notify.emit(notify.kind_of_block(why), issue=worker.issue, title=title, reason=why)
    try:
        workers.remove(tracker, workers.find(tracker, worker.name), force=True)
    except ShopfloorError as exc:
        progress(f"{worker.issue}: could not remove its worker ({exc})")
    progress(f"{worker.issue}: blocked ({why})")


def _stalled(tracker: Tracker, worker: Worker, cfg: FloorConfig, progress: Progress) -> bool:
    """No event for ``stall_s``: nudge once (end the session, resume it with a nudge), then restart fresh."""
    from datetime import datetime

    last = worker.last_event_at or worker.started_at
    quiet = time.time() - datetime.fromisoformat(last.replace("Z", "+00:00")).timestamp()
    if quiet < cfg.stall_s:
        return False
    attempt = attempts.of_worker(tracker.conn, worker.name, worker.generation)
    current = attempt.id if attempt is not None else None
    nudged_before = any(
        a.outcome == "nudged" and a.id != current for a in attempts.of_series(tracker.conn, worker.issue)
    )
    if attempt is not None and not attempt.ended_at:
        attempts.end(tracker.conn, attempt.id, tracker.now(), "restarted" if nudged_before else "nudged", worker)
    restarted_before = sum(1 for a in attempts.of_series(tracker.conn, worker.issue) if a.outcome == "restarted")
    if nudged_before and restarted_before >= 2:
        _block(tracker, worker, f"it went silent again after a nudge and {restarted_before} fresh restarts", progress)
        return True
    if nudged_before:
        progress(f"{worker.issue}: still no event after a nudge ({quiet:.0f} s): restarting it fresh")
        _restart(tracker, worker, handoff_note(tracker, worker), cfg, fresh=True)
    else:
        progress(f"{worker.issue}: no event for {quiet:.0f} s: nudging it")
        _restart(tracker, worker, NUDGE, cfg, fresh=False)
    return True


def limit_for(tracker: Tracker, cfg: FloorConfig, agent: str) -> float:
    """The context limit: --context-limit, else the agent's configured one (the 40% rule by default)."""
    if cfg.context_limit is not None:
        return cfg.context_limit
    from pathlib import Path

    from shopfloor.agents.options import parse
    from shopfloor.configfile import read_toml

    path = Path(tracker.location.config_path)
    return parse(read_toml(path), agent, path).context_limit


def _running(tracker: Tracker, worker: Worker, cfg: FloorConfig, progress: Progress) -> None:
    faults.point("run")
    if _stalled(tracker, worker, cfg, progress):
        return
    current = attempts.of_worker(tracker.conn, worker.name, worker.generation)
    if current is not None and current.outcome == WRITING_NOTE:
        return  # the ending session is writing its handoff note: let it finish
    if current is not None and _said_done(tracker, worker, current.started_at):
        # The agent ran `shopfloor done` but its session goes on: stop it and gate what it committed.
        progress(f"{worker.issue}: the agent said done; stopping its session and gating")
        attempts.finish(tracker.conn, current.id, outcome=SAID_DONE)
        workers.kill(tracker, worker)
        return
    limit = limit_for(tracker, cfg, worker.agent)
    if worker.context_used is not None and worker.context_used >= limit:
        progress(f"{worker.issue}: context at {worker.context_used:.0%} (limit {limit:.0%}): handoff")
        attempt = attempts.of_worker(tracker.conn, worker.name, worker.generation)
        if attempt is not None and not attempt.ended_at:
            attempts.end(tracker.conn, attempt.id, tracker.now(), "handoff", worker)
        # Ask the ending session for its own handoff note first (one resumed turn); the fresh
        # session starts once that turn is done (``_handoff_written``).
        request = HANDOFF_REQUEST.format(issue=worker.issue)
        fresh_row = _restart(tracker, worker, request, cfg, fresh=False)
        row = attempts.of_worker(tracker.conn, fresh_row.name, fresh_row.generation)
        if row is not None:
            attempts.finish(tracker.conn, row.id, outcome=WRITING_NOTE)


WRITING_NOTE = "writing-handoff"
SAID_DONE = "said-done"


def _said_done(tracker: Tracker, worker: Worker, since: str) -> bool:
    row = tracker.conn.execute(
        "SELECT 1 FROM events WHERE issue = ? AND kind = 'agent_done' AND actor = ? AND at >= ? LIMIT 1",
        (worker.issue, f"worker/{worker.name}", since),
    ).fetchone()
    return row is not None


def _handoff_written(tracker: Tracker, worker: Worker, cfg: FloorConfig, progress: Progress) -> None:
    """The ending session wrote its note (or did not): start the fresh session with it."""
    from shopfloor.tracker import store

    attempt = attempts.of_worker(tracker.conn, worker.name, worker.generation)
    assert attempt is not None
    attempts.end(tracker.conn, attempt.id, tracker.now(), "handoff-note", worker)
    agent = f"worker/{worker.name}"
    notes = [
        c["text"]
        for c in store.get(tracker.conn, worker.issue).get("comments") or []
        if c.get("author") == agent and c.get("created_at", "") >= attempt.started_at
    ]
    written = notes[-1] if notes else None
    progress(
        f"{worker.issue}: "
        + (
            "the session wrote its handoff note"
            if written
            else "no handoff note from the session; the floor writes one"
        )
        + "; starting fresh"
    )
    note = handoff_note(tracker, worker)
    if written:
        note += f"\nThe previous session's own note:\n{written}"
    _restart(tracker, worker, note, cfg, fresh=True)


def _crashed(tracker: Tracker, worker: Worker, cfg: FloorConfig, progress: Progress) -> None:
    attempt = attempts.of_worker(tracker.conn, worker.name, worker.generation)
    if startfail.never_launched(tracker, worker, progress):
        if attempt is not None:
            attempts.discard(tracker.conn, attempt.id)
        return
    if attempt is not None and not attempt.ended_at:
        attempts.finish(tracker.conn, attempt.id, ended_at=tracker.now(), outcome=f"crashed ({worker.state})")
    from datetime import datetime

    def at(stamp: str) -> float:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()

    recent = [
        a
        for a in attempts.of_series(tracker.conn, worker.issue)
        if (a.outcome or "").startswith("crashed") and a.ended_at and time.time() - at(a.ended_at) <= CRASH_WINDOW_S
    ]
    crashes = len(recent)
    if crashes >= MAX_CRASHES:
        _block(
            tracker,
            worker,
            f"a crash loop: the agent crashed {crashes} times in 15 minutes: {(worker.error or '').splitlines()[:1]}",
            progress,
        )
        return
    # Back off without blocking the loop: the restart waits for a later turn, measured from the
    # crash's own row (the coordinator keeps no timers of its own).
    pause = BACKOFF_S[min(crashes - 1, len(BACKOFF_S) - 1)] if crashes else 0.0
    waited = time.time() - at(recent[-1].ended_at or tracker.now()) if recent else pause
    if waited < pause:
        return
    progress(f"{worker.issue}: the agent {worker.state}; restarting it ({crashes} crash(es) in 15 min)")
    _restart(tracker, worker, "Your previous run ended unexpectedly. Carry on with the issue.", cfg, fresh=False)


def _busy(tracker: Tracker, all_workers: list[Worker], lease_s: float | None = None) -> list[Worker]:
    """Workers whose issue is still in progress (not merged, not blocked); with ``lease_s``, their
    issues' leases are renewed (an issue waiting in the queue must not return to ready), but only
    once less than half of a lease is left: not at every poll."""
    from shopfloor.tracker import writes
    from shopfloor.tracker.clock import renewal_due

    out = []
    for worker in all_workers:
        issue = _issue(tracker, worker.issue)
        if issue.get("status") == "in_progress":
            out.append(worker)
            now = time.time()
            if lease_s and issue.get("assignee") == tracker.actor and renewal_due(issue["lease_until"], now, lease_s):
                with tracker.write() as conn:
                    writes.renew(conn, worker.issue, tracker.actor, now, lease_s)
    return out


def _fill(tracker: Tracker, cfg: FloorConfig, busy: int, progress: Progress) -> int:
    from shopfloor.floor import retry
    from shopfloor.tracker import writes

    started = 0
    while busy + started < cfg.workers:
        with tracker.write() as conn:
            issue = writes.claim_next(conn, tracker.actor, tracker.now(), tracker.lease_until(cfg.lease_s))
        if issue is None:
            break
        faults.point("claim")
        retry.renew_if_over(tracker, issue["id"])  # set open again by a person: its old attempts are history
        extra = briefing(tracker, issue["id"])
        agent = retry.agent_for(tracker.conn, issue["id"]) or cfg.agent  # `shopfloor retry --agent` picks one
        try:
            row = workers.start(tracker, workers.StartRequest(issue["id"], agent, extra, cfg.terminal, cfg.lease_s))
        except ShopfloorError as exc:
            # Back to open, not blocked; the next turn tries again; the 3rd failure in a row stops the floor.
            startfail.put_back(tracker, issue["id"], exc, progress)
            break
        startfail.started(tracker)
        faults.point("launch")
        _begin(tracker, row)
        progress(f"{issue['id']}: started {row.agent} worker {row.name}")
        started += 1
    return started


def turn(tracker: Tracker, cfg: FloorConfig, progress: Progress, publisher: TrackerPublisher | None = None) -> bool:
    """One turn of the loop; True while there is anything left to do. With a ``publisher``, the
    tracker is committed on the target when that is due (``floor.publish``)."""
    from shopfloor.queue import entries
    from shopfloor.queue.service import run_once
    from shopfloor.tracker import store

    adopt.settle(tracker, cfg.lease_s, progress)  # claims lost while no coordinator ran, starts it never made
    listed = workers.list_workers(tracker)
    selfblock.settle(tracker, listed, progress)  # an agent that blocked its own issue: its worker goes
    for worker in _busy(tracker, listed, cfg.lease_s):
        if attempts.of_worker(tracker.conn, worker.name, worker.generation) is None:
            _begin(tracker, worker)
        current = attempts.of_worker(tracker.conn, worker.name, worker.generation)
        if current is not None and current.ended_at:
            # This pass is over: it is in the queue, its agent crashed and waits for its restart, or
            # the coordinator died between recording the verdict and acting on it (do that now).
            if current.outcome == "queued":
                if not _queued(tracker, worker):
                    after_gate(tracker, worker, _gate_report(tracker, current), cfg, progress)
                else:
                    _queue_result(tracker, worker, cfg, progress)
            elif current.outcome in ("failed", "spiral") and current.gate_run:
                after_gate(tracker, worker, _gate_report(tracker, current), cfg, progress)
            elif (current.outcome or "").startswith("queue "):  # killed before its block or restart
                _queue_result(tracker, worker, cfg, progress)
            elif (current.outcome or "").startswith("crashed"):
                _crashed(tracker, worker, cfg, progress)
            elif current.outcome == stopping.STOPPED:  # `shopfloor stop` ended it: its session carries on
                progress(f"{worker.issue}: its worker was stopped by `shopfloor stop`; resuming its session")
                _restart(tracker, worker, stopping.RESUME, cfg, fresh=False)
            continue
        if worker.state == "done" and current is not None and current.outcome == WRITING_NOTE:
            _handoff_written(tracker, worker, cfg, progress)
        elif worker.state == "done":
            _finished_attempt(tracker, worker, progress, cfg)
        elif worker.state == "running":
            _running(tracker, worker, cfg, progress)
        elif worker.state in ("failed", "lost", "killed") and current is not None and current.outcome == SAID_DONE:
            _finished_attempt(tracker, worker, progress, cfg)
        elif worker.state in ("failed", "lost", "killed"):
            _crashed(tracker, worker, cfg, progress)
    queued_now = entries.listing(tracker.conn, ("queued",))
    # testing: a pass killed mid-landing, recovered; approved: a waiting change a person approved since
    if queued_now or entries.listing(tracker.conn, ("testing",)) or waiting.approved(tracker.conn):
        try:
            run_once(tracker, cfg.batch, progress)
        except ConflictError as exc:
            if queued_now:  # a person's `queue run` holds the lock: say so only when the floor has work for it
                progress(str(exc))
    listed = workers.list_workers(tracker)
    cleanup(tracker, listed, progress)
    busy = _busy(tracker, workers.list_workers(tracker))
    # A change waiting for a person's approval runs no agent: its worker takes no slot.
    working = waiting.working(busy, waiting.branches(tracker.conn))
    # A free slot with a ready issue waits while the machine cannot take another agent (``floor.admission``).
    limited = cfg.limits is not None and cfg.limits.enabled
    wants = limited and len(working) < cfg.workers and bool(store.ready_ids(tracker.conn, tracker.now(), 1))
    held = admission.hold(Path(tracker.location.db_file).parent, cfg.limits, wants, tracker.now(), progress)
    started = 0 if held else _fill(tracker, cfg, len(working), progress)
    queued = entries.listing(tracker.conn, ("queued", "testing"))
    # Issues waiting for a person's approval are not work the floor can do: they do not keep it busy.
    approvals = entries.listing(tracker.conn, ("needs-approval",))
    for entry in approvals:
        notify.emit("needs-approval", issue=entry.issue, branch=entry.branch)  # once per change and run
    active = bool(working or started or queued or held or startfail.pending(tracker))  # held: waiting, not idle
    if publisher is not None:
        publisher.after_turn(tracker, active, progress)
    return active


def _queued(tracker: Tracker, worker: Worker) -> bool:
    from shopfloor.floor.retry import series_start
    from shopfloor.queue import entries

    since = series_start(tracker.conn, worker.issue)  # an entry of an earlier series is not this pass's
    return any(e.branch == worker.branch and e.created_at >= since for e in entries.listing(tracker.conn, None))


def _gate_report(tracker: Tracker, attempt: attempts.Attempt) -> dict[str, Any]:
    from shopfloor.gate import records

    assert attempt.gate_run is not None
    return records.get_run(tracker.conn, attempt.gate_run)


def _queue_result(tracker: Tracker, worker: Worker, cfg: FloorConfig, progress: Progress) -> None:
    """A pass the queue could not land (a conflict, or a failure on the rebased tree) goes back to the
    same session with the queue's reason; a merged or approval-waiting one is left alone."""
    from shopfloor.floor.retry import series_start
    from shopfloor.queue import entries

    since = series_start(tracker.conn, worker.issue)  # rounds of an earlier series (before a retry) do not count
    mine = [e for e in entries.listing(tracker.conn, None) if e.branch == worker.branch and e.created_at >= since]
    if not mine or mine[-1].state not in ("conflict", "failed"):
        return
    entry = mine[-1]
    rounds = [e for e in mine if e.state in ("conflict", "failed")]
    same_head = any(e.head == entry.head for e in rounds[:-1])
    attempt = attempts.of_worker(tracker.conn, worker.name, worker.generation)
    if attempt is not None:
        attempts.finish(tracker.conn, attempt.id, outcome=f"queue {entry.state}")
    if same_head or len(rounds) >= cfg.max_attempts:
        why = "the same branch head came back" if same_head else f"{len(rounds)} rounds"
        _block(tracker, worker, f"the merge queue could not land it ({entry.state}: {entry.detail}; {why})", progress)
        return
    progress(f"{worker.issue}: the merge queue says {entry.state} ({entry.detail}); back to its session")
    prompt = (
        f"The merge queue could not land your branch {worker.branch} on {entry.target}: {entry.state}, "
        f"{entry.detail}. Rebase your branch onto {entry.target} (`git rebase {entry.target}`), resolve what "
        "conflicts, run the tests, commit, and end your turn."
    )
    _restart(tracker, worker, prompt, cfg, fresh=False)


def run(tracker: Tracker, cfg: FloorConfig, progress: Progress) -> None:
    interval = cfg.tracker_interval_s
    publisher = TrackerPublisher(interval) if interval is not None else None
    notify.install(Path(tracker.location.config_path), str(workers.main_tree(tracker)), progress)
    listed = workers.list_workers(tracker)
    for line in adopt.adopted(listed, adopt.situations(tracker, listed)):
        progress(line)
    try:
        while True:
            seen = wake.version(tracker.conn)  # a commit by another process during the turn wakes the next one
            active = turn(tracker, cfg, progress, publisher)
            if cfg.until_idle and not active:
                notify.emit("idle", counts=_counts(tracker))
                return
            time.sleep(wake.MIN_TURN_S)
            wake.until_changed(tracker.conn, seen, cfg.poll_s)
    except KeyboardInterrupt as exc:
        how = "SIGTERM" if isinstance(exc, stopping.Terminated) else "interrupted"
        notify.emit("stopped", reason=how, counts=_counts(tracker))
        raise
    except startfail.FloorStopped as exc:
        notify.emit("stopped", reason=str(exc), counts=_counts(tracker))
        raise


def _counts(tracker: Tracker) -> dict[str, int]:
    return dict(tracker.conn.execute("SELECT status, COUNT(*) FROM issues GROUP BY status").fetchall())
