"""What a candidate changes relative to its base (pure: parsed from ``git diff`` output).

The built-in checks that need no project configuration read this: protected files, diff
size, test files deleted, skip markers added, assertions removed, and which functions
changed (for complexity).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache


@dataclass
class FileDiff:
    path: str
    status: str = "M"  # A, M, D, R (git's name-status letter)
    old_path: str | None = None
    added: list[tuple[int, str]] = field(default_factory=list)  # (line number in the new file, text)
    removed: list[str] = field(default_factory=list)
    mode: str | None = None  # the new side's git mode when the patch names it ("120000": a symlink)


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
# The header lines that name the new side's mode: a new file, a mode change, or an unchanged one.
_MODE = re.compile(r"^(?:new file mode |new mode |index [0-9a-f]+\.\.[0-9a-f]+ )([0-7]{6})$")
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote(path: str) -> str:
    """A path as git prints it in a patch header: C-quoted when it holds special characters,
    followed by a tab when it holds spaces."""
    path = path.rstrip("\t")
    if not (path.startswith('"') and path.endswith('"') and len(path) >= 2):
        return path
    out, i, body = bytearray(), 0, path[1:-1]
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "01234567" and i + 3 < len(body) + 1:
                out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
                i += 4
                continue
            out.append(_ESCAPES.get(nxt, ord(nxt) & 0xFF))
            i += 2
            continue
        out += ch.encode("utf-8", "surrogateescape")
        i += 1
    return out.decode("utf-8", "surrogateescape")


def parse_unified(text: str) -> dict[str, FileDiff]:
    """Parse ``git diff -U0`` output into per-file added and removed lines.

    Lines are split on "\n" only (str.splitlines would also split on form feeds and other
    separators a line of code may contain). A path that appears twice (a type change) keeps
    the lines of both parts.
    """
    files: dict[str, FileDiff] = {}
    current: FileDiff | None = None
    line_no, mode = 0, None
    for line in text.split("\n"):
        if line.startswith("diff --git "):
            current, mode = None, None
        elif current is None and (found_mode := _MODE.match(line)):
            mode = found_mode.group(1)
        elif line.startswith("--- ") and current is None:
            old = unquote(line[4:])
            current = FileDiff(path="", old_path=None if old == "/dev/null" else old.removeprefix("a/"))
        elif line.startswith("+++ ") and current is not None and not current.path:
            new = unquote(line[4:])
            if new == "/dev/null":
                current.path, current.status = current.old_path or "", "D"
            else:
                current.path = new.removeprefix("b/")
                current.status = "A" if current.old_path is None else "M"
            if current.path in files:  # the second half of a type change: merge into the first
                first = files[current.path]
                first.status = "M"
                current = first
            else:
                files[current.path] = current
            if mode is not None and new != "/dev/null":
                current.mode = mode
        elif current is not None and current.path and (match := _HUNK.match(line)):
            line_no = int(match.group(1))
        elif current is not None and current.path and line.startswith("+"):
            current.added.append((line_no, line[1:]))
            line_no += 1
        elif current is not None and current.path and line.startswith("-"):
            current.removed.append(line[1:])
    return files


def parse_name_status(text: str) -> dict[str, tuple[str, str | None]]:
    """``git diff --name-status -M -z`` into {path: (status letter, old path for renames)}."""
    parts = text.split("\0")
    out: dict[str, tuple[str, str | None]] = {}
    i = 0
    while i < len(parts) and parts[i]:
        status = parts[i][0]
        if status in "RC":
            out[parts[i + 2]] = (status, parts[i + 1])
            i += 3
        else:
            out[parts[i + 1]] = (status, None)
            i += 2
    return out


def combine(name_status: str, patch: str) -> dict[str, FileDiff]:
    """Every changed path from ``--name-status -z`` (renames, mode and type changes, binaries
    included), with the lines the patch adds and removes."""
    lines = parse_unified(patch)
    files: dict[str, FileDiff] = {}
    for path, (status, old_path) in parse_name_status(name_status).items():
        found = lines.get(path) or (lines.get(old_path) if old_path else None) or FileDiff(path=path)
        found.path, found.status, found.old_path = path, status, old_path or found.old_path
        files[path] = found
    return files


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    # DOTALL: a "**" spans a directory whose name holds a newline as it spans any other.
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def matches(path: str, patterns: tuple[str, ...] | list[str]) -> bool:
    """Glob match with ``**`` across directories (``tests/**``, ``**/*_test.go``)."""
    return any(_glob_regex(p).match(path) for p in patterns)


def changed_lines(files: dict[str, FileDiff]) -> int:
    return sum(len(f.added) + len(f.removed) for f in files.values())


SKIP_MARKERS = re.compile(
    r"\bmark\.(skip|skipif|xfail)\b|pytest\.(skip|xfail)\(|@unittest\.(skip|expectedFailure)"
    r"|\bunittest\.skip\w*\(|\b(it|test|describe|context)\.(only|skip)\(|\bx(it|test|describe)\("
    r"|\bt\.Skip(Now|f)?\(|#\[ignore\]|@Disabled\b|@Ignore\b"
)
ASSERTION = re.compile(
    r"\bassert\w*\b|\bexpect\(|\bself\.assert\w+\(|\bt\.(Error|Errorf|Fatal|Fatalf|Fail)\(|\bassert_eq!|\bassert_ne!"
    r"|\bshould\b|\brequire\.\w+\("
)
ONLY_MARKER = re.compile(r"\b(it|test|describe|context)\.only\(")


@dataclass(frozen=True)
class Weakening:
    deleted_tests: tuple[str, ...]
    new_markers: tuple[str, ...]  # "path:line: text"
    removed_assertions: tuple[str, ...]  # "path: text" of each net removed assertion

    @property
    def found(self) -> bool:
        return bool(self.deleted_tests or self.new_markers or self.removed_assertions)

    def evidence(self) -> list[str]:
        lines = [f"test file deleted: {p}" for p in self.deleted_tests]
        lines += [f"skip/only marker added: {m}" for m in self.new_markers]
        lines += [f"assertion removed: {a}" for a in self.removed_assertions]
        return lines


def weakening(files: dict[str, FileDiff], test_paths: tuple[str, ...]) -> Weakening:
    """Tests deleted (or renamed out of the test paths), skip markers added, assertions removed.

    Assertions are counted over all test files together, so moving a test between files is
    not a removal.
    """
    deleted, markers, gone, added = [], [], [], 0
    for diff in files.values():
        path = diff.path
        was_test = bool(diff.old_path and matches(diff.old_path, test_paths))
        is_test = matches(path, test_paths)
        if diff.status == "D" and is_test:
            deleted.append(path)
            continue  # its assertions went with it; the deletion is the evidence
        if was_test and not is_test:
            deleted.append(f"{diff.old_path} (renamed to {path})")
        if not (is_test or was_test):
            continue
        old_markers = sum(1 for text in diff.removed if SKIP_MARKERS.search(text))
        new = [(n, text) for n, text in diff.added if SKIP_MARKERS.search(text)]
        markers += [f"{path}:{n}: {text.strip()[:120]}" for n, text in new[old_markers:]]
        gone += [f"{path}: {text.strip()[:120]}" for text in diff.removed if ASSERTION.search(text)]
        added += sum(1 for _, text in diff.added if ASSERTION.search(text)) if is_test else 0
    removed = gone[added:] if len(gone) > added else []
    return Weakening(tuple(sorted(deleted)), tuple(markers), tuple(removed))
