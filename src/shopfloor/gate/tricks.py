"""An agent's tricks for getting past a check without fixing anything (pure: over the parsed diff).

- **Suppressions**: a ``# noqa``, ``# type: ignore``, ``eslint-disable``, ``//nolint`` ... added
  to silence a finding instead of fixing it.
- **Protected files**: a change to a file a check's tool reads its settings from (anywhere in
  the tree: pytest, ruff and mypy look in every directory they visit), a Python start-up file
  or committed bytecode that runs before or instead of the source, CI config, or a symlink
  (a source file replaced by a link to a file outside the checkout).
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from shopfloor.gate.diffs import FileDiff, matches

# (name shown in the evidence, how it is written). One line is named once, by its first kind.
SUPPRESSIONS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("# ruff: noqa", r"#\s*ruff\s*:\s*noqa\b"),
        ("# flake8: noqa", r"#\s*flake8\s*:\s*noqa\b"),
        ("# noqa", r"#\s*noqa\b"),
        ("# type: ignore", r"#\s*type\s*:\s*ignore\b"),
        ("# mypy: ignore-errors", r"#\s*mypy\s*:\s*ignore-errors\b"),
        ("# pyright: ignore", r"#\s*pyright\s*:\s*(?:ignore|basic\b|strict\s*=\s*false)"),
        ("# pragma: no cover", r"#\s*pragma\s*:\s*no\s*cover\b"),
        ("# pylint: disable", r"#\s*pylint\s*:\s*disable\b"),
        ("# nosec", r"#\s*nosec\b"),
        ("eslint-disable", r"\beslint-disable\b"),
        ("@ts-ignore", r"@ts-ignore\b"),
        ("@ts-expect-error", r"@ts-expect-error\b"),
        ("@ts-nocheck", r"@ts-nocheck\b"),
        ("//nolint", r"//\s*nolint\b"),
        ("//lint:ignore", r"//\s*lint:ignore\b"),
        ("#[allow(...)]", r"#!?\[\s*allow\s*\("),
    )
)


# Prose and data, where a suppression is only words (a README telling how to use ``# noqa``, an
# issue in the tracker's file): no tool reads it there.
PROSE = (".md", ".markdown", ".rst", ".txt", ".adoc", ".jsonl", ".csv", ".tsv", ".log")


def suppression_kind(text: str) -> str | None:
    """The kind of suppression a line carries, or None."""
    return next((name for name, pattern in SUPPRESSIONS if pattern.search(text)), None)


def suppressions(files: dict[str, FileDiff]) -> list[str]:
    """``path:line: adds a suppression (kind): text`` for each suppression the change adds.

    Counted per file and kind: a suppression the base already had, on a line the change moved
    or edited, is not new (the added lines of a kind beyond the removed ones are). The lines
    named are those whose text the change did not remove.
    """
    problems = []
    for path, diff in sorted(files.items()):
        if diff.status == "D" or path.lower().endswith(PROSE):
            continue
        removed: dict[str, Counter[str]] = {}
        for text in diff.removed:
            kind = suppression_kind(text)
            if kind is not None:
                removed.setdefault(kind, Counter())[text.strip()] += 1
        added: dict[str, list[tuple[int, str]]] = {}
        for number, text in diff.added:
            kind = suppression_kind(text)
            if kind is not None:
                added.setdefault(kind, []).append((number, text))
        for kind, lines in added.items():
            gone = removed.get(kind, Counter())
            surplus = len(lines) - sum(gone.values())
            if surplus <= 0:
                continue
            left = Counter(gone)
            moved, fresh = [], []
            for number, text in lines:
                if left[text.strip()] > 0:
                    left[text.strip()] -= 1
                    moved.append((number, text))
                else:
                    fresh.append((number, text))
            for number, text in sorted((fresh + moved)[:surplus]):
                problems.append(f"{path}:{number}: adds a suppression ({kind}): {text.strip()[:120]}")
    return problems


SYMLINK = "120000"


@lru_cache(maxsize=256)
def _name_regex(pattern: str) -> re.Pattern[str]:
    """A name pattern: ``*`` is any characters (newlines and unicode included), ``?`` one."""
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(body + r"\Z", re.DOTALL | re.IGNORECASE)


def is_protected(path: str, patterns: tuple[str, ...] | list[str]) -> bool:
    """A pattern without a slash names a file in any directory, whatever its case (a
    case-insensitive file system loads CONFTEST.PY as conftest.py): it is matched on the path's
    last component, so a newline elsewhere in the path cannot break it. A pattern with a slash
    is a glob from the root (``**`` across directories, ``**/__pycache__/**`` anywhere)."""
    name = path.rsplit("/", 1)[-1]
    return any(matches(path, (p,)) if "/" in p else bool(_name_regex(p).match(name)) for p in patterns)


def protected(files: dict[str, FileDiff], patterns: tuple[str, ...]) -> list[str]:
    """What needs a person's approval: protected files touched (renamed from or to, too), and
    symlinks added or changed (whatever they point at)."""
    problems = []
    for path, diff in sorted(files.items()):
        if is_protected(path, patterns) or (diff.old_path and is_protected(diff.old_path, patterns)):
            problems.append(f"touches a protected file: {_shown(path)}")
        if diff.mode == SYMLINK and diff.status != "D":
            target = diff.added[0][1] if diff.added else "?"
            where = "outside the tree" if target.startswith("/") or _climbs_out(path, target) else "inside the tree"
            problems.append(f"adds or changes a symlink: {_shown(path)} -> {_shown(target)} (points {where})")
    return problems


def _shown(text: str) -> str:
    """A path as evidence: quoted when it holds a newline or another unprintable character."""
    return text if text.isprintable() else repr(text)


def _climbs_out(path: str, target: str) -> bool:
    depth = path.count("/")
    for part in target.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False
