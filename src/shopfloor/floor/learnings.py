"""The memory at the floor's edge: the index brought up to date (the main worktree's ``.agents/``
notes by stamp, the floor's attempts once each is final, and the retros of issues finished since
the floor's last tracker commit), searched for a worker's briefing (``learn.brief`` chooses),
and the text of ``learn search`` and ``learn show``, which the CLI and the worker channel print
alike.

A retro reaches the main worktree with the floor's tracker commit, at most once per
``--tracker-interval`` (60 s) while the floor is busy; an issue that the finished one blocked is
claimed at once, before that commit. So the retros that commit will carry are indexed from the
moment their issue finishes (origin ``pending:<path>``, stamped by the outcome, attempt count and
lessons that decide the retro's text), under the same source id as the file: when the file
arrives it replaces them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shopfloor.configfile import read_toml
from shopfloor.errors import ShopfloorError
from shopfloor.floor import knowledge, lessons, retro, retros
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
    stamps = {PENDING + path: state for path, (_, state) in waiting.items()}
    target: list[tuple[Path, str]] = []  # resolved once, and only when a retro is rendered

    def read_pending(origin: str) -> list[docs.Document]:
        issue_id = waiting[origin.removeprefix(PENDING)][0]
        try:
            if not target:
                repo = repo_of(tracker)
                target.append((repo, resolve_base(repo, None)[0]))
            found = retros.facts(conn, target[0][0], issue_id, target[0][1])
        except ShopfloorError:  # the target cannot be read, or git cannot tell what it touched
            return []
        doc = docs.file_document(retro_path(issue_id), retro.render(found)) if found is not None else None
        return [doc] if doc is not None else []

    index.refresh_files(conn, stamps, read_pending, PENDING)


def pending_retros(tracker: Tracker) -> dict[str, tuple[str, str]]:
    """The retros of finished issues that the main worktree does not hold yet: path -> (issue,
    its state as ``floor.retros.states`` gives it). A retro is rendered (git is asked what its
    issue touched) only when that state changed since it was indexed, so a briefing between two
    tracker commits costs one query, not a render per finished issue."""
    indexed = index.origins(tracker.conn, files.FILE + RETROS_DIR + "/")  # refreshed just before
    out: dict[str, tuple[str, str]] = {}
    for issue_id, state in retros.states(tracker.conn).items():
        try:
            path = retro_path(issue_id)
        except ValueError:  # an id that cannot name a file under .agents/retros: no retro
            continue
        if files.FILE + path not in indexed:
            out[path] = (issue_id, state)
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
