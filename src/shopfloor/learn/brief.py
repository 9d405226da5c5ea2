"""The learnings a worker is briefed with (pure): the memory's best matches for its issue,
boosted when a retro touched the files the issue names, chosen within a token budget.

Tokens are estimated as characters / 4 (no tokenizer: a budget, not a bill). ``select`` takes
ranked candidates (``learn.index.search`` rows) and returns the chosen ones and the rendered
block; ``floor.learnings`` does the IO: refresh the index, query it, read the retros' files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shopfloor.configfile import only_known, section
from shopfloor.errors import ValidationError

DEFAULT_TOKENS = 1500
MAX_TOKENS = 20_000
CHARS_PER_TOKEN = 4
BOOST = 2.0  # a learning from work that touched a file the issue names counts this many times its score
MAX_QUERY_WORDS = 48
HEADER = (
    "Learnings from earlier work on this repository (the memory's best matches for this issue; "
    "read one in full with `shopfloor learn show ID`, search with `shopfloor learn search WORDS`):"
)
_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*")
_STOP_WORDS = (
    "the and for with that this from into when what which will should would could have has are was were "
    "not but all any its use used using than then them they their there here also only each some such"
)
_STOP = frozenset(_STOP_WORDS.split())


@dataclass(frozen=True)
class Candidate:
    source: str
    kind: str
    title: str
    snippet: str
    score: float  # bm25, higher is better
    files: frozenset[str] = frozenset()  # the files its work touched (a retro's front matter), if known


@dataclass(frozen=True)
class Briefing:
    sources: list[str]
    text: str  # "" when nothing was chosen


def parse(data: Mapping[str, Any], where: str) -> int:
    """``[flywheel] brief_tokens``: the briefing's budget in tokens (0: no learnings block)."""
    raw = section(dict(data), "flywheel", where)
    known = {"brief_tokens", "promote_after", "rules_bytes", "ask_agent"}  # + learn.rules, floor.lessons
    only_known(raw, known, where, "[flywheel]")
    value = raw.get("brief_tokens", DEFAULT_TOKENS)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_TOKENS:
        raise ValidationError(
            f"{where}: flywheel.brief_tokens must be a whole number from 0 to {MAX_TOKENS} (0 turns briefings off)"
        )
    return value


def query_words(title: str, description: str, labels: Iterable[str]) -> list[str]:
    """The issue's distinct words worth searching for, title first (at most ``MAX_QUERY_WORDS``)."""
    seen: dict[str, None] = {}
    for text in (title, *labels, description):
        for word in _WORD.findall(text):
            word = word.strip("./-").lower()
            if len(word) >= 3 and word not in _STOP and not word.isdigit():
                seen.setdefault(word, None)
    return list(seen)[:MAX_QUERY_WORDS]


def front_files(text: str) -> frozenset[str]:
    """The ``files:`` of a note's front matter (``files: a.py, b.py``, ``files: [a.py]`` or a
    ``- a.py`` list under it); empty without front matter."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return frozenset()
    found: list[str] = []
    listing = False
    for line in lines[1:]:
        if line.strip() == "---":
            break
        key, colon, value = line.partition(":")
        if colon and not line.startswith((" ", "\t", "-")):
            listing = key.strip() == "files"
            if listing:
                found += _listed(value.strip())
        elif listing and line.strip().startswith("- "):
            found.append(line.strip()[2:])
    return frozenset(f.strip().strip("'\"") for f in found if f.strip().strip("'\""))


def _listed(value: str) -> list[str]:
    """``["a b.py", "c.py"]`` (JSON, as the floor's retros write it), else ``a.py, c.py``."""
    if value.startswith("["):
        try:
            items = json.loads(value)
        except ValueError:
            items = None
        if isinstance(items, list):
            return [item for item in items if isinstance(item, str)]
    return re.split(r"[,\s]+", value.strip("[]"))


LESSONS_HEADING = "## Lessons (from the agent)"  # as ``floor.retro`` writes it
LESSONS_CHARS = 400


def lessons_in(text: str) -> str:
    """The agent's lessons in a retro (the bullets under ``LESSONS_HEADING``), folded into one line
    for a briefing entry, at most ``LESSONS_CHARS``; '' when it has none."""
    _, found, rest = text.partition("\n" + LESSONS_HEADING + "\n")
    if not found:
        return ""
    said = []
    for line in rest.splitlines():
        if line.startswith("#"):
            break
        if line.startswith("- "):
            said.append(" ".join(line[2:].split()))
    folded = "Lessons: " + " / ".join(said) if said else ""
    return folded if len(folded) <= LESSONS_CHARS else folded[: LESSONS_CHARS - 1] + "…"


FAILURES_HEADING = "## Failure signatures"  # as ``floor.retro`` writes it
FAILURES_CHARS = 300
# "- check `` X ``, signature `` X:hash ``: first met at attempt 1, fixed by attempt 2" (any fence length)
_FAILURE = re.compile(r"^- check (`+) (.*?) \1, signature (`+) (.*?) \3: first met at attempt \d+, (.+)$")


def failures_in(text: str) -> str:
    """The failure signatures a retro records and how each ended, folded into one line for a
    briefing entry (``Failed: no-fixme:75b1f443f08be2cb, fixed by attempt 2``), at most
    ``FAILURES_CHARS``; '' when it met none. The match's snippet may well be the front matter:
    this is what the next agent on the code can act on."""
    _, found, rest = text.partition("\n" + FAILURES_HEADING + "\n")
    if not found:
        return ""
    met = []
    for line in rest.splitlines():
        if line.startswith("#"):
            break
        hit = _FAILURE.match(line)
        if hit:
            met.append(f"{hit.group(4)}, {hit.group(5)}")
    folded = "Failed: " + " / ".join(met) if met else ""
    return folded if len(folded) <= FAILURES_CHARS else folded[: FAILURES_CHARS - 1] + "…"


def named_files(issue_text: str, known: Iterable[str]) -> frozenset[str]:
    """The files among ``known`` that the issue's text names (as a word of its own)."""
    words = {w.rstrip(".:,;") for w in re.split(r"[\s`'\"()\[\]<>]+", issue_text)}
    return frozenset(f for f in known if f in words)


def rank(candidates: Iterable[Candidate], files: frozenset[str]) -> list[Candidate]:
    """Best first: the score, times ``BOOST`` for a learning whose work touched one of ``files``."""

    def key(c: Candidate) -> tuple[float, str]:
        return (-(c.score * (BOOST if c.files & files else 1.0)), c.source)

    return sorted(candidates, key=key)


def entry(c: Candidate) -> str:
    line = f"- {c.source} ({c.kind}) {c.title}"
    snippet = " ".join(c.snippet.split())
    return f"{line}: {snippet}" if snippet else line


def select(candidates: Iterable[Candidate], budget_tokens: int, files: frozenset[str] = frozenset()) -> Briefing:
    """The learnings that fit ``budget_tokens`` (the whole block, header included), best first;
    one that does not fit is passed over for a shorter one after it."""
    budget = budget_tokens * CHARS_PER_TOKEN
    chosen: list[Candidate] = []
    used = len(HEADER)
    for c in rank(candidates, files):
        cost = len(entry(c)) + 1  # its line and the newline before it
        if used + cost <= budget:
            chosen.append(c)
            used += cost
    if not chosen:
        return Briefing([], "")
    return Briefing([c.source for c in chosen], "\n".join([HEADER, *(entry(c) for c in chosen)]))


def tokens(text: str) -> int:
    """The estimate: characters / 4, rounded up."""
    return -(-len(text) // CHARS_PER_TOKEN)
