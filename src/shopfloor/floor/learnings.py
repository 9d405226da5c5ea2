"""The memory at the floor's edge: the index brought up to date (the main worktree's ``.agents/``
notes by stamp, the floor's attempts once each is final, and the retros of issues finished since
the floor's last tracker commit), searched for a worker's briefing (``learn.brief`` chooses),
and the text of ``learn search`` and ``learn show``, which the CLI and the worker channel print
alike.

A retro reaches the main worktree with the floor's tracker commit, at most once per
``--tracker-interval`` (60 s) while the floor is busy; an issue that the finished one blocked is
claimed at once, before that commit. So the retros that commit will carry are indexed from the
moment their issue finishes (origin ``pending:<path>``, stamped by their content), under the
same source id as the file: when the file arrives it replaces them."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from shopfloor.configfile import read_toml
from shopfloor.errors import ShopfloorError
from shopfloor.floor import attempts, knowledge, lessons, retro, retros
from shopfloor.gate.gating import repo_of, resolve_base
from shopfloor.learn import brief, docs, files, index
from shopfloor.paths import main_tree
from shopfloor.queue.trackercommit import RETROS_DIR, retro_path
from shopfloor.tracker.issuetype import Issue
from shopfloor.tracker.service import Tracker

CANDIDATES = 20  # the best matches a briefing chooses from
PENDING = "pending:"  # the origin of a retro the floor's next tracker commit will carry: pending:<path>


def budget(config_path: str | Path) -> int:
    """``[flywheel] brief_tokens`` of the project's config (a bad value is one clear error)."""
    return brief.parse(read_toml(Path(config_path)), str(config_path))


def ask_agent(config_path: str | Path) -> str:
    """``[flywheel] ask_agent`` of the project's config: when a finished issue's agent is asked for
    its lessons (``floor.lessons``); a bad value is one clear error."""
    data = read_toml(Path(config_path))
    brief.parse(data, str(config_path))  # every [flywheel] key is known
    return lessons.parse_mode(data, str(config_path))


def refresh(tracker: Tracker) -> None:
    conn = tracker.conn
    main = main_tree(tracker)
    index.refresh_files(conn, files.stamps(main), lambda origin: files.read(main, origin), files.FILE)
    current, read = knowledge.sources(conn)
    index.refresh_files(conn, current, read, knowledge.ATTEMPT)
    waiting = pending_retros(tracker)
    stamps = {PENDING + path: hashlib.sha256(data).hexdigest()[:16] for path, data in waiting.items()}

    def read_pending(origin: str) -> list[docs.Document]:
        path = origin.removeprefix(PENDING)
        doc = docs.file_document(path, waiting[path].decode("utf-8", errors="replace"))
        return [doc] if doc is not None else []

    index.refresh_files(conn, stamps, read_pending, PENDING)


def pending_retros(tracker: Tracker) -> dict[str, bytes]:
    """The retros of finished issues that the main worktree does not hold yet (path -> markdown,
    as ``floor.retros`` writes them for the tracker commit); none when the target cannot be read.
    Only issues with attempts and no retro file indexed are looked at: between tracker commits,
    the issues finished since, and those still being worked (the cheap part of ``retros.facts``
    says they are not finished)."""
    conn = tracker.conn
    indexed = index.origins(conn, files.FILE + RETROS_DIR + "/")  # refreshed just before
    try:
        repo = repo_of(tracker)
        target = resolve_base(repo, None)[0]
    except ShopfloorError:
        return {}
    out: dict[str, bytes] = {}
    for issue_id in sorted(attempts.issues_tried(conn)):
        try:
            path = retro_path(issue_id)
        except ValueError:  # an id that cannot name a file under .agents/retros: no retro
            continue
        if files.FILE + path in indexed:
            continue
        try:
            found = retros.facts(conn, repo, issue_id, target)
        except ShopfloorError:  # the issue is gone, or git cannot tell what it touched
            continue
        if found is not None:
            out[path] = retro.render(found).encode("utf-8")
    return out


def for_issue(tracker: Tracker, issue: Issue, budget_tokens: int) -> brief.Briefing:
    """The learnings to brief a worker on ``issue`` with, within ``budget_tokens`` (0: none)."""
    labels = [str(label) for label in issue.get("labels") or ()]
    words = brief.query_words(issue["title"], issue["description"], labels)
    if budget_tokens <= 0 or not words:
        return brief.Briefing([], "")
    refresh(tracker)
    hits = index.search(tracker.conn, words, CANDIDATES)
    retros = [h["id"] for h in hits if h["kind"] == "retro"]
    texts = index.texts(tracker.conn, retros)
    touched = {s: brief.front_files(text) for s, text in texts.items()}
    # A retro's entry carries its agent's lessons besides the match: they are what the next agent should know.
    # And the failures it met: its snippet is the match, which may be the front matter.
    said = {s: " ".join(p for p in (brief.failures_in(text), brief.lessons_in(text)) if p) for s, text in texts.items()}
    candidates = [
        brief.Candidate(
            h["id"], h["kind"], h["title"], " ".join(p for p in (h["snippet"], said.get(h["id"], "")) if p),
            h["score"], touched.get(h["id"], frozenset()),
        )
        for h in hits
    ]  # fmt: skip
    known = frozenset().union(*touched.values()) if touched else frozenset()
    text = "\n".join((issue["title"], issue["description"], issue["design"]))
    return brief.select(candidates, budget_tokens, brief.named_files(text, known))


def search_text(hits: list[dict[str, Any]]) -> str:
    lines = [f"{h['id']}  [{h['kind']}] {h['title']}  ({h['place']})\n    {h['snippet']}" for h in hits]
    return "\n".join(lines) if lines else "nothing found"


def show_text(found: dict[str, Any]) -> str:
    return f"{found['id']}  [{found['kind']}] {found['title']}  ({found['place']})\n\n" + str(found["text"]).rstrip(
        "\n"
    )
