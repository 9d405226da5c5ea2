"""The floor keeps the tracker in git: debounced tracker commits after its turns.

After a turn, if the tracker changed (its newest event, lease renewals aside, is not the one
last committed), the floor commits the export on the target (``queue.trackercommit``) at most
once every ``interval_s`` seconds while it is busy, and once more when it goes idle, so the
final statuses are in git when ``--until-idle`` ends. Before each commit it copies every issue's
attempt summary into the issue's metadata (``floor.attempts.record_summaries``): the attempts
table stays in the database, and this is how a clone learns how each pass went. The same commit
adds the retro of each issue that landed or was blocked since (``floor.retros``), generated then,
and rewrites one whose agent's lessons arrived since.

The only state is when it last committed and what it committed (in memory): a floor started
again commits at its first idle turn or after one interval, whichever comes first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from shopfloor.errors import ShopfloorError
from shopfloor.floor import lessonturn, retros
from shopfloor.floor.attempts import record_summaries
from shopfloor.progress import Progress
from shopfloor.queue.trackercommit import Extra, Outcome, commit_tracker, issues
from shopfloor.tracker import history
from shopfloor.tracker.service import Tracker
from shopfloor.tracker.trackeronly import due

FINAL_WAIT_S = 30.0  # at the last turn, wait this long for a queue pass that holds the lock


UNPUBLISHED_EVENTS = ("lease_renewed",)  # changes that alone never make a tracker commit


def change_mark(tracker: Tracker) -> tuple[int, int]:
    """The newest event that is worth a commit: every change to an issue writes one; a lease
    renewal alone is not worth one (``queue.trackercommit`` never commits leases alone either).
    And how many agents' lessons have arrived: one rewrites its issue's retro (``floor.retros``)."""
    return history.last_seq(tracker.conn, excluding=UNPUBLISHED_EVENTS), lessonturn.settled_count(tracker.conn)


@dataclass
class TrackerPublisher:
    interval_s: float = 60.0
    last_at: float = field(default_factory=time.time)
    last_mark: tuple[int, int] | None = None
    was_active: bool = True
    last_note: str | None = None
    commits: list[str] = field(default_factory=list)

    def retros(self, tracker: Tracker, progress: Progress) -> Extra:
        """The retros to commit with the tracker; one that cannot be gathered is reported and left
        for a later commit, never a reason to hold the tracker back."""

        def extra(repo: Path, tip: str, target: str) -> dict[str, bytes]:
            try:
                return retros.files(tracker.conn, repo, tip, target)
            except ShopfloorError as exc:
                progress(f"no retros this round: {exc}")
                return {}

        return extra

    def commit_now(self, tracker: Tracker, wait_s: float, progress: Progress) -> Outcome:
        """The same commit by hand (``export --commit``): attempt summaries and retros included."""
        record_summaries(tracker.conn, tracker.actor, tracker.now())
        return commit_tracker(tracker, wait_s, extra=self.retros(tracker, progress))

    def after_turn(self, tracker: Tracker, active: bool, progress: Progress) -> str | None:
        """Commit the tracker if it is due; returns the outcome's state, or None if not due."""

        final = not active and self.was_active
        self.was_active = active
        now = time.time()
        try:
            if final:  # attempts can end without an event: bring their summaries in first
                record_summaries(tracker.conn, tracker.actor, tracker.now())
            if not due(now, self.last_at, self.interval_s, change_mark(tracker) != self.last_mark, final):
                return None
            self.last_at = now
            record_summaries(tracker.conn, tracker.actor, tracker.now())
            mark = change_mark(tracker)
            outcome = commit_tracker(tracker, FINAL_WAIT_S if final else 0.0, extra=self.retros(tracker, progress))
        except ShopfloorError as exc:
            outcome = Outcome("skipped", f"not committing the tracker: {exc}", "")
            mark = None
        if outcome.state in ("committed", "unchanged"):
            self.last_mark = mark
            self.last_note = None
        if outcome.state == "committed" and outcome.commit:
            self.commits.append(outcome.commit)
            progress(f"{outcome.detail} ({issues(outcome.issues)}) as {outcome.commit[:10]}")
        elif outcome.state in ("skipped", "busy") and outcome.detail != self.last_note:
            self.last_note = outcome.detail
            progress(outcome.detail)
        return outcome.state
