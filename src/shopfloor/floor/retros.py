"""The retros of finished issues, gathered from the database and git, for the floor's tracker commit.

Where a retro lives before it is committed: nowhere. It is generated at commit time from the
database (attempts, gate runs, the issue and its history) and git (the landed commit), by
``files(conn, repo, tip)``, which ``floor.publish`` hands to ``queue.trackercommit``: the retro
of each finished issue (closed by the queue after a merged attempt, or blocked) whose file on
the target's tip is missing, or says another outcome or attempt count, is rendered
(``floor.retro``) and added to that commit; so is one whose agent's lessons arrived since (or
were asked for since) it was committed. Rendering is deterministic, so a retro is written
once per outcome and never churns; an issue that is retried and finishes again gets its retro
rewritten. Nothing is kept in between: a floor that dies before its commit writes the retro at
its next one.

Files touched: for a merged issue, the files its landed commit (the queue entry's ``merged``)
changes against its parent; for a blocked one, what its worker branch changes against its fork
point on the target, if that branch is still there.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from shopfloor import git
from shopfloor.errors import ShopfloorError
from shopfloor.floor import attempts, knowledge, lessonturn, metrics, reasons
from shopfloor.floor.lessons import finished
from shopfloor.floor.outcomes import Outcome
from shopfloor.floor.retro import NOT_ASKED, Facts, Failure, Lessons, lessons_state, render
from shopfloor.queue import entries
from shopfloor.queue.trackercommit import retro_path
from shopfloor.tracker import store
from shopfloor.workspace.naming import branch_for

MAX_FILES_LISTED = 500


def outcome_of(issue: dict[str, object], tried: list[attempts.Attempt]) -> str | None:
    """``merged``, ``blocked``, or None: not finished by the floor (``floor.lessons.finished``)."""
    return finished(issue.get("status"), [a.outcome for a in tried])


def failures(tried: list[attempts.Attempt]) -> tuple[Failure, ...]:
    """Each signature met, in the order met, and the first later gated attempt without it (pure)."""
    found: list[Failure] = []
    for n, attempt in enumerate(tried, 1):
        for signature in attempt.facts().signatures:
            if any(f.signature == signature for f in found):
                continue
            fix = next(
                (m for m, later in enumerate(tried[n:], n + 1)
                 if later.gate_run is not None and signature not in later.facts().signatures),
                None,
            )  # fmt: skip
            stat = tried[fix - 1].diff_stat if fix else None
            found.append(Failure(signature, n, fix, stat))
    return tuple(sorted(found, key=lambda f: (f.seen, f.signature)))


def _seconds(start: str | None, end: str | None) -> float | None:
    try:
        return (datetime.fromisoformat(str(end)) - datetime.fromisoformat(str(start))).total_seconds()
    except (TypeError, ValueError):
        return None


def _changed(repo: Path, base: str, rev: str) -> tuple[str, ...]:
    done = git.run(repo, "diff", "--name-only", "-z", "--no-renames", base, rev, "--", check=False)
    if done.returncode != 0:
        return ()
    return tuple(sorted(p for p in done.stdout.split("\0") if p))[:MAX_FILES_LISTED]


def touched(conn: sqlite3.Connection, repo: Path, issue: str, outcome: str, target: str) -> tuple[str, ...]:
    if outcome == "merged":
        landed = [e for e in entries.list_entries(conn, ("merged",)) if e.issue == issue and e.merged]
        if not landed or git.sha(repo, f"{landed[-1].merged}^") is None:
            return ()
        sha = str(landed[-1].merged)
        return _changed(repo, f"{sha}^", sha)
    branch = branch_for(issue)
    if git.sha(repo, f"refs/heads/{branch}") is None:
        return ()
    try:
        fork = git.merge_base(repo, target, branch)
    except ShopfloorError:
        return ()
    return _changed(repo, fork, branch)


def facts(conn: sqlite3.Connection, repo: Path, issue_id: str, target: str) -> Facts | None:
    """What the retro of ``issue_id`` says, or None when the floor did not finish it."""
    issue = store.get(conn, issue_id)
    tried = [a for a in attempts.of_issue(conn, issue_id) if a.ended_at]
    outcome = outcome_of(dict(issue), tried)
    if outcome is None:
        return None
    spiral = None
    if any(a.outcome == Outcome.SPIRAL for a in tried):
        spiral = (reasons.latest(conn, [issue_id]).get(issue_id) or "").removeprefix("spiral: ") or "spiral"
    end = issue.get("closed_at") if outcome == "merged" else max(str(a.ended_at) for a in tried)
    notes = tuple(note for a in tried if a.outcome == Outcome.HANDOFF_NOTE and (note := knowledge.own_note(conn, a)))
    recorded = lessonturn.of_issue(conn, issue_id)
    # An attempt records its worker's running totals: what each spent itself is the difference.
    own = metrics.spent([(a.issue, a.worker, a.generation, a.tokens, a.cost_usd) for a in tried])
    return Facts(
        issue=issue_id,
        title=str(issue.get("title") or ""),
        outcome=outcome,
        attempts=len(tried),
        handoffs=sum(1 for a in tried if a.outcome == Outcome.HANDOFF_NOTE),
        spiral=spiral,
        tokens=sum(tokens for tokens, _ in own),
        cost_usd=sum(cost for _, cost in own),
        cycle_time_s=_seconds(tried[0].started_at, str(end) if end else None),
        files=touched(conn, repo, issue_id, outcome, target),
        failures=failures(tried),
        notes=notes,
        lessons=_lessons(recorded),
    )


def _lessons(recorded: lessonturn.Recorded | None) -> Lessons | None:
    if recorded is None:
        return None
    return Lessons(recorded.bullets, recorded.why, recorded.settled, recorded.tokens, recorded.cost_usd)


def states(conn: sqlite3.Connection) -> dict[str, str]:
    """``outcome:attempts:lessons`` of each finished issue: what decides whether its retro changes
    (``_same`` compares the same three), read without git or rendering."""
    recorded = lessonturn.of_all(conn)
    return {
        issue_id: f"{outcome}:{len(tried)}:{lessons_state(_lessons(recorded.get(issue_id)))}"
        for issue_id, (outcome, tried) in finished_issues(conn).items()
    }


def committed(repo: Path, tip: str, paths: list[str]) -> dict[str, bytes]:
    """The files among ``paths`` that ``tip`` holds: one ``ls-tree`` of their directories for the
    blobs, then one ``cat-file --batch`` by blob id (a ``tip:path`` lookup each would scan the
    directory's tree once per file)."""
    if not paths:
        return {}
    dirs = sorted({p.rsplit("/", 1)[0] + "/" for p in paths})
    listing = git.run_bytes(repo, "ls-tree", "-z", "--full-tree", tip, "--", *dirs).decode("utf-8", "replace")
    blobs: dict[str, str] = {}
    for entry in listing.split("\0"):
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob":
            blobs[path] = parts[2]
    wanted = [(p, blobs[p]) for p in paths if p in blobs]
    if not wanted:
        return {}
    data = git.run_bytes(repo, "cat-file", "--batch", data="".join(f"{sha}\n" for _, sha in wanted).encode())
    out: dict[str, bytes] = {}
    pos = 0
    for path, _ in wanted:
        end = data.index(b"\n", pos)
        header = data[pos:end].split()
        pos = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            out[path] = data[pos : pos + size]
            pos += size + 1
    return out


def _same(old: bytes | None, outcome: str, count: int, lessons: str = NOT_ASKED) -> bool:
    """Does the committed retro already tell this outcome after this many attempts, and the
    agent's lessons as they stand (asked, answered, none)? Its front-matter lines are compared as
    ``retro.render`` writes them: no full parse. A retro written before lessons existed has no
    ``lessons:`` line: it stands for "not asked", so it is not rewritten for that alone."""
    if old is None:
        return False
    head = old[:4096].decode("utf-8", "replace").split("\n---\n", 1)[0].splitlines()
    said = f"lessons: {lessons}" in head or (lessons == NOT_ASKED and not any(h.startswith("lessons: ") for h in head))
    return f"outcome: {outcome}" in head and f"attempts: {count}" in head and said


def finished_issues(conn: sqlite3.Connection) -> dict[str, tuple[str, list[attempts.Attempt]]]:
    """Each issue the floor finished, by id (sorted): its outcome and its ended attempts. One
    pass over the attempts and one batched read of their issues."""
    by_issue: dict[str, list[attempts.Attempt]] = {}
    for attempt in attempts.all_attempts(conn):
        if attempt.ended_at:
            by_issue.setdefault(attempt.issue, []).append(attempt)
    out: dict[str, tuple[str, list[attempts.Attempt]]] = {}
    for issue in store.fetch(conn, sorted(by_issue)):
        outcome = outcome_of(dict(issue), by_issue[issue["id"]])
        if outcome is not None:
            out[issue["id"]] = (outcome, by_issue[issue["id"]])
    return out


def files(conn: sqlite3.Connection, repo: Path, tip: str, target: str) -> dict[str, bytes]:
    """The retros the commit on ``tip`` should add or replace: path -> markdown. The cheap facts
    (outcome, attempt count) are compared with the committed retro first: git is asked for the
    files touched only for a retro that is written."""
    due: dict[str, tuple[str, str, int]] = {}  # issue -> (path, outcome, attempts)
    lessons = lessonturn.of_all(conn)
    for issue_id, (outcome, tried) in finished_issues(conn).items():
        try:
            due[issue_id] = (retro_path(issue_id), outcome, len(tried))
        except ValueError:  # an id that cannot name a file under .agents/retros: no retro
            continue
    old = committed(repo, tip, sorted(path for path, _, _ in due.values()))
    out: dict[str, bytes] = {}
    for issue_id, (path, outcome, count) in sorted(due.items()):
        if _same(old.get(path), outcome, count, lessons_state(_lessons(lessons.get(issue_id)))):
            continue
        found = facts(conn, repo, issue_id, target)
        if found is not None:
            out[path] = render(found).encode("utf-8")
    return out
