"""A person's review of an attempt's change, as plain data (pure): its line comments, their
validation against the change's diff, and the follow-up prompt they become.

A review is a list of comments, each on one line of one file of the diff (the line number on the
new side, as the reader sees it; on the old side for a deleted file), plus an optional overall
note. The text is a person's, so it is kept as data: validated, size-capped, stored as JSON,
and handed to the agent as its prompt (an argv element or stdin), never through a shell.

``parse_patch`` reads ``git diff`` output into per-file hunks with both sides' line numbers:
what ``shopfloor review --show`` prints and the dashboard renders (``floor.review.change``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from shopfloor.errors import ValidationError
from shopfloor.gate.diffs import unquote

MAX_COMMENTS = 100
MAX_TEXT = 4_000  # characters in one comment
MAX_NOTE = 8_000  # characters in the overall note
MAX_PATH = 1_000
QUOTE_CHARS = 300  # of the quoted code line


@dataclass(frozen=True)
class Comment:
    path: str
    line: int
    text: str


@dataclass(frozen=True)
class Review:
    comments: tuple[Comment, ...]
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"comments": [asdict(c) for c in self.comments], "note": self.note}


@dataclass(frozen=True)
class Line:
    kind: str  # "add", "del" or "ctx"
    old: int | None  # its number in the old file (None for an added line)
    new: int | None  # its number in the new file (None for a removed line)
    text: str


@dataclass(frozen=True)
class Hunk:
    header: str  # the "@@ -a,b +c,d @@ ..." line
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class FileDiff:
    path: str
    status: str = "M"  # A added, M modified, D deleted, R renamed
    old_path: str | None = None
    binary: bool = False
    hunks: tuple[Hunk, ...] = field(default_factory=tuple)

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "old_path": self.old_path,
            "binary": self.binary,
            "hunks": [{"header": h.header, "lines": [asdict(x) for x in h.lines]} for h in self.hunks],
        }

    def line(self, number: int) -> str | None:
        """The text of line ``number`` as the diff shows it (the new side; the old for a deleted
        file), or None when the diff does not show that line."""
        for hunk in self.hunks:
            for ln in hunk.lines:
                if (ln.old if self.status == "D" else ln.new) == number:
                    return ln.text
        return None


# --- reading a review -------------------------------------------------------------------------

_SPEC = re.compile(r"^(?P<path>.+?):(?P<line>[^:]*):(?P<text>.*)$", re.DOTALL)


def parse_comment(spec: str) -> Comment:
    """``FILE:LINE:TEXT`` (``--comment``) into a comment; the text may hold colons."""
    found = _SPEC.match(spec)
    if found is None:
        raise ValidationError(f"--comment {spec[:60]!r} is not FILE:LINE:TEXT (for example src/app.py:12:why this?)")
    return comment(found["path"], found["line"], found["text"])


def comment(path: Any, line: Any, text: Any) -> Comment:
    """One comment from untrusted values (a form, a JSON file): checked, never trusted."""
    if not isinstance(path, str) or not path.strip():
        raise ValidationError("a review comment needs a file path")
    if len(path) > MAX_PATH or "\0" in path:
        raise ValidationError(f"a review comment's path is not a file path: {path[:60]!r}")
    number = _line_number(line, path)
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(f"the comment on {path}:{number} is empty: say what should change")
    _check_text(text, f"the comment on {path}:{number}", MAX_TEXT)
    return Comment(path.strip(), number, text.strip())


def _line_number(value: Any, path: str) -> int:
    if isinstance(value, bool):
        raise ValidationError(f"the line of a comment on {path} must be a positive whole number")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or value < 1:
        raise ValidationError(f"the line of a comment on {path} must be a positive whole number, not {value!r}")
    return value


def _check_text(text: str, what: str, limit: int) -> None:
    if len(text) > limit:
        raise ValidationError(f"{what} is {len(text)} characters; the limit is {limit}")
    if "\0" in text:
        raise ValidationError(f"{what} holds a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{what} is not valid UTF-8") from None


def review(comments: list[Comment], note: Any = None) -> Review:
    """The review, checked as a whole: at least one comment or a note, and not too many."""
    if note is not None and not isinstance(note, str):
        raise ValidationError("a review's note must be text")
    note = (note or "").strip()
    if note:
        _check_text(note, "the review's note", MAX_NOTE)
    if not comments and not note:
        raise ValidationError("a review needs at least one comment (--comment FILE:LINE:TEXT) or a note (--note)")
    if len(comments) > MAX_COMMENTS:
        raise ValidationError(f"a review holds at most {MAX_COMMENTS} comments, not {len(comments)}")
    unique = tuple(dict.fromkeys(comments))  # the same comment twice (a double-clicked form) counts once
    return Review(tuple(sorted(unique, key=lambda c: (c.path, c.line))), note)


def from_json(data: Any) -> Review:
    """A review file: ``{"comments": [{"path": ..., "line": ..., "text": ...}], "note": ...}``."""
    if not isinstance(data, dict):
        raise ValidationError('a review file holds a JSON object: {"comments": [...], "note": "..."}')
    unknown = sorted(set(data) - {"comments", "note"})
    if unknown:
        raise ValidationError(f"a review file has unknown keys: {', '.join(unknown)} (comments, note)")
    items = data.get("comments") or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValidationError('a review file\'s "comments" is a list of {"path", "line", "text"} objects')
    return review([comment(i.get("path"), i.get("line"), i.get("text")) for i in items], data.get("note"))


def check(found: Review, files: dict[str, FileDiff], lengths: dict[str, int]) -> None:
    """Every comment is on a file of the diff, on a line that file has (``lengths``: how many
    lines each file has on the side the comment reads: new, or old for a deleted file)."""
    for c in found.comments:
        diff = files.get(c.path)
        if diff is None:
            shown = ", ".join(sorted(files)[:5]) or "none"
            raise ValidationError(f"{c.path} is not a file this change touches (its files: {shown})")
        if diff.binary:
            raise ValidationError(f"{c.path} is a binary file: a comment needs a line of text")
        total = lengths.get(c.path, 0)
        if c.line > total:
            raise ValidationError(f"{c.path} has {total} lines: there is no line {c.line} to comment on")


# --- the prompt -------------------------------------------------------------------------------


def prompt(issue: str, actor: str, found: Review, quoted: dict[tuple[str, int], str]) -> str:
    """The follow-up prompt: each comment with its file and line and the code line it is on
    (``quoted``), then the note. The person's words are quoted as data, never as instructions
    from the floor."""
    n = len(found.comments)
    head = (
        f"A person ({actor}) reviewed your change for {issue} and asks for changes before it can land"
        + (f": {n} comment{'s' if n != 1 else ''}" if n else "")
        + ". Address every comment: change the code, or, where a comment is mistaken, say why with "
        f"`shopfloor comment {issue} -`. Commit on your branch and end your turn; your change is gated "
        "again and the person reviews it again."
    )
    parts = [head]
    for i, c in enumerate(found.comments, 1):
        code = quoted.get((c.path, c.line))
        block = [f"{i}. {c.path}:{c.line}"]
        if code is not None:
            shown = code if len(code) <= QUOTE_CHARS else code[:QUOTE_CHARS] + "…"
            block.append(f"   code: {shown.rstrip()}")
        block.extend("   > " + line for line in c.text.splitlines())
        parts.append("\n".join(block))
    if found.note:
        parts.append("Overall:\n" + "\n".join("> " + line for line in found.note.splitlines()))
    return "\n\n".join(parts)


def summary(found: Review) -> str:
    """One line for the issue's comments and the CLI: how many comments, on which files."""
    files = sorted({c.path for c in found.comments})
    n = len(found.comments)
    said = f"{n} comment{'s' if n != 1 else ''}" + (f" on {', '.join(files)}" if files else "")
    return said + (" and a note" if found.note else "") if n else "a note"


# --- the diff ---------------------------------------------------------------------------------

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def parse_patch(text: str, statuses: dict[str, tuple[str, str | None]], binary: set[str]) -> dict[str, FileDiff]:
    """``git diff`` output (with context) into each file's hunks; ``statuses``: every changed
    path's (status letter, old path) from ``--name-status``, which names renames and files with
    no hunk too; ``binary``: the paths git shows no lines of. Paths in the order git lists them."""
    hunks: dict[str, list[Hunk]] = {}
    path: str | None = None
    lines: list[Line] = []
    header = ""
    old = new = 0
    old_name: str | None = None

    def flush() -> None:
        if path is not None and header:
            hunks.setdefault(path, []).append(Hunk(header, tuple(lines)))

    for raw in text.split("\n"):
        if raw.startswith("diff --git "):
            flush()
            path, header, lines, old_name = None, "", [], None
        elif path is None and raw.startswith("--- "):
            old_name = unquote(raw[4:]).removeprefix("a/")
        elif path is None and raw.startswith("+++ "):
            name = unquote(raw[4:])
            path = old_name if name == "/dev/null" else name.removeprefix("b/")
        elif path is not None and (found := _HUNK.match(raw)):
            flush()
            header, lines = raw, []
            old, new = int(found.group(1)), int(found.group(2))
        elif path is not None and header and raw[:1] in ("+", "-", " "):
            if raw[0] == "+":
                lines.append(Line("add", None, new, raw[1:]))
                new += 1
            elif raw[0] == "-":
                lines.append(Line("del", old, None, raw[1:]))
                old += 1
            else:
                lines.append(Line("ctx", old, new, raw[1:]))
                old += 1
                new += 1
    flush()
    return {
        p: FileDiff(p, status, old_path, p in binary, tuple(hunks.get(p, ())))
        for p, (status, old_path) in statuses.items()
    }
