"""The files an agent's change may never touch (``gate.floorfiles``): pure, over parsed diffs."""

from __future__ import annotations

import pytest

from shopfloor.gate.diffs import FileDiff
from shopfloor.gate.floorfiles import check


def diff(*changes: FileDiff) -> dict[str, FileDiff]:
    return {d.path: d for d in changes}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (FileDiff(".shopfloor/issues.jsonl"), "only the floor writes the tracker"),
        (FileDiff("AGENTS.md", "A"), "every later agent is briefed with it"),
        # A retro is the floor's record: written by an agent (a fake one for a finished issue, or
        # its own), deleted, or renamed away, it would speak for the floor to every later agent.
        (FileDiff(".agents/retros/t-1.md", "A"), "only the floor writes retros"),
        (FileDiff(".agents/retros/t-2.md", "D"), "only the floor writes retros"),
        (FileDiff("notes/old.md", "R", old_path=".agents/retros/t-3.md"), "only the floor writes retros"),
    ],
)
def test_an_agents_change_to_a_floor_file_fails_naming_the_file_and_why(change: FileDiff, named: str) -> None:
    result = check(diff(FileDiff("src/app.py"), change))
    path = change.old_path or change.path
    assert result.status == "fail" and f"{path}: {named}" in result.excerpt
    assert "src/app.py" not in result.excerpt and result.signature


@pytest.mark.parametrize(
    "path", [".agents/research/tips.md", ".agents/plans/goal.md", ".agents/README.md", "docs/retros/x.md", "retros.md"]
)
def test_the_agents_own_notes_and_plans_and_lookalikes_pass(path: str) -> None:
    assert check(diff(FileDiff(path, "A"))).status == "pass"
