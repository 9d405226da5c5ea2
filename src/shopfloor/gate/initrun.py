"""``gate init`` tries every proposed check on the target before it writes the gate.

A gate that fails on the untouched target would fail every change, so each proposal is run
there once (``baseline.results_on``, which also caches the results as the target's baseline)
and given an action:
- **kept**: it passes;
- **kept as a differential baseline**: it fails with findings this gate can parse, so changes
  are judged on the findings they add (the ones already there are counted, not blamed);
- **dropped: tool missing**: its command (or Python module) is not installed;
- **dropped: cannot pass**: it fails with output that holds no findings, errors, or times out.

``action_for`` is pure; ``try_on_target`` is the edge that runs the checks.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopfloor import git
from shopfloor.errors import NotFoundError, ShopfloorError
from shopfloor.gate.baseline import results_on
from shopfloor.gate.config import Check
from shopfloor.gate.detect import Proposal
from shopfloor.gate.gating import repo_of, resolve_base
from shopfloor.gate.results import CheckResult
from shopfloor.paths import gate_dir
from shopfloor.progress import Progress
from shopfloor.tracker.service import Tracker

KEPT = "kept"
BASELINE = "kept as a differential baseline"
MISSING = "dropped: tool missing"
CANNOT = "dropped: cannot pass"
NOT_RUN = "not run"
_NO_MODULE = re.compile(r"No module named '?([\w.]+)'?")


@dataclass(frozen=True)
class Tried:
    """One proposal and how it fared on the target."""

    proposal: Proposal
    status: str  # pass, fail, error, timeout; "not run" with --no-run
    preexisting: int | None = None  # findings it reports on the untouched target
    duration_s: float | None = None
    action: str = KEPT
    excerpt: str = ""

    @property
    def kept(self) -> bool:
        return self.action in (KEPT, BASELINE)

    @property
    def reason(self) -> str:
        """Why a dropped check is off: the action and the line of output that says why."""
        detail = why_line(self.excerpt)
        where = "here (not installed)" if self.action == MISSING else "on the target"
        return f"{self.action.removeprefix('dropped: ')} {where}" + (f" ({detail})" if detail else "")

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.proposal.name,
            "argv": list(self.proposal.argv),
            "status": self.status,
            "preexisting": self.preexisting,
            "duration_s": self.duration_s,
            "action": self.action,
            "why": self.proposal.why,  # what shows the project uses it
            "reason": why_line(self.excerpt) if not self.kept else "",  # why it was dropped
        }


_SAYS_WHY = ("command not found", "command not executable", "timed out", "no readable junit", "no test")


def why_line(excerpt: str) -> str:
    lines = [line.strip() for line in excerpt.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(_SAYS_WHY):
            return line
        module = _NO_MODULE.search(line)
        if module:
            return f"{module.group(0)}: install what it imports, then `shopfloor gate init --force`"
    return lines[-1][:200] if lines else ""


def as_check(proposal: Proposal) -> Check:
    """The check exactly as the gate will parse it from the written config (so the baseline
    cached now is found again by later gate runs)."""
    return Check(
        name=proposal.name,
        argv=proposal.argv,
        timeout_s=float(proposal.timeout),
        paths=proposal.paths,
        setup=proposal.setup,
        fast=proposal.fast,
        junit=proposal.junit,
    )


def _missing_tool(proposal: Proposal, result: CheckResult) -> bool:
    if "command not found:" in result.excerpt:
        return True
    argv = proposal.argv
    module = argv[2] if len(argv) > 2 and argv[1] == "-m" else None
    return module is not None and any(m.group(1) == module for m in _NO_MODULE.finditer(result.excerpt))


def action_for(proposal: Proposal, result: CheckResult) -> Tried:
    """What ``gate init`` does with a check, given its result on the untouched target."""
    found = len(result.findings) if result.findings is not None else None
    if result.status == "pass":
        action, found = KEPT, 0
    elif _missing_tool(proposal, result):
        action = MISSING
    elif result.status == "fail" and found and not _no_test_passes(result):
        action = BASELINE
    else:
        action = CANNOT
    excerpt = result.excerpt
    if result.status == "fail" and _no_test_passes(result):
        # Every test fails or cannot even be collected: as a baseline it would forgive any breakage.
        excerpt = _collection_errors(result) + excerpt
    return Tried(proposal, result.status, found, result.duration_s, action, excerpt)


def _no_test_passes(result: CheckResult) -> bool:
    if result.junit is None:
        return False
    collected, failed, skipped = result.junit
    return collected - failed - skipped <= 0


def _collection_errors(result: CheckResult) -> str:
    """A first line saying why no test passes: the first import error, or that every test fails."""
    detail = next(
        (d for f in result.findings or () if f.test and "::" not in f.test for d in reversed(f.detail) if d),
        "",
    )
    if detail:
        return f"no test passes on the target: {detail}: fix what it imports\n"
    collected = result.junit[0] if result.junit else 0
    return f"no test passes on the target: all {collected} fail\n" if collected else ""


def not_run(proposals: list[Proposal]) -> list[Tried]:
    return [Tried(p, NOT_RUN) for p in proposals]


class NoCommitError(ShopfloorError):
    """The repository has no commit yet: there is no target branch."""


def target_of(repo: Path, then: str = "run `shopfloor gate init`") -> tuple[str, str, str]:
    """The target's (branch, commit, tree), as the gate finds it; one line if there is no commit yet."""

    if git.run(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False).returncode != 0:
        raise NoCommitError(
            f"this repository has no commit yet, so it has no target branch: commit the project, then {then}"
        )
    try:
        name, commit, _ = resolve_base(repo, None)
    except NotFoundError:
        # No gate config names a target yet: the branch the gate would fall back to.
        name = "main" if git.is_branch(repo, "main") else git.default_branch(repo)
        commit, _ = git.resolve_branch(repo, name, "target")
    _, tree = git.resolve(repo, commit, "target")
    return name, commit, tree


def try_on_target(
    tracker: Tracker, proposals: list[Proposal], target: tuple[str, str, str], run_dir: Path, progress: Progress
) -> list[Tried]:
    """Run every proposal on the target's commit (in a throw-away worktree) and judge each."""

    _, commit, tree = target
    checks = [as_check(p) for p in proposals]
    try:
        results = results_on(tracker, repo_of(tracker), commit, tree, checks, run_dir, progress)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    out = []
    for proposal in proposals:
        result = results.get(proposal.name)
        if result is None:  # not expected: every check gives a result
            result = CheckResult(proposal.name, "error", excerpt="no result")
        out.append(action_for(proposal, result))
    return out


def run_dir_for(tracker: Tracker) -> Path:
    """Beside the repository, where the gate keeps its runs (a dead run's directory is swept)."""
    return gate_dir(tracker) / f"run-{os.getpid()}-{time.time_ns()}"
