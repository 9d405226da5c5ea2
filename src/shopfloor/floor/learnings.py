"""The memory at the floor's edge: the index brought up to date (the main worktree's ``.agents/``
notes by stamp, the floor's attempts once each is final), searched for a worker's briefing
(``learn.brief`` chooses), and the text of ``learn search`` and ``learn show``, which the CLI
and the worker channel print alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shopfloor.configfile import read_toml
from shopfloor.floor import knowledge, lessons
from shopfloor.learn import brief, files, index
from shopfloor.paths import main_tree
from shopfloor.tracker.issuetype import Issue
from shopfloor.tracker.service import Tracker

CANDIDATES = 20  # the best matches a briefing chooses from


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
    said = {s: brief.lessons_in(text) for s, text in texts.items()}
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
