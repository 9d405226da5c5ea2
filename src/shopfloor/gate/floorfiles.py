"""What an agent's change may never touch: the tracker's file, the gate's own rules, the
attributes that decide how git handles them, the context files every later agent reads, and
the floor's retros.

``.shopfloor/issues.jsonl`` is the tracker in git: landing an edited copy would import it, and
close, reopen or rewrite issues as ``shopfloor`` on the agent's say-so (only the floor writes
the tracker, from its database: ``queue.trackercommit``). ``.shopfloor/config.toml`` holds the
gate's rules: a change to it would weaken the gate for every change after it (only a person
changes them). So a candidate from an agent fails the built-in check ``floor-files`` when its
diff adds, edits, deletes or renames either file, whatever the target's ``[gate]`` says
(``builtins`` and ``protected`` cannot switch it off). The agent is told which file, and puts
it back. A person's branch is not an agent's: it may change both (``protected-files`` asks for
approval of config.toml; the tracker-only rule, ``gate.trackerskip``, still applies).

Pure: the caller says whether the candidate is an agent's (``from_agent``) and passes the diff.
"""

from __future__ import annotations

from shopfloor.gate.diffs import FileDiff
from shopfloor.gate.results import CheckResult
from shopfloor.gate.signature import signature

NAME = "floor-files"
WORKER_BRANCH_PREFIX = "floor/"  # workspace.naming.BRANCH_PREFIX: an agent's worker branch
WHY = {
    ".shopfloor/issues.jsonl": "only the floor writes the tracker (an agent's change to it never lands)",
    ".shopfloor/config.toml": "only a person changes the gate's rules (an agent's change to them never lands)",
    # Attributes decide how git reads, writes and merges the tracker's file (an encoding, an eol,
    # a merge driver): a landed `.shopfloor/issues.jsonl working-tree-encoding=UTF-16LE` broke
    # every later import. Which patterns reach that file is not worth guessing: none of these.
    ".gitattributes": "only a person changes how git reads and merges files here, the tracker's included",
    ".shopfloor/.gitattributes": "only a person changes how git reads and merges the tracker's files",
    # What every later agent is told: the floor copies AGENTS.md into each worker's briefing, and
    # the agent CLIs read their own files. One agent's edit would steer all the others.
    "AGENTS.md": "every later agent is briefed with it, so only a person changes it",
    "CLAUDE.md": "every later Claude Code session reads it, so only a person changes it",
    "GEMINI.md": "every later Gemini CLI session reads it, so only a person changes it",
}
# The retros are the floor's record of what happened, briefed to later agents as such: an agent
# that wrote one (its own issue's, or a finished one's) would speak for the floor to all of them.
# Research notes and plans (``.agents/research/``, ``.agents/plans/``) are the agents' own.
WHY_UNDER = {
    ".agents/retros/": "only the floor writes retros, from what happened; later agents are briefed with them",
}
FIX = "put it back as it is on the target (e.g. `git checkout <target> -- {path}`) and commit"


def is_worker_branch(rev: str) -> bool:
    """``floor/<issue>`` (or ``refs/heads/floor/<issue>``): a branch an agent works on."""
    return rev.removeprefix("refs/heads/").startswith(WORKER_BRANCH_PREFIX)


def from_agent(rev: str, *, agent: bool, attempt: str | None, advisory: bool) -> bool:
    """Whether a gate request judges an agent's work: said so by the caller (the queue, for a
    worker branch's entry), an attempt of the floor, an agent's own run, or a worker branch."""
    return agent or attempt is not None or advisory or is_worker_branch(rev)


def touched(files: dict[str, FileDiff]) -> list[str]:
    """The floor's files the diff changes (a rename away from one changes it too)."""
    paths = set(files) | {d.old_path for d in files.values() if d.old_path}
    return sorted(path for path in paths if why(path))


def why(path: str) -> str | None:
    """Why an agent may not change ``path``; None: it may."""
    return WHY.get(path) or next((said for top, said in WHY_UNDER.items() if path.startswith(top)), None)


def check(files: dict[str, FileDiff]) -> CheckResult:
    problems = [f"{path}: {why(path)}: {FIX.format(path=path)}" for path in touched(files)]
    if not problems:
        return CheckResult(NAME, "pass", builtin=True)
    text = "\n".join(problems)
    return CheckResult(NAME, "fail", excerpt=text, signature=signature(NAME, text, "fail"), builtin=True)
