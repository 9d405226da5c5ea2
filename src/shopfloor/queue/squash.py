"""The one commit an entry lands as (``strategy = "squash"``): its message and its author.

The message is the issue's title (``Land <branch>`` without an issue), a short body (the
description's first paragraph, the commits it replaces, the diff stat), then git trailers::
    Shopfloor-Issue: sf-a3f8
    Gate-Run: 12
    Shopfloor-Attempts: 2

Titles, descriptions and commit subjects are written by people and agents: they reach git
only through stdin (``stack.commit_tree``), stripped of control characters, the title and
subjects flattened to one line. The trailers are always the message's last paragraph and
hold only values shopfloor made (an issue id, numbers), so no text can add a trailer that
``git log --format=%(trailers)`` would read. ``message`` is pure; ``gather`` reads the
tracker and git.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from shopfloor import git
from shopfloor.actors import of_worker
from shopfloor.queue.hooks import Hooks
from shopfloor.queue.stack import QUEUE_EMAIL, QUEUE_NAME, Person
from shopfloor.tracker import store
from shopfloor.tracker.service import Tracker
from shopfloor.workers import records

WORKER_EMAIL = "worker@shopfloor.invalid"
QUEUE = Person(QUEUE_NAME, QUEUE_EMAIL)
TITLE_MAX = 120
DESCRIPTION_MAX = 600
SUBJECT_MAX = 100
SUBJECTS_SHOWN = 10
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


@dataclass(frozen=True)
class Facts:
    """What the message says about one entry, gathered before the gate runs."""

    title: str
    branch: str
    issue: str | None = None
    description: str = ""
    subjects: tuple[str, ...] = ()
    stat: str = ""
    attempts: int = 0
    author: Person = QUEUE


def one_line(text: str, limit: int) -> str:
    """``text`` on one line: control characters and line breaks become spaces, runs of spaces one."""
    flat = " ".join(_CONTROL.sub(" ", text.replace("\t", " ")).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def first_paragraph(text: str, limit: int = DESCRIPTION_MAX) -> str:
    """The first paragraph of ``text``, its lines kept, control characters gone, capped."""
    for block in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = [" ".join(_CONTROL.sub(" ", line.replace("\t", " ")).split()) for line in block.split("\n")]
        kept = "\n".join(line for line in lines if line)
        if kept:
            return kept if len(kept) <= limit else kept[: limit - 1].rstrip() + "…"
    return ""


def message(facts: Facts, gate_run: int | None) -> str:
    """The commit message; ``gate_run`` is None while the tree is still being gated."""
    title = one_line(facts.title, TITLE_MAX) or one_line(f"Land {facts.branch}", TITLE_MAX)
    parts = [title]
    if facts.description:
        parts.append(facts.description)
    if facts.subjects:
        count = len(facts.subjects)
        lines = [f"Squashed from {one_line(facts.branch, SUBJECT_MAX)} ({count} commit{'s' if count != 1 else ''}):"]
        lines += [f"- {one_line(s, SUBJECT_MAX) or '(no subject)'}" for s in facts.subjects[:SUBJECTS_SHOWN]]
        if count > SUBJECTS_SHOWN:
            lines.append(f"- ... and {count - SUBJECTS_SHOWN} more")
        parts.append("\n".join(lines))
    if facts.stat:
        parts.append(one_line(facts.stat, 200))
    trailers = []
    if facts.issue:
        trailers.append(f"Shopfloor-Issue: {one_line(facts.issue, 64)}")
    if gate_run is not None:
        trailers.append(f"Gate-Run: {int(gate_run)}")
    if facts.attempts:
        trailers.append(f"Shopfloor-Attempts: {int(facts.attempts)}")
    if trailers:
        parts.append("\n".join(trailers))
    return "\n\n".join(parts) + "\n"


def gather(tracker: Tracker, repo: Path, branch: str, issue: str | None, parent: str, tip: str, hooks: Hooks) -> Facts:
    """The facts of an entry whose commits sit between ``parent`` and ``tip`` in the stack; what
    the floor tried on its issue comes from ``hooks`` (the floor's attempts)."""
    subjects = tuple(git.run(repo, "log", "--reverse", "--format=%s", f"{parent}..{tip}").stdout.splitlines())
    stat = git.run(repo, "diff", "--shortstat", parent, tip, check=False).stdout.strip()
    title, description, attempts, author = f"Land {branch}", "", 0, None
    if issue:
        if store.exists(tracker.conn, issue):
            found = store.get(tracker.conn, issue)
            title = str(found.get("title") or title)
            description = first_paragraph(str(found.get("description") or ""))
        tried = hooks.tried(tracker.conn, issue)
        attempts = tried.ended
        workers = [w.name for w in records.all_workers(tracker.conn) if w.issue == issue]
        worker = workers[-1] if workers else tried.last_worker
        if worker:
            author = Person(of_worker(worker), WORKER_EMAIL)
    if author is None:  # no worker ran it: the branch's last author
        name, _, email = git.run(repo, "log", "-1", "--format=%an%x00%ae", tip).stdout.strip().partition("\0")
        author = Person(name or "unknown", email or "unknown@shopfloor.invalid")
    return Facts(
        title=title,
        branch=branch,
        issue=issue,
        description=description,
        subjects=subjects,
        stat=stat,
        attempts=attempts,
        author=author,
    )
