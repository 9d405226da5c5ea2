"""A worker's workspace is a clone it owns: its refs are not the main repository's, and only
the floor brings its branch back, one ref, hooks off (real git)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import base_env
from shopfloor.errors import ConflictError, ShopfloorError
from shopfloor.workspace import worktrees


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in base_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    path = tmp_path / "project"
    path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    (path / "README.md").write_text("hi\n")
    subprocess.run(["git", "add", "-A"], cwd=path, check=True)
    subprocess.run(["git", "commit", "-qm", "start"], cwd=path, check=True)
    return path


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def refs(repo: Path) -> dict[str, str]:
    lines = git(repo, "for-each-ref", "--format=%(refname) %(objectname)").splitlines()
    return dict(line.split(" ", 1) for line in lines)


def commit(cwd: Path, name: str, text: str = "x\n") -> str:
    (cwd / name).write_text(text)
    git(cwd, "add", name)
    git(cwd, "commit", "-qm", f"add {name}")
    return git(cwd, "rev-parse", "HEAD")


def test_the_workspace_is_a_shared_clone_with_refs_of_its_own(repo: Path) -> None:
    space = worktrees.create(repo, "sf-1")
    alternates = (space.path / ".git" / "objects" / "info" / "alternates").read_text().strip()
    assert Path(alternates).resolve() == (repo / ".git" / "objects").resolve()
    assert git(space.path, "symbolic-ref", "HEAD") == "refs/heads/floor/sf-1"
    assert git(repo, "config", "branch.floor/sf-1.shopfloor-issue") == "sf-1"


def test_moving_refs_in_the_workspace_leaves_the_main_repository_alone(repo: Path) -> None:
    before = refs(repo)
    space = worktrees.create(repo, "sf-2")
    before["refs/heads/floor/sf-2"] = before["refs/heads/main"]
    tip = commit(space.path, "evil.txt")
    git(space.path, "update-ref", "refs/heads/main", "HEAD")
    git(space.path, "branch", "-f", "other", "HEAD")
    git(space.path, "tag", "main", "HEAD")
    git(space.path, "tag", "v9", "HEAD")
    git(space.path, "update-ref", "refs/heads/floor/sf-9", "HEAD")
    assert git(space.path, "rev-parse", "refs/heads/main") == tip  # it moved its own main only
    assert refs(repo) == before


def test_fetch_back_brings_exactly_the_workers_branch(repo: Path) -> None:
    space = worktrees.create(repo, "sf-3")
    commit(space.path, "work.txt")
    git(space.path, "update-ref", "refs/heads/main", "HEAD")
    git(space.path, "tag", "main", "HEAD")
    git(space.path, "tag", "-a", "-m", "annotated", "v1", "HEAD")
    git(space.path, "branch", "side", "HEAD")
    git(space.path, "commit", "-q", "--amend", "-m", "rewritten by the agent")  # forced: a rewrite comes back
    tip = git(space.path, "rev-parse", "HEAD")
    expected = refs(repo) | {"refs/heads/floor/sf-3": tip}
    assert worktrees.fetch_back(repo, "sf-3") == tip
    assert refs(repo) == expected
    assert not (repo / ".git" / "FETCH_HEAD").exists()
    assert git(repo, "log", "-1", "--format=%s", "refs/heads/floor/sf-3") == "rewritten by the agent"


def test_fetch_back_says_what_is_missing(repo: Path) -> None:
    with pytest.raises(ShopfloorError, match="no workspace for sf-4"):
        worktrees.fetch_back(repo, "sf-4")
    space = worktrees.create(repo, "sf-4")
    git(space.path, "checkout", "-q", "--detach")
    git(space.path, "branch", "-D", "floor/sf-4")
    with pytest.raises(ShopfloorError, match="has no branch floor/sf-4"):
        worktrees.fetch_back(repo, "sf-4")


def test_hooks_of_the_workspace_never_run_when_the_floor_brings_work_back(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "hook-ran"
    hook = f'#!/bin/sh\necho "$0" >> {marker}\n'
    space = worktrees.create(repo, "sf-5")
    names = ("post-commit", "post-merge", "post-checkout", "reference-transaction", "pre-commit", "pre-push")
    for hooks in (space.path / ".githooks", space.path / ".git" / "hooks", repo / ".git" / "hooks"):
        hooks.mkdir(exist_ok=True)
        for name in names:
            (hooks / name).write_text(hook)
            (hooks / name).chmod(0o755)
    git(space.path, "config", "core.hooksPath", ".githooks")  # husky style, relative to the work tree
    commit(space.path, "work.txt")
    assert marker.exists()  # the hooks are live for the agent's own git
    marker.unlink()
    worktrees.fetch_back(repo, "sf-5")
    (space.path / "dirty.txt").write_text("uncommitted\n")
    worktrees.remove(repo, "sf-5", force=True)  # commits a wip in the workspace, then fetches it
    assert not marker.exists()
    assert git(repo, "show", "refs/heads/floor/sf-5:dirty.txt") == "uncommitted"
    git(repo, "fetch", "-q", str(repo), "refs/heads/main:refs/heads/copy")  # the main repository's hooks are live
    assert marker.exists()


def test_remove_refuses_work_only_the_workspace_holds_and_keeps_it_when_forced(repo: Path) -> None:
    space = worktrees.create(repo, "sf-6")
    tip = commit(space.path, "done.txt")
    with pytest.raises(ConflictError, match=r"1 commit\(s\) not in HEAD"):
        worktrees.remove(repo, "sf-6")
    assert space.path.exists() and git(repo, "rev-parse", "refs/heads/floor/sf-6") == tip  # brought back, kept
    git(space.path, "checkout", "-q", "-b", "side")
    side = commit(space.path, "side.txt")
    git(space.path, "checkout", "-q", "floor/sf-6")
    with pytest.raises(ConflictError, match=r"1 commit\(s\) on side \(only in the workspace\)"):
        worktrees.remove(repo, "sf-6")
    assert worktrees.remove(repo, "sf-6", force=True) is None
    assert not space.path.exists()
    assert git(repo, "rev-parse", "refs/heads/floor/sf-6") == tip
    assert git(repo, "rev-parse", "refs/floor-wip/sf-6-branches/side") == side


def test_remove_keeps_a_detached_wip(repo: Path) -> None:
    space = worktrees.create(repo, "sf-7")
    git(space.path, "checkout", "-q", "--detach")
    (space.path / "loose.txt").write_text("loose\n")
    with pytest.raises(ConflictError, match="uncommitted changes"):
        worktrees.remove(repo, "sf-7")
    wip = worktrees.remove(repo, "sf-7", force=True)
    assert wip and git(repo, "rev-parse", "refs/floor-wip/sf-7") == wip
    assert git(repo, "show", "refs/floor-wip/sf-7:loose.txt") == "loose"


def test_reuse_checks_the_clone_and_its_branch(repo: Path, tmp_path: Path) -> None:
    space = worktrees.ensure(repo, "sf-8")
    assert worktrees.ensure(repo, "sf-8").path == space.path
    git(space.path, "checkout", "-q", "-b", "elsewhere")
    with pytest.raises(ConflictError, match="is on elsewhere, not floor/sf-8"):
        worktrees.ensure(repo, "sf-8")
    stranger = tmp_path / "stranger"
    subprocess.run(["git", "init", "-q", str(stranger)], check=True)
    subprocess.run(["git", "clone", "-q", "--shared", str(stranger), str(worktrees.path_for(repo, "sf-9"))], check=True)
    with pytest.raises(ConflictError, match="not a shared clone of this repository"):
        worktrees.ensure(repo, "sf-9")
    git(repo, "worktree", "add", "-q", "-b", "floor/old", str(worktrees.path_for(repo, "old")))
    with pytest.raises(ConflictError, match=r"is a git worktree \(from an older shopfloor\), not a clone"):
        worktrees.ensure(repo, "old")


def test_a_branch_left_in_main_is_checked_out_again_and_discard_keeps_it(repo: Path) -> None:
    first = worktrees.create(repo, "sf-10")
    tip = commit(first.path, "kept.txt")
    worktrees.remove(repo, "sf-10", force=True)
    again = worktrees.ensure(repo, "sf-10")
    assert again.created and not again.new_branch
    assert git(again.path, "rev-parse", "HEAD") == tip and (again.path / "kept.txt").exists()
    worktrees.discard(repo, again)
    assert not again.path.exists() and git(repo, "rev-parse", "refs/heads/floor/sf-10") == tip
    fresh = worktrees.ensure(repo, "sf-11")
    worktrees.discard(repo, fresh)
    assert not fresh.path.exists() and "refs/heads/floor/sf-11" not in refs(repo)
    owner = subprocess.run(["git", "config", "branch.floor/sf-11.shopfloor-issue"], cwd=repo, check=False)
    assert owner.returncode == 1  # its ownership went with it
