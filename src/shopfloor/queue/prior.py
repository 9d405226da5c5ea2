"""The queue's side of reusing a gate run: read the recorded runs and today's facts, let
``queue.reuse`` decide, and record the reuse on the entry."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from shopfloor.errors import ShopfloorError
from shopfloor.gate import runlog
from shopfloor.gate.baseline import env_salt
from shopfloor.gate.floorfiles import is_worker_branch
from shopfloor.gate.gating import load_config
from shopfloor.gate.trust import trusted_facts
from shopfloor.queue import entries, stack
from shopfloor.queue.entries import Entry
from shopfloor.queue.reuse import Landing, PriorRun, choose
from shopfloor.tracker.service import Tracker

CANDIDATES = 10  # the newest runs of the issue worth reading


def candidates(tracker: Tracker, issue: str | None, commit: str) -> list[PriorRun]:
    """The issue's newest recorded runs (by the ``gate_runs(issue, id)`` index), so a run of an
    older head is named with why it does not count; without an issue, the runs of ``commit``."""
    out = []
    for run_id, text, advisory in runlog.newest_runs(tracker.conn, issue, commit, CANDIDATES):
        try:
            report = json.loads(text)
        except ValueError:
            continue  # an unreadable report proves nothing
        out.append(PriorRun.from_report(run_id, {**report, "advisory": advisory or report.get("advisory")}))
    return out


def landing(tracker: Tracker, repo: Path, entry: Entry, base: str, stacked: str) -> Landing:
    """The facts of gating ``entry`` stacked on ``base`` as ``stacked``, as the gate would read them."""

    config = load_config(repo, base, entry.target)
    vibe: int | None = None
    labels: frozenset[str] = frozenset()
    if entry.issue:
        found_vibe, found_labels = trusted_facts(tracker.conn, entry.issue)
        vibe, labels = found_vibe, frozenset(found_labels)
    return Landing(
        head=entry.head,
        tree=stack.tree_of(repo, stacked),
        base=base,
        based=stack.is_ancestor(repo, base, entry.head),
        config_hash=config.hash,
        # gate.gating keys its cache "<config hash>.<env salt>" and reports the part after the last dot
        env=f"{config.hash}.{env_salt(list(config.checks))}".rsplit(".", 1)[-1],
        issue=entry.issue,
        vibe=vibe,
        labels=labels,
        agent=is_worker_branch(entry.branch),
    )


def take(
    tracker: Tracker, repo: Path, entry: Entry, base: str, stacked: str, progress: Callable[[str], None]
) -> int | None:
    """The id of a passing gate run that proves ``entry`` stacked on ``base`` (recorded on the
    entry as reused), or None: the queue gates it."""
    runs = candidates(tracker, entry.issue, entry.head)
    if not runs:
        return None
    try:
        now = landing(tracker, repo, entry, base, stacked)
    except ShopfloorError:
        return None  # unreadable rules: the gate says what is wrong with them
    run, why = choose(runs, now)
    if run is None:
        if why:
            progress(f"entry {entry.id}: {why}")
        return None
    entries.update(tracker.conn, entry.id, tracker.now(), gate_run=run.id, gate_reused=True)
    progress(
        f"entry {entry.id}: gate run {run.id} already passed this tree on {entry.target} ({base[:10]}) "
        "with the same rules: not gating it again"
    )
    return run.id
