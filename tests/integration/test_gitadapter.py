"""The one git adapter (``shopfloor.git``), on real repositories in tmp_path."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shopfloor import git
from shopfloor.errors import NotFoundError, ShopfloorError, UsageError


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    for argv in (
        ["init", "-q", "-b", "main"],
        ["config", "user.name", "t"],
        ["config", "user.email", "t@t"],
        ["commit", "-q", "--allow-empty", "-m", "start"],
    ):
        subprocess.run(["git", *argv], cwd=repo, check=True, capture_output=True)
    return repo


def test_a_failed_command_is_one_error_naming_the_command_and_gits_own_line(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    with pytest.raises(git.GitError) as caught:
        git.run(repo, "-c", "user.name=x", "cat-file", "-p", "no-such-object")
    message = str(caught.value)
    assert message.startswith("git cat-file -p failed: fatal: ")  # the -c pair is not the command
    assert "\n" not in message
    assert caught.value.command == "cat-file -p"
    assert caught.value.returncode != 0
    assert isinstance(caught.value, ShopfloorError)  # the CLI reports it as one line, exit 1
    with pytest.raises(git.GitError, match=r"^git hash-object --stdin failed: "):
        git.run_bytes(repo, "hash-object", "--stdin", "--no-such-option", data=b"x")
    assert git.run(repo, "cat-file", "-p", "no-such-object", check=False).returncode != 0  # check=False: no raise


def test_a_revision_that_does_not_exist_is_a_clear_not_found(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    with pytest.raises(NotFoundError, match=r"unknown base 'nope': check the branch or commit name"):
        git.resolve(repo, "nope", "base")
    with pytest.raises(NotFoundError, match=r"unknown target 'nope': there is no branch of that name"):
        git.resolve_branch(repo, "nope", "target")
    assert git.sha(repo, "nope") is None
    assert git.show(repo, "nope", "README") is None
    commit, tree = git.resolve(repo, "main", "base")
    assert commit == git.output(repo, "rev-parse", "HEAD") and len(tree) == 40


def test_a_revision_that_reads_as_an_option_never_reaches_git(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    out = tmp_path / "written"
    hostile = f"--output={out}"
    with pytest.raises(NotFoundError, match="is not a revision"):
        git.resolve(repo, hostile, "base")
    assert git.sha(repo, hostile) is None
    assert git.show(repo, hostile, "x") is None
    assert git.merge_base(repo, hostile, "main") == hostile  # no git ran with it
    assert not git.is_branch(repo, hostile)
    assert not out.exists()


@pytest.mark.parametrize(
    "name",
    ["", "-f", "a b", "a..b", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b", "a\nb", "a\0b", "a/", "/a", "a//b",
     "a.", ".a", "a/.b", "a.lock", "a/b.lock", "@", "a@{1}", "a\x7f"],
)  # fmt: skip
def test_a_branch_name_git_would_refuse_is_refused_before_git(tmp_path: Path, name: str) -> None:
    assert git.ref_problem(name) is not None
    with pytest.raises(UsageError, match="is not a branch name"):
        git.branch_ref(name)
    assert not git.is_branch(tmp_path, name)  # answered without git: tmp_path is no repository
    with pytest.raises(NotFoundError, match="is not a branch name"):
        git.resolve_branch(tmp_path, name, "target")


def test_a_good_branch_name_becomes_its_full_ref_and_matches_gits_own_rules(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    for name in ("main", "floor/sf-1", "floor/sf-1-try2", "refs/heads/main", "a.b/c_d", "ünï"):
        assert git.ref_problem(name.removeprefix("refs/heads/")) is None
        assert git.branch_ref(name) == "refs/heads/" + name.removeprefix("refs/heads/")
        assert subprocess.run(["git", "check-ref-format", "--branch", name.removeprefix("refs/heads/")]).returncode == 0
    for bad in ("a..b", "a b", "a.lock", "a~1", ".a"):
        assert subprocess.run(["git", "check-ref-format", "--branch", bad], capture_output=True).returncode != 0
    assert git.is_branch(repo, "main") and not git.is_branch(repo, "other")
    assert git.named_ref("HEAD") == "HEAD"
    assert git.named_ref("main") == "refs/heads/main"
    sha = git.output(repo, "rev-parse", "HEAD")
    assert git.named_ref(sha) == sha


def test_a_tag_never_stands_in_for_the_branch_of_its_name(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    first = git.output(repo, "rev-parse", "HEAD")
    git.run(repo, "tag", "work")
    git.run(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "two")
    git.run(repo, "branch", "work")
    second = git.output(repo, "rev-parse", "HEAD")
    assert git.resolve_named(repo, "work", "rev")[0] == second  # the branch, not the tag
    assert git.resolve(repo, "refs/tags/work", "rev")[0] == first


def test_git_runs_without_the_repositorys_hooks_prompts_or_lazy_fetch(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    hooks = repo / "myhooks"
    hooks.mkdir()
    ran = tmp_path / "hook-ran"
    hook = hooks / "post-commit"
    hook.write_text(f"#!/bin/sh\ntouch {ran}\n")
    hook.chmod(0o755)
    git.run(repo, "config", "core.hooksPath", "myhooks")
    git.run(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x")
    assert not ran.exists()
    assert git.hooks_dir(repo) == str(repo / "myhooks")  # the one question asked with hooks standing
    env = git.run(repo, "var", "GIT_PAGER", hooks=True).stdout.strip()
    assert env == "cat"
    seen = git.environment({"PATH": "/usr/bin:/bin"})
    assert seen["GIT_NO_LAZY_FETCH"] == "1" and seen["GIT_TERMINAL_PROMPT"] == "0"


def test_commit_tree_takes_names_from_its_arguments_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _repo(tmp_path)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "leaked")
    tree = git.output(repo, "rev-parse", "HEAD^{tree}")
    parent = git.output(repo, "rev-parse", "HEAD")
    message = "subject; $(touch pwned)\n\n# not a comment\n"
    commit = git.commit_tree(repo, tree, parent, message, ("Ann", "ann@x"), ("Queue", "q@x"))
    shown = git.output(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%B", commit)
    assert shown.startswith("Ann <ann@x>|Queue <q@x>|subject; $(touch pwned)")
    assert "# not a comment" in shown
    assert not (repo / "pwned").exists()


def test_a_worktree_is_added_detached_listed_and_removed(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    head = git.output(repo, "rev-parse", "HEAD")
    where = tmp_path / "runs" / "wt"
    git.add_worktree(repo, where, head)
    assert git.output(where, "rev-parse", "HEAD") == head
    assert git.checked_out(repo) == {"main": str(repo)}  # a detached worktree holds no branch
    git.remove_worktree(repo, where)
    assert not where.exists()
    assert "wt" not in git.output(repo, "worktree", "list")


def test_a_directory_that_is_gone_is_named(tmp_path: Path) -> None:
    with pytest.raises(ShopfloorError, match=r"the directory .*gone is gone: cannot run git there"):
        git.run(tmp_path / "gone", "status")


def test_default_branch_and_merge_base(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    base = git.output(repo, "rev-parse", "HEAD")
    git.run(repo, "checkout", "-q", "-b", "side")
    git.run(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "side")
    assert git.merge_base(repo, "main", "side") == base
    git.run(repo, "config", "init.defaultBranch", "trunk")
    assert git.default_branch(repo) == "trunk"


def test_a_held_lock_is_told_from_a_lost_compare_and_swap() -> None:
    assert git.locked("error: could not lock config file .git/config: File exists")
    assert not git.locked("fatal: cannot lock ref 'refs/heads/main': is at 1 but expected 2")
    assert git.stderr_line("hint: x\nfatal: the reason\nhint: y") == "fatal: the reason"
    assert git.stderr_line("") == "no message"
