"""Gates run beside the floor's loop: a pool of gate jobs, each in a thread of its own.

A gate takes as long as the project's checks (minutes, with a real test suite); run inline it
stopped everything else: no other worker gated, no slot filled, nothing landed. The loop now
starts a job (``start``) and carries on; the job records the gate run, the attempt's verdict
and the follow-up (the queue entry of a pass) in one transaction, then wakes the loop, which
acts on the recorded outcome (``floor.decide``). A coordinator killed while a job runs leaves the
attempt open and its worker ``done``: the next coordinator gates it again.

Each job has its own SQLite connection (a connection is not shared across threads). Threads,
not processes: a gate's work is in its checks' processes and in git; the Python part is small.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from shopfloor import faults, git
from shopfloor.errors import ShopfloorError
from shopfloor.floor import attempts
from shopfloor.floor.decide import QUEUED_VERDICTS
from shopfloor.floor.outcomes import Outcome
from shopfloor.gate import runlog, runner
from shopfloor.gate import verdict as verdicts
from shopfloor.gate.gating import GateRequest
from shopfloor.gate.gating import run as gate_run
from shopfloor.gate.results import GateReport
from shopfloor.paths import main_tree
from shopfloor.progress import Progress
from shopfloor.queue import entries
from shopfloor.queue.landing import plan_entry
from shopfloor.tracker.service import Tracker
from shopfloor.workers.records import Worker
from shopfloor.workers.shim import refusals
from shopfloor.workspace.worktrees import fetch_back

Key = tuple[str, int]  # (worker name, generation): one attempt
MAX_REMEMBERED = 1000  # attempts whose gate errors are kept in memory


def default_jobs(cores: int | None = None) -> int:
    """Half the cores, at least 2. Each gate already runs its checks in parallel up to the
    number of cores, so more CPU-bound gates than that only share the same cores; two overlap
    one gate's git and set-up work with another's checks. Gates that wait (on a network, a
    sleep, a service) gain from more: ``--gate-jobs``."""
    n = cores if cores is not None else (os.cpu_count() or 2)
    return max(2, n // 2)


@dataclass
class Job:
    issue: str
    thread: threading.Thread
    since: float  # epoch seconds: when it started


class GatePool:
    def __init__(self, tracker: Tracker, jobs: int, progress: Progress, wake: threading.Event) -> None:
        self.tracker = tracker
        self.jobs = jobs
        self.progress = progress
        self.wake = wake
        self._running: dict[Key, Job] = {}
        # Gate jobs that could not run, per attempt id (a retried issue's new worker has the same
        # name and generation, but a new attempt): (count, last error, when).
        self._errors: dict[int, tuple[int, str, float]] = {}
        self._lock = threading.Lock()

    def gating(self, worker: Worker) -> bool:
        with self._lock:
            return (worker.name, worker.generation) in self._running

    def errors(self, attempt_id: int) -> tuple[int, str, float]:
        """How many gate jobs of this attempt failed to run, the last one's error, and when."""
        with self._lock:
            return self._errors.get(attempt_id, (0, "", 0.0))

    def count(self) -> int:
        with self._lock:
            return len(self._running)

    def jobs_now(self) -> list[tuple[str, float]]:
        """(issue, started at) of each running job."""
        with self._lock:
            return [(job.issue, job.since) for job in self._running.values()]

    def start(self, worker: Worker, attempt_id: int) -> bool:
        """Start gating the worker's attempt; False when every job is taken (the next turn tries)."""
        key = (worker.name, worker.generation)
        with self._lock:
            if key in self._running:
                return True
            if len(self._running) >= self.jobs:
                return False
            thread = threading.Thread(
                target=self._job, args=(key, worker, attempt_id), name=f"gate-{worker.issue}", daemon=True
            )
            if len(self._errors) > MAX_REMEMBERED:  # old attempts' errors: forget the oldest
                del self._errors[min(self._errors)]
            self._running[key] = Job(worker.issue, thread, time.time())
        self.progress(f"{worker.issue}: the agent finished; gating {worker.branch} ...")
        thread.start()
        return True

    def _job(self, key: Key, worker: Worker, attempt_id: int) -> None:
        tracker: Tracker | None = None
        try:
            tracker = self.tracker.sibling()  # each job its own connection
            gate_attempt(tracker, worker, attempt_id, self.progress)
        except runner.Interrupted as exc:  # the floor is stopping: no verdict, and not the issue's fault
            self.progress(f"{worker.issue}: {exc}")
        except Exception as exc:  # reported, and counted: the loop blocks an attempt whose gate cannot run
            with self._lock:
                count = self._errors.get(attempt_id, (0, "", 0.0))[0] + 1
                self._errors[attempt_id] = (count, f"{type(exc).__name__}: {exc}", time.time())
            self.progress(f"{worker.issue}: its gate could not run ({exc}); trying again after a pause")
        finally:
            if tracker is not None:
                tracker.close()
            with self._lock:
                self._running.pop(key, None)
            self.wake.set()

    def stop(self, deadline: float) -> None:
        """Wait for the jobs' threads until ``deadline`` (time.monotonic); the caller kills their
        checks first if it must."""
        with self._lock:
            threads = [job.thread for job in self._running.values()]
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))


def gate_attempt(tracker: Tracker, worker: Worker, attempt_id: int, progress: Progress) -> GateReport:
    """Gate what the worker's agent committed, and record the run, the attempt's verdict and
    (for a pass, or a change that needs approval) its queue entry, in one transaction."""
    _bring_back(tracker, worker, progress)
    request = GateRequest(rev=worker.branch, issue=worker.issue, attempt=str(attempt_id), require_change=True)
    report = gate_run(tracker, request, and_then=lambda report: _follow_up(tracker, worker, attempt_id, report))
    faults.point("queue")
    if report["verdict"] == "pass":
        progress(f"{worker.issue}: gate pass (run {report['id']}); queued for landing")
    elif report["verdict"] == "needs-approval":  # nothing for the agent to fix: it waits for a person
        progress(f"{worker.issue}: gate needs approval (run {report['id']}); `shopfloor approve {worker.issue}`")
    # a failure: the loop says what follows it (the report to the session, a handoff, or a block)
    return report


def _follow_up(tracker: Tracker, worker: Worker, attempt_id: int, report: GateReport) -> runlog.Commit:
    """What follows the verdict: read now (git, the worker's files), written by the returned
    function inside the transaction that records the run (the attempt's verdict, the queue entry)."""
    failing = verdicts.failing_checks(report)
    stat = git.run(
        tracker.location.worktree, "diff", "--shortstat", f"{report['merge_base']}..{report['commit']}", check=False
    ).stdout.strip()
    refused = refusals(worker.log_dir, worker.generation)  # what the worker channel refused this pass
    queued = report["verdict"] in QUEUED_VERDICTS
    entry = plan_entry(tracker, worker.branch) if queued else None

    def commit(report: GateReport) -> None:
        faults.point("gate")  # dies before the commit: nothing of this gate is recorded
        attempts.finish(
            tracker.conn,
            attempt_id,
            ended_at=tracker.now(),
            verdict=report["verdict"],
            gate_run=report["id"],
            session_id=worker.session_id,
            tokens=worker.tokens,
            cost_usd=worker.cost_usd,
            diff_fingerprint=report["tree"],
            diff_stat=stat,
            signatures={c["signature"] for c in failing if c["signature"]},
            passing={c["name"] for c in verdicts.passing_checks(report)},
            failed_checks={c["name"] for c in failing},
            outcome=Outcome.QUEUED if queued else Outcome.FAILED,
            refused=refused,
        )
        if entry is not None and entries.open_for_branch(tracker.conn, worker.branch) is None:
            entries.add(tracker.conn, *entry, tracker.now())

    return commit


def _bring_back(tracker: Tracker, worker: Worker, progress: Progress) -> None:
    """Fetch the worker's branch from its workspace (a clone) into the main repository, so the
    gate sees what the agent committed, its wip commit included. If that fails (the agent
    deleted its branch), the gate judges what the main repository holds, and says so."""

    if not Path(worker.worktree).is_dir():
        return
    try:
        fetch_back(main_tree(tracker), worker.issue)
    except ShopfloorError as exc:
        progress(f"{worker.issue}: {exc}; gating {worker.branch} as the main repository has it")
