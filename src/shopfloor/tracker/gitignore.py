"""Keep shopfloor's committed files out of ``.gitignore``'s reach.

The gate reads its rules from ``.shopfloor/config.toml`` *as committed* on the target, the
tracker's history is ``.shopfloor/issues.jsonl``, and the merge driver is registered in
``.gitattributes``. A repository whose ``.gitignore`` hides them (``.*`` hides every dotfile)
never commits them, and every gate then runs with the built-ins only. The memory lives in
``.agents/`` (its README, the agents' research notes and plans, the retros): hidden, an agent's
``git add -A`` leaves its notes behind and a person's clone lacks the retros on disk. ``init``
and ``gate init`` ask ``git check-ignore``, append negations to ``.gitignore`` when needed, and
ask again.
"""

from __future__ import annotations

from pathlib import Path

from shopfloor import git
from shopfloor.tracker.jsonl import atomic_write

COMMITTED = (".shopfloor/config.toml", ".shopfloor/issues.jsonl", ".gitattributes", ".agents/README.md")
DIRECTORIES = (".shopfloor/", ".agents/")  # re-included whole, before the files in them
HEADER = "# shopfloor's committed files (added by shopfloor)"


def negations(ignored: list[str]) -> list[str]:
    """The ``.gitignore`` lines that re-include ``ignored`` (paths from the repository's root).
    The directory first: git cannot re-include a file whose directory is excluded."""
    lines = [f"!/{d}" for d in DIRECTORIES if any(p.startswith(d) for p in ignored)]
    return lines + [f"!/{p}" for p in ignored]


def ignored(worktree: Path, paths: tuple[str, ...] | list[str] = COMMITTED) -> list[str]:
    """The ones among ``paths`` git would ignore (a tracked file is never ignored)."""
    done = git.run(worktree, "check-ignore", "--", *paths, check=False)
    if done.returncode not in (0, 1):
        return []  # not a work tree git can answer for: nothing to fix here
    found = set(done.stdout.splitlines())
    return [p for p in paths if p in found]


def unignore(worktree: Path) -> list[str]:
    """Make sure the committed files are not ignored; returns one-line notices of what was done."""
    hidden = ignored(worktree)
    if not hidden:
        return []
    path = worktree / ".gitignore"
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        return [f".gitignore hides {', '.join(hidden)} but cannot be read ({exc}): commit them with `git add -f`"]
    have = set(text.splitlines())
    lines = [line for line in negations(hidden) if line not in have]
    if lines:
        sep = "" if not text or text.endswith("\n") else "\n"
        atomic_write(path, (text + sep + "\n".join([HEADER, *lines]) + "\n").encode("utf-8"))
    notices = [f".gitignore hid {', '.join(hidden)}: added {' '.join(lines) or 'nothing'} to .gitignore"]
    still = ignored(worktree, hidden)
    if still:
        notices.append(
            f"{', '.join(still)} is still ignored (a rule .gitignore cannot override, such as an ignored parent "
            "directory or a deeper .gitignore): commit it with `git add -f`"
        )
    return notices
