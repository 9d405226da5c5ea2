"""Worker workspaces with real git: safe names, clones outside the tree, no lost work."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import base_env
from shopfloor.errors import ConflictError
from shopfloor.workspace import worktrees
from shopfloor.workspace.naming import branch_for, is_safe_ref_part, safe_name


@given(st.text(max_size=200))
def test_any_issue_id_gives_a_safe_ref_and_a_path_inside_the_root(issue_id: str) -> None:
    name = safe_name(issue_id)
    assert is_safe_ref_part(name) and "/" not in name and len(name) <= 80
    assert branch_for(issue_id) == "floor/" + name
    root = Path("/srv/repo.floor")
    assert (root / name).resolve().parent == root.resolve()


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


def test_create_puts_a_clone_beside_the_main_tree_on_its_branch(repo: Path) -> None:
    space = worktrees.create(repo, "sf-a3f8")
    assert space.path == (repo.parent / "project.floor" / "sf-a3f8").resolve()
    assert git(space.path, "branch", "--show-current") == "floor/sf-a3f8"
    assert (space.path / ".git").is_dir() and git(repo, "worktree", "list").count("\n") == 0  # a clone
    assert git(repo, "rev-parse", "floor/sf-a3f8") == git(repo, "rev-parse", "main")  # made in main too
    assert not str(space.path).startswith(str(repo.resolve()) + "/")
    hostile = worktrees.create(repo, "../../etc/passwd; rm -rf ~")
    assert hostile.path.parent == (repo.parent / "project.floor").resolve()
    assert git(hostile.path, "branch", "--show-current") == branch_for("../../etc/passwd; rm -rf ~")


def test_a_branch_made_for_another_issue_is_refused(repo: Path) -> None:
    space = worktrees.create(repo, "sf-1")
    worktrees.remove(repo, "sf-1")
    git(repo, "config", "branch.floor/sf-1.shopfloor-issue", "sf-other")
    with pytest.raises(ConflictError, match="belongs to issue sf-other"):
        worktrees.create(repo, "sf-1")
    assert not space.path.exists()


def test_removing_unmerged_work_is_refused_and_changes_nothing(repo: Path) -> None:
    space = worktrees.create(repo, "sf-2")
    (space.path / "work.txt").write_text("half done\n")
    head = git(space.path, "rev-parse", "HEAD")
    with pytest.raises(ConflictError, match="uncommitted changes"):
        worktrees.remove(repo, "sf-2")
    assert (space.path / "work.txt").exists() and git(space.path, "rev-parse", "HEAD") == head
    wip = worktrees.remove(repo, "sf-2", force=True)
    assert wip is not None and not space.path.exists()
    assert git(repo, "log", "-1", "--format=%s", "floor/sf-2").startswith("wip: sf-2")
    assert git(repo, "show", "floor/sf-2:work.txt") == "half done"


def test_committed_but_unlanded_work_needs_force_and_keeps_the_branch(repo: Path) -> None:
    space = worktrees.create(repo, "sf-3")
    (space.path / "done.txt").write_text("done\n")
    git(space.path, "add", "-A")
    git(space.path, "commit", "-qm", "the work")
    with pytest.raises(ConflictError, match="1 commit"):
        worktrees.remove(repo, "sf-3")
    assert worktrees.remove(repo, "sf-3", force=True) is None
    assert git(repo, "show", "floor/sf-3:done.txt") == "done"


def test_clean_merged_workspace_is_removed(repo: Path) -> None:
    space = worktrees.create(repo, "sf-4")
    assert worktrees.remove(repo, "sf-4") is None
    assert not space.path.exists()


def test_ids_that_clean_up_alike_still_get_different_names() -> None:
    assert safe_name("t-a3f8") == "t-a3f8" and safe_name("t-a3f8.1") == "t-a3f8.1"  # safe ids stay as they are
    pairs = [("t-a..b", "t-a.b"), ("t-x.lock", "t-x"), ("t/x", "t-x"), ("", "issue")]
    for one, two in pairs:
        assert safe_name(one) != safe_name(two)
