"""Git cannot be steered by the candidate: no hook of a candidate ever runs while it is gated or
landed, and a tag or remote-tracking ref named like the target never stands in for the branch.

Real git repositories and the real `shopfloor` command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Runner
from gatekit import status

GATE = """
[gate]
builtins = []  # .githooks is a protected path: approval is not what these tests are about

[[gate.check]]
name = "no-fixme"
argv = ["sh", "-c", "! grep -rq FIXME --include=*.txt ."]
timeout = 60
"""
# Only the branch's newer config has it: a gate that reads it read the branch, not the old ref.
BRANCH_RULE = """
[[gate.check]]
name = "branch-rule"
argv = ["sh", "-c", "test ! -e forbidden.txt"]
timeout = 60
"""
HOOKS = ("post-commit", "post-checkout", "post-merge", "reference-transaction", "post-rewrite", "pre-commit")


@pytest.fixture
def repo(sf: Runner) -> Runner:
    config = sf.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + GATE)
    (sf.cwd / "shared.txt").write_text("one\n")
    sf.git("add", "-A")
    sf.git("commit", "-qm", "base with a gate")
    return sf


def _branch(runner: Runner, name: str, files: dict[str, str], base: str = "refs/heads/main") -> str:
    runner.git("checkout", "-q", "-b", name, base)
    for path, text in files.items():
        (runner.cwd / path).parent.mkdir(parents=True, exist_ok=True)
        (runner.cwd / path).write_text(text)
    runner.git("add", "-A")
    runner.git("commit", "-qm", f"work on {name}")
    runner.git("checkout", "-q", "main")
    return name


def _husky_candidate(runner: Runner, markers: Path) -> str:
    """A branch that commits husky-style hooks in .githooks, each writing a marker outside the
    repository; the repository's config then points core.hooksPath at them, as husky does."""
    markers.mkdir()
    runner.git("checkout", "-q", "-b", "husky", "main")
    hooks = runner.cwd / ".githooks"
    hooks.mkdir()
    for name in HOOKS:
        hook = hooks / name
        hook.write_text(f'#!/bin/sh\necho "$@" >> "{markers / name}"\nexit 0\n')
        hook.chmod(0o755)
    (runner.cwd / "husky.txt").write_text("husky\n")
    runner.git("add", "-A")
    runner.git("commit", "-qm", "add husky hooks")  # hooksPath is not set yet: nothing runs
    runner.git("checkout", "-q", "main")
    runner.git("config", "core.hooksPath", ".githooks")  # main's tree has no .githooks: still nothing
    return "husky"


def _ran(markers: Path) -> list[str]:
    return sorted(p.name for p in markers.iterdir())


@pytest.mark.parametrize("strategy", ["rebase", "squash"])
def test_no_candidate_hook_runs_while_gating_and_landing(repo: Runner, tmp_path: Path, strategy: str) -> None:
    config = repo.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + f'\n[queue]\nstrategy = "{strategy}"\n')
    repo.git("commit", "-qam", f"{strategy} landings")
    markers = tmp_path / "markers"
    husky = _husky_candidate(repo, markers)
    (repo.cwd / "other.txt").write_text("main moves on\n")
    repo.git("add", "other.txt")
    repo.git("commit", "-qm", "main moves on")  # the candidate is cherry-picked onto the new tip
    assert _ran(markers) == []
    report = repo.json("gate", "run", husky, check=False)
    assert status(report)["no-fixme"] == "pass", report
    repo.json("queue", "add", husky)
    result = repo.json("queue", "run", "--once")
    assert len(result["landed"]) == 1, result
    assert _ran(markers) == [], "candidate hooks ran during gating or landing"
    assert repo.git("show", "refs/heads/main:husky.txt") == "husky"
    assert (repo.cwd / ".githooks" / "post-merge").exists()  # main's checkout followed the landing


def test_no_candidate_hook_runs_when_a_worker_worktree_is_made(repo: Runner, tmp_path: Path) -> None:
    from shopfloor.workspace import worktrees

    markers = tmp_path / "markers"
    husky = _husky_candidate(repo, markers)
    space = worktrees.create(repo.cwd, "t-hook", base=husky)
    assert (space.path / ".githooks" / "post-checkout").exists()
    (space.path / "dirty.txt").write_text("unsaved\n")
    worktrees.remove(repo.cwd, "t-hook", force=True, target="main")  # commits a wip: and removes
    assert _ran(markers) == [], "candidate hooks ran in the workspace's git commands"


def _old_and_new(repo: Runner) -> tuple[str, str]:
    """(old, new): ``main`` as the repo fixture made it, then ``main`` with the branch rule."""
    old = repo.git("rev-parse", "refs/heads/main")
    config = repo.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + BRANCH_RULE)
    repo.git("commit", "-qam", "the branch's own rule")
    return old, repo.git("rev-parse", "refs/heads/main")


def test_a_tag_named_main_never_stands_in_for_the_branch(repo: Runner) -> None:
    old, new = _old_and_new(repo)
    repo.git("tag", "main", old)
    bad = _branch(repo, "bad", {"forbidden.txt": "x\n"})
    report = repo.json("gate", "run", bad, check=False)
    assert report["base_commit"] == new and status(report)["branch-rule"] == "fail"
    good = _branch(repo, "good", {"good.txt": "good\n"})
    repo.git("tag", "good", old)  # a tag named like the candidate branch: the branch is what is gated
    assert repo.json("gate", "run", good)["commit"] == repo.git("rev-parse", "refs/heads/good")
    repo.json("queue", "add", good)
    result = repo.json("queue", "run", "--once")
    assert len(result["landed"]) == 1, result
    landed = repo.git("rev-parse", "refs/heads/main")
    assert repo.git("rev-parse", f"{landed}^") == new  # built on the branch, not on the tag
    assert repo.git("show", f"{landed}:good.txt") == "good"
    assert repo.git("rev-parse", "refs/tags/main") == old  # the tag is left alone


def test_a_remote_named_main_never_stands_in_for_the_target(repo: Runner) -> None:
    # The target branch is trunk; a remote called "main" (refs/remotes/main/HEAD) and an origin's
    # remote-tracking main sit on the old commit. Neither is the target.
    old, new = _old_and_new(repo)
    repo.git("branch", "-m", "main", "trunk")
    repo.git("config", "init.defaultBranch", "trunk")
    repo.git("update-ref", "refs/remotes/main/HEAD", old)
    repo.git("update-ref", "refs/remotes/origin/main", old)
    repo.git("checkout", "-q", "-b", "bad", "trunk")
    (repo.cwd / "forbidden.txt").write_text("x\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "bad")
    repo.git("checkout", "-q", "trunk")
    report = repo.json("gate", "run", "bad", check=False)
    assert report["base"] == "trunk" and report["base_commit"] == new
    assert status(report)["branch-rule"] == "fail"
    repo.git("checkout", "-q", "-b", "good", "trunk")
    (repo.cwd / "good.txt").write_text("good\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "good")
    repo.git("checkout", "-q", "trunk")
    repo.json("queue", "add", "good")
    result = repo.json("queue", "run", "--once")
    assert len(result["landed"]) == 1, result
    assert repo.git("rev-parse", "refs/heads/trunk^") == new
    assert repo.git("rev-parse", "refs/remotes/main/HEAD") == old
    assert repo.git("rev-parse", "refs/remotes/origin/main") == old
