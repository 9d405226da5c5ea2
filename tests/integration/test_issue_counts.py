"""Counts of issues in human output say `1 issue`, never `1 issues`."""

from __future__ import annotations

from pathlib import Path

from conftest import Runner


def test_one_issue_is_singular_and_more_are_plural(sf: Runner, tmp_path: Path) -> None:
    plan = tmp_path / "plan.jsonl"
    plan.write_text('{"title": "only one"}\n')
    assert sf("create", "-f", str(plan)).stdout.startswith(f"created 1 issue from {plan}:\n")
    assert sf("export").stdout.startswith("exported 1 issue to ")
    assert sf("stats").stdout.startswith("1 issue: 1 ready, 0 blocked\n")
    plan.write_text('{"title": "two"}\n{"title": "three"}\n')
    assert sf("create", "-f", str(plan)).stdout.startswith(f"created 2 issues from {plan}:\n")
    assert sf("export").stdout.startswith("exported 3 issues to ")
    assert sf("stats").stdout.startswith("3 issues: 3 ready, 0 blocked\n")
