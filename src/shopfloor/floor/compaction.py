"""Compaction: the long text of old closed issues replaced by a short summary (issue 15, part 8).

A closed issue's description, design, acceptance and notes are read again rarely, yet every
clone, export and search carries them. ``plan`` picks the issues closed before a cutoff whose
long text (together over ``LONG_CHARS`` characters) is already in git history, and writes each
one's summary: the outcome and attempts from its retro (``.agents/retros/<id>.md`` in the
worktree) when there is one, and always the command that shows the full text again, from the
last commit on the target whose ``.shopfloor/issues.jsonl`` line for the issue still holds it.
An issue whose current text is in no such commit (never exported and committed) is skipped:
compacting it would lose the text. ``apply`` changes them through ``tracker.writes.compact`` in
one transaction. Comments are left alone: they are the discussion and the handoff notes the
memory (``learn``) indexes, and they are short one by one.

A compacted issue's description starts with ``MARKER`` and its other long fields are empty,
so compacting again finds nothing to do.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from shopfloor import git
from shopfloor.floor.retro import parse_front_matter
from shopfloor.queue.trackercommit import retro_path
from shopfloor.tracker import store, writes
from shopfloor.tracker.locate import STATE_DIR

JSONL = f"{STATE_DIR}/issues.jsonl"
MARKER = "[compacted "
LONG_CHARS = 280  # below this the summary would be about as long as the text
MAX_COMMITS = 20  # how far back the history is searched for a text no newer commit holds
RETRO_LINE_CHARS = 200
FIELDS = writes.COMPACT_FIELDS
_ID = re.compile(r'^\{"id":"([^"]+)"')


@dataclass(frozen=True)
class Change:
    issue: str
    title: str
    closed_at: str
    characters: int  # of long text replaced
    commit: str  # the last commit on the target whose JSONL line holds the full text
    retro: bool
    summary: str
    texts: tuple[str, ...]  # the long text as planned (re-checked in the write transaction)


@dataclass(frozen=True)
class Plan:
    changes: list[Change]
    not_in_history: list[str]  # closed and old enough, but the text is in no commit yet


def _candidates(conn: sqlite3.Connection, cutoff: str) -> list[tuple[str, str, str, tuple[str, ...]]]:
    rows = store.closed_with_long_text(conn, cutoff, LONG_CHARS)
    out = []
    for issue_id, title, closed_at, *texts in rows:
        if str(texts[0]).startswith(MARKER) and not any(texts[1:]):
            continue  # compacted already
        out.append((issue_id, title, closed_at, tuple(t or "" for t in texts)))
    return out


def _lines_by_id(data: str, wanted: set[str]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for line in data.splitlines():
        found = _ID.match(line)
        if found is None or found.group(1) not in wanted:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            out[found.group(1)] = record
    return out


def holding_commits(repo: Path, target: str, texts: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """For each id, the newest commit on ``target`` (of the last ``MAX_COMMITS`` that changed the
    JSONL) whose line for it holds exactly ``texts[id]``: there ``git show`` finds the full text."""
    if not texts:
        return {}
    log = git.run(repo, "log", f"-n{MAX_COMMITS}", "--format=%H", "--end-of-options", target, "--", JSONL, check=False)
    found: dict[str, str] = {}
    for commit in log.stdout.split():
        left = set(texts) - set(found)
        if not left:
            break
        data = git.show(repo, commit, JSONL)
        if data is None:
            continue
        for issue_id, record in _lines_by_id(data, left).items():
            if tuple(str(record.get(name) or "") for name in FIELDS) == texts[issue_id]:
                found[issue_id] = commit
    return found


def read_retro(worktree: Path, issue_id: str) -> str | None:
    """One line from the issue's retro (outcome, attempts, the first failure signature), or None."""
    try:
        path = worktree / retro_path(issue_id)
        text = path.read_text(encoding="utf-8", errors="replace")
    except (ValueError, OSError):
        return None
    try:
        front = parse_front_matter(text)
    except ValueError:
        return None
    attempts = front.get("attempts")
    line = f"Retro {retro_path(issue_id)}: {front.get('outcome', 'finished')}"
    if isinstance(attempts, int):
        line += f" after {attempts} attempt{'' if attempts == 1 else 's'}"
    first = next((x[2:] for x in text.splitlines() if x.startswith("- check ")), None)
    if first:
        line += f"; {first}"
    return line if len(line) <= RETRO_LINE_CHARS else line[: RETRO_LINE_CHARS - 1] + "…"


def summary(issue_id: str, day: str, actor: str, commit: str, retro: str | None) -> str:
    lines = [f"{MARKER}{day} by {actor}: the full text is in git history]"]
    if retro:
        lines.append(retro)
    lines.append(f"Full text: git show {commit[:12]}:{JSONL} | grep {issue_id}")
    return "\n".join(lines)


def plan(conn: sqlite3.Connection, repo: Path, worktree: Path, target: str, cutoff: str, actor: str, now: str) -> Plan:
    """What compaction would change: read only."""
    found = _candidates(conn, cutoff)
    commits = holding_commits(repo, target, {i: texts for i, _, _, texts in found})
    changes, missing = [], []
    for issue_id, title, closed_at, texts in found:
        commit = commits.get(issue_id)
        if commit is None:
            missing.append(issue_id)
            continue
        retro = read_retro(worktree, issue_id)
        text = summary(issue_id, now[:10], actor, commit, retro)
        changes.append(Change(issue_id, title, closed_at, sum(map(len, texts)), commit, retro is not None, text, texts))
    return Plan(changes, missing)


def apply(conn: sqlite3.Connection, changes: list[Change], actor: str, now: str) -> list[str]:
    """Compact each planned issue whose text is still what was planned; the ids changed. Runs
    inside the caller's write transaction."""
    done = []
    for change in changes:
        row = store.peek(conn, change.issue, "status", *FIELDS)
        if row is None or row[0] != "closed" or tuple(t or "" for t in row[1:]) != change.texts:
            continue  # changed since it was planned: its text may not be in that commit
        if writes.compact(conn, change.issue, change.summary, actor, now):
            done.append(change.issue)
    return done
