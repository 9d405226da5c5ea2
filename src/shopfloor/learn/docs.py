"""What the memory indexes (pure): documents, their stable source ids, and queries of plain words."""

from __future__ import annotations

from dataclasses import dataclass

from shopfloor.errors import UsageError

# The directories of ``.agents/`` and the kind of document each holds.
KINDS_BY_DIR = {"retros": "retro", "research": "research", "plans": "plan"}
KINDS = ("retro", "research", "plan", "handoff", "gate")
MAX_WORDS = 64
MAX_BODY = 200_000  # characters of one document that are indexed (and shown)


@dataclass(frozen=True)
class Document:
    source: str  # stable id: retro:sf-a3f8, research:<path>, handoff:<attempt>, gate:<run>:<check>
    kind: str
    title: str
    place: str  # the file's path, or the issue
    body: str


def file_document(relpath: str, text: str) -> Document | None:
    """The document of ``.agents/<dir>/...md`` (``relpath`` relative to the repository), or None
    for a file outside the three directories."""
    parts = relpath.split("/")
    if len(parts) < 3 or parts[0] != ".agents" or parts[1] not in KINDS_BY_DIR:
        return None
    kind = KINDS_BY_DIR[parts[1]]
    name = parts[-1].removesuffix(".md")
    # A retro is named after its issue (.agents/retros/<id>.md); the others by their path.
    source = f"retro:{name}" if kind == "retro" and len(parts) == 3 else f"{kind}:{'/'.join(parts[2:])}"
    return Document(source, kind, title(text, name), relpath, text[:MAX_BODY])


def title(text: str, fallback: str) -> str:
    """A markdown file's first heading (after any front matter), else its first line, else ``fallback``."""
    lines = text.splitlines()
    if lines and lines[0].strip() == "---":
        end = next((n for n, line in enumerate(lines[1:], 1) if line.strip() == "---"), 0)
        lines = lines[end + 1 :]
    first = next((line.strip() for line in lines if line.strip()), "")
    return (first.lstrip("#").strip() or fallback)[:200]


def match_query(words: list[str]) -> str:
    """An FTS5 query matching any of ``words``, each a quoted string: words are data, never syntax
    (``"``, ``NEAR(``, ``*``, ``-`` are searched as text; FTS5's tokenizer drops the punctuation)."""
    terms = [w for text in words for w in text.split() if w]
    if not terms:
        raise UsageError("empty search: give one or more words")
    if len(terms) > MAX_WORDS:
        raise UsageError(f"too many words ({len(terms)}): give at most {MAX_WORDS}")
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in terms)


def kind_of(source: str) -> str:
    """The kind a source id names (``retro:sf-a3f8`` -> ``retro``), or a usage error."""
    kind = source.partition(":")[0]
    if kind not in KINDS or ":" not in source:
        raise UsageError(f"{source!r} is not a source id: they look like retro:sf-a3f8 or gate:12:tests")
    return kind
