"""Every word the floor sends an agent besides its issue: the briefing, the attempt history, a
gate report as a follow-up prompt, the nudge after a silence, the handoff request and note, the
queue's rejection, the lessons question at the end, and what a session resumed after a crash or a stop is told.

``for_session`` turns the prompt ``floor.decide`` chose into its text."""

from __future__ import annotations

from shopfloor.actors import of_worker
from shopfloor.floor import attempts, notes, retry
from shopfloor.floor.decide import Prompt
from shopfloor.floor.retry import series_start
from shopfloor.gate import runlog
from shopfloor.gate.report import for_agent
from shopfloor.gate.results import GateReport
from shopfloor.instructions import WORKER
from shopfloor.queue import entries
from shopfloor.tracker import store
from shopfloor.tracker.service import Tracker
from shopfloor.workers.records import Worker


def history(tracker: Tracker, issue_id: str) -> str:
    """What earlier attempts did and why they failed: so an agent does not repeat a dead end."""
    return notes.history(attempts.of_issue(tracker.conn, issue_id))


def report_text(report: GateReport) -> str:
    """The gate's findings as a follow-up prompt for the agent."""

    return for_agent(report)


NUDGE = (
    "shopfloor: your session went quiet for a long time and was stopped. Carry on with the issue from where you "
    "are: check `git status`, finish the work, commit it on your branch, and end your turn."
)


HANDOFF_REQUEST = (
    "shopfloor: your context window is nearly full, so this session ends now. Write a handoff note for the next "
    "session with `shopfloor comment {issue} -` (the note on stdin): what is done, the next step, and the dead "
    "ends to avoid. Commit any work first. Then end your turn."
)

LESSONS_REQUEST = (
    "shopfloor: issue {issue} is finished ({outcome} after {attempts} attempt(s)); this is your last turn on it. "
    'In at most 5 bullets, one line each starting with "- ", say what the next agent working on this code '
    "should know: the trap you fell into, the check that caught it, what fixed it. Change no files and run no "
    "commands. Answer with the bullets only, then end your turn."
)

AFTER_CRASH = "Your previous run ended unexpectedly. Carry on with the issue."

AFTER_STOP = (
    "The floor was stopped (`shopfloor stop`) while you worked, and has started again. Any uncommitted "
    "work was saved as a `wip:` commit on your branch (see `git log`). Carry on with the issue."
)

MAX_AGENTS_MD = 20_000


def handoff_note(tracker: Tracker, worker: Worker) -> str:
    """The floor's note for a fresh session: why the last one ended, where its work is, the history."""
    used = worker.context_used
    why = f"reached {used:.0%} of its context window" if used is not None else "stopped making progress"
    return (
        f"Handoff: the previous session on this issue {why} and ended. Its work is committed on "
        f"{worker.branch} in this worktree; check `git log` and `git status`.\n" + history(tracker, worker.issue)
    )


def own_note(tracker: Tracker, worker: Worker, since: str) -> str | None:
    """The handoff note the ending session wrote (its last comment since ``since``), if any."""

    agent = of_worker(worker.name)
    written = [
        c["text"]
        for c in store.get(tracker.conn, worker.issue).get("comments") or []
        if c.get("author") == agent and c.get("created_at", "") >= since
    ]
    return written[-1] if written else None


def queue_rejection(tracker: Tracker, worker: Worker) -> str:
    """Why the queue could not land the branch, and what to do: its latest entry of this series."""

    mine = entries.of_branch(tracker.conn, worker.branch, series_start(tracker.conn, worker.issue))
    if not mine:  # a person removed it meanwhile
        return f"The merge queue could not land your branch {worker.branch}. Rebase it onto the target and commit."
    entry = mine[-1]
    return (
        f"The merge queue could not land your branch {worker.branch} on {entry.target}: {entry.state}, "
        f"{entry.detail}. Rebase your branch onto {entry.target} (`git rebase {entry.target}`), resolve what "
        "conflicts, run the tests, commit, and end your turn."
    )


def for_session(
    tracker: Tracker, worker: Worker, prompt: Prompt, attempt: attempts.Attempt | None
) -> tuple[str, str | None]:
    """The text of ``prompt`` for the worker's next session, and the floor's handoff note in it
    (kept as a comment on the issue), if any. ``attempt``: the current one."""
    if prompt == Prompt.NUDGE:
        return NUDGE, None
    if prompt == Prompt.AFTER_CRASH:
        return AFTER_CRASH, None
    if prompt == Prompt.AFTER_STOP:
        return AFTER_STOP, None
    if prompt == Prompt.QUEUE_REJECTION:
        return queue_rejection(tracker, worker), None
    if prompt == Prompt.REPORT:
        return report_text(_report(tracker, attempt)), None
    note = handoff_note(tracker, worker)
    if prompt == Prompt.HANDOFF_AND_REPORT:
        return note + "\n\n" + report_text(_report(tracker, attempt)), note
    if prompt == Prompt.HANDOFF_WITH_OWN_NOTE and attempt is not None:
        written = own_note(tracker, worker, attempt.started_at)
        if written:
            return note + f"\nThe previous session's own note:\n{written}", note
    return note, note


def _report(tracker: Tracker, attempt: attempts.Attempt | None) -> GateReport:
    if attempt is None or attempt.gate_run is None:
        raise ValueError("a gate report prompt needs an attempt with a gate run")
    return runlog.get_run(tracker.conn, attempt.gate_run)


def briefing(tracker: Tracker, issue_id: str, learnings: str = "") -> str:
    """What a worker is told besides its issue: the attempt history, the memory's ``learnings``
    (``floor.learnings``), the repository's AGENTS.md, and how to use the tracker: ``shopfloor
    prime``'s worker form, the one set of instructions."""

    parts = [retry.briefing_note(tracker.conn, issue_id), history(tracker, issue_id), learnings]  # a person's first
    agents_md = tracker.location.worktree / "AGENTS.md"
    try:
        text = agents_md.read_text(encoding="utf-8", errors="replace")[:MAX_AGENTS_MD]
        parts.append(f"The repository's AGENTS.md says:\n{text}")
    except OSError:
        pass
    parts.append(WORKER)
    return "\n\n".join(p for p in parts if p.strip())
