"""The ``.agents/`` notes of the main worktree, as the index sees them: each markdown file's
stamp (modification time and size), read only when its stamp changed."""

from __future__ import annotations

import os
from pathlib import Path

from shopfloor.learn.docs import KINDS_BY_DIR, Document, file_document

FILE = "file:"  # the origin of a file's documents: file:<path relative to the repository>
MAX_FILES = 20_000


def stamps(worktree: Path) -> dict[str, str]:
    """Every ``.agents/{retros,research,plans}/**/*.md``: origin -> ``mtime_ns:size``."""
    found: dict[str, str] = {}
    for directory in KINDS_BY_DIR:
        top = worktree / ".agents" / directory
        for root, dirs, names in os.walk(top):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if not name.endswith(".md") or name.startswith("."):
                    continue
                path = Path(root) / name
                try:
                    st = path.stat()
                except OSError:
                    continue
                if len(found) < MAX_FILES:
                    found[FILE + path.relative_to(worktree).as_posix()] = f"{st.st_mtime_ns}:{st.st_size}"
    return found


def read(worktree: Path, origin: str) -> list[Document]:
    """The document of the file ``origin`` names (none if it vanished or is not a note)."""
    relpath = origin.removeprefix(FILE)
    try:
        text = (worktree / relpath).read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return []
    doc = file_document(relpath, text)
    return [doc] if doc is not None else []
