"""The tracker with real git: worktrees share one database, merges go through the driver,
pulls are imported automatically, and id collisions between branches are renamed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import Runner
from shopfloor.tracker.locate import find_repo
from test_cli import create


def commit_tracker(sf: Runner, message: str, cwd: Path | None = None) -> None:
    sf("export", cwd=cwd)
    sf.git("add", "-A", cwd=cwd)
    sf.git("commit", "-q", "--allow-empty", "-m", message, cwd=cwd)


def test_worktrees_share_one_database(sf: Runner, tmp_path: Path) -> None:
    commit_tracker(sf, "init")
    worktree = tmp_path / "wt"
    sf.git("worktree", "add", "-q", "-b", "floor/t-1", str(worktree))
    issue_id = create(sf, "made in main")
    assert [i["id"] for i in sf.json("list", cwd=worktree)] == [issue_id]
    other = create(sf, "made in the worktree", cwd=worktree)
    assert {i["id"] for i in sf.json("list")} == {issue_id, other}
    nested = worktree / "src" / "deep"
    nested.mkdir(parents=True)
    assert len(sf.json("list", cwd=nested)) == 2


def test_fast_repository_lookup_agrees_with_git(sf: Runner, tmp_path: Path) -> None:
    commit_tracker(sf, "init")
    worktree = tmp_path / "wt2"
    sf.git("worktree", "add", "-q", "-b", "floor/t-2", str(worktree))
    for where in (sf.cwd, worktree, sf.cwd / ".shopfloor"):
        top, common = find_repo(str(where))
        git_top = sf.git("rev-parse", "--show-toplevel", cwd=where)
        git_common = sf.git("rev-parse", "--path-format=absolute", "--git-common-dir", cwd=where)
        assert (Path(top).resolve(), Path(common).resolve()) == (Path(git_top).resolve(), Path(git_common).resolve())


def test_branch_edits_merge_through_the_driver(sf: Runner) -> None:
    issue_id = create(sf, "shared issue", "-p", "2")
    commit_tracker(sf, "add issue")
    sf.git("checkout", "-q", "-b", "feature")
    sf("update", issue_id, "--title", "renamed on the branch")
    sf("label", "add", issue_id, "from-branch")
    commit_tracker(sf, "branch edit")
    sf.git("checkout", "-q", "main")
    # Same database, so make main's edit in the file only, as another clone would have.
    path = sf.cwd / ".shopfloor" / "issues.jsonl"
    record = json.loads(path.read_text())
    assert record["title"] == "shared issue"
    record.update(priority=0, labels=["from-main"], updated_at="2098-01-01T00:00:00.000000Z")
    path.write_text(json.dumps(record, separators=(",", ":")) + "\n")
    sf.git("commit", "-q", "-am", "main edit")
    sf.git("merge", "-q", "--no-edit", "feature")
    merged = json.loads(path.read_text())
    assert merged["title"] == "renamed on the branch"
    assert merged["priority"] == 0
    assert merged["labels"] == ["from-branch", "from-main"]
    assert "<<<<<<<" not in path.read_text()


def test_git_pull_is_imported_automatically(tmp_path: Path, bare_runner: Runner) -> None:
    alice, bob = two_clones(tmp_path, bare_runner)
    assert bob.json("list") == []  # a fresh clone builds its database from the JSONL
    issue_id = create(alice, "from alice")
    commit_tracker(alice, "alice's issue")
    alice.git("push", "-q", "origin", "main")
    bob.git("pull", "-q", "origin", "main")
    listed = bob("list", "--json")
    assert [i["id"] for i in json.loads(listed.stdout)] == [issue_id]
    assert "imported issues.jsonl (1 new" in listed.stderr


def test_id_collision_between_branches_keeps_both(sf: Runner) -> None:
    commit_tracker(sf, "init")
    sf.git("checkout", "-q", "-b", "other")
    theirs = create(sf, "theirs")
    commit_tracker(sf, "theirs")
    sf.git("checkout", "-q", "main")
    # Main minted the very same id for a different issue (forced here; by chance it is rare).
    path = sf.cwd / ".shopfloor" / "issues.jsonl"
    other_line = json.loads(sf.git("show", "other:.shopfloor/issues.jsonl"))
    mine = dict(other_line, title="mine", created_by="main-agent", created_at="2026-01-01T00:00:00.000000Z")
    path.write_text(json.dumps(mine, separators=(",", ":")) + "\n")
    sf.git("commit", "-q", "-am", "mine")
    merge = subprocess.run(
        ["git", "merge", "--no-edit", "other"], cwd=sf.cwd, env=sf.env, capture_output=True, text=True, check=False
    )
    assert merge.returncode == 0, merge.stderr
    assert f"renamed {theirs} ->" in merge.stdout + merge.stderr
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted(r["title"] for r in records) == ["mine", "theirs"]
    assert len({r["id"] for r in records}) == 2


def two_clones(tmp_path: Path, bare_runner: Runner) -> tuple[Runner, Runner]:
    """alice and bob, each with a clone of one origin, set up and in step."""
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    alice = bare_runner
    alice("init", "--prefix", "t")
    commit_tracker(alice, "init")
    alice.git("remote", "add", "origin", str(origin))
    alice.git("push", "-q", "origin", "main")
    bob_dir = tmp_path / "bob"
    alice.git("clone", "-q", str(origin), str(bob_dir))
    bob = Runner(bob_dir, {**alice.env, "SHOPFLOOR_ACTOR": "bob"})
    bob("doctor", "--fix")  # a fresh clone registers its merge driver
    return alice, bob


def sync(runner: Runner, message: str) -> None:
    """export, commit, pull (merging through the driver), push: what an agent does at the end."""
    commit_tracker(runner, message)
    runner.git("pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    runner.git("push", "-q", "origin", "main")


def test_unexported_local_edits_survive_a_pull(tmp_path: Path, bare_runner: Runner) -> None:
    alice, bob = two_clones(tmp_path, bare_runner)
    issue_id = create(alice, "shared")
    sync(alice, "issue")
    bob.git("pull", "-q", "origin", "main")
    bob("comment", issue_id, "bob's important finding")
    sync(bob, "bob comments")
    # alice edits other fields in her database, does not export, then pulls bob's change.
    alice("update", issue_id, "-p", "0", "--notes", "alice notes")
    alice("label", "add", issue_id, "urgent")
    alice.git("pull", "-q", "origin", "main")
    shown = alice.json("show", issue_id)
    assert [c["text"] for c in shown["comments"]] == ["bob's important finding"]
    assert (shown["priority"], shown["notes"], shown["labels"]) == (0, "alice notes", ["urgent"])
    # ... and her next export carries both.
    commit_tracker(alice, "alice's edits")
    record = json.loads((alice.cwd / ".shopfloor" / "issues.jsonl").read_text())
    assert record["priority"] == 0 and record["comments"][0]["text"] == "bob's important finding"


def test_id_collision_converges_across_clones(tmp_path: Path, bare_runner: Runner) -> None:
    alice, bob = two_clones(tmp_path, bare_runner)
    mine = create(alice, "alice issue")
    commit_tracker(alice, "alice issue")
    # bob mints the very same id for a different issue (forced: by chance it is rare).
    theirs = create(bob, "bob issue")
    commit_tracker(bob, "bob issue")
    path = bob.cwd / ".shopfloor" / "issues.jsonl"
    path.write_text(path.read_text().replace(theirs, mine))
    bob("import")
    bob.git("commit", "-q", "-am", "bob's issue under the colliding id")
    bob.git("push", "-q", "origin", "main")
    for _ in range(2):
        sync(alice, "alice syncs")
        sync(bob, "bob syncs")
    for runner in (alice, bob):
        issues = {i["id"]: i["title"] for i in runner.json("list")}
        assert sorted(issues.values()) == ["alice issue", "bob issue"], issues
    assert {i["id"] for i in alice.json("list")} == {i["id"] for i in bob.json("list")}


def test_plan_file_issues_merge_and_import_cleanly(sf: Runner, tmp_path: Path) -> None:
    """Issues created together share created_at/created_by; a merge must not confuse them."""
    plan = tmp_path / "plan.md"
    plan.write_text("## one\n\n## two\n\n## three\n")
    ids = [i["id"] for i in sf.json("create", "-f", str(plan))]
    commit_tracker(sf, "plan")
    sf.git("checkout", "-q", "-b", "side")
    sf("update", ids[1], "--title", "two, edited on the side")
    commit_tracker(sf, "side edit")
    sf.git("checkout", "-q", "main")
    sf("label", "add", ids[2], "main-label")
    commit_tracker(sf, "main edit")
    sf.git("merge", "-q", "--no-edit", "side")
    listed = {i["id"]: i for i in sf.json("list")}
    assert sorted(listed) == sorted(ids)
    assert listed[ids[1]]["title"] == "two, edited on the side"
    assert listed[ids[2]]["labels"] == ["main-label"]


def test_child_id_collisions_across_three_clones_converge(tmp_path: Path, bare_runner: Runner) -> None:
    """Children of one parent get sequential ids, so clones collide on them routinely."""
    alice, bob = two_clones(tmp_path, bare_runner)
    carol_dir = tmp_path / "carol"
    alice.git("clone", "-q", str(tmp_path / "origin.git"), str(carol_dir))
    carol = Runner(carol_dir, {**alice.env, "SHOPFLOOR_ACTOR": "carol"})
    carol("doctor", "--fix")
    epic = create(alice, "epic", "-t", "epic")
    sync(alice, "epic")
    clones = {"alice": alice, "bob": bob, "carol": carol}
    for runner in (bob, carol):
        runner.git("pull", "-q", "origin", "main")
    for name in ("carol", "bob", "alice"):
        assert create(clones[name], f"child by {name}", "--parent", epic) == f"{epic}.1"
    for round_ in range(4):
        for name, runner in clones.items():
            runner("comment", f"{epic}.1", f"round {round_} {name}")  # whichever child is .1 here
            sync(runner, f"{name} round {round_}")
    for runner in clones.values():
        runner.git("pull", "-q", "origin", "main")
    views = [{i["id"]: i["title"] for i in r.json("list")} for r in clones.values()]
    assert sorted(views[0].values()) == ["child by alice", "child by bob", "child by carol", "epic"]
    assert views[0] == views[1] == views[2]
    origin_lines = alice.git("show", "origin/main:.shopfloor/issues.jsonl").splitlines()
    assert len(origin_lines) == 4


def test_reimporting_a_colliding_file_does_not_duplicate(sf: Runner, tmp_path: Path) -> None:
    mine = create(sf, "mine")
    sf("export")
    record = json.loads((sf.cwd / ".shopfloor" / "issues.jsonl").read_text())
    other = tmp_path / "other.jsonl"
    theirs = dict(record, title="theirs", created_by="elsewhere", created_at="2026-01-01T00:00:00.000000Z")
    other.write_text(json.dumps(theirs) + "\n")
    first = sf.json("import", "-i", str(other))
    assert len(first["renamed"]) == 1 and first["renamed"][0]["old"] == mine
    for _ in range(2):
        again = sf.json("import", "-i", str(other))
        assert again["renamed"] == [] and again["created"] == []
    assert sorted(i["title"] for i in sf.json("list")) == ["mine", "theirs"]


def test_checking_out_an_older_commit_does_not_revert_the_database(sf: Runner) -> None:
    issue_id = create(sf, "task")
    commit_tracker(sf, "task")
    old = sf.git("rev-parse", "HEAD")
    sf("close", issue_id, "-r", "done")
    sf("update", issue_id, "-p", "0")
    commit_tracker(sf, "closed")
    sf.git("checkout", "-q", old)
    assert sf.json("list") == []  # still closed while looking at the old commit
    sf.git("checkout", "-q", "main")
    shown = sf.json("show", issue_id)
    assert (shown["status"], shown["priority"]) == ("closed", 0)
    sf("export")
    assert sf.git("status", "--porcelain") == ""  # nothing to commit: no churn


def test_a_command_run_while_upstream_is_checked_out_loses_nothing(tmp_path: Path, bare_runner: Runner) -> None:
    """Mid-rebase or before a cherry-pick, the worktree briefly holds the upstream file."""
    alice, bob = two_clones(tmp_path, bare_runner)
    issue_id = create(alice, "Original")
    sync(alice, "issue")
    bob.git("pull", "-q", "origin", "main")
    alice("update", issue_id, "--title", "alice's title")
    sync(alice, "alice retitles")
    bob("update", issue_id, "-p", "0", "-d", "bob's description")
    commit_tracker(bob, "bob's edit")
    bob.git("fetch", "-q", "origin")
    bob.git("checkout", "-q", "origin/main")  # what a rebase checks out first
    bob("list")
    bob.git("checkout", "-q", "main")
    bob.git("merge", "-q", "--no-edit", "origin/main")
    shown = bob.json("show", issue_id)
    assert (shown["title"], shown["priority"], shown["description"]) == ("alice's title", 0, "bob's description")
    exported = tmp_path / "check.jsonl"
    bob("export", "-o", str(exported))
    assert exported.read_text() == (bob.cwd / ".shopfloor" / "issues.jsonl").read_text()


def test_a_pull_that_edits_several_issues_imports_all_of_them(tmp_path: Path, bare_runner: Runner) -> None:
    alice, bob = two_clones(tmp_path, bare_runner)
    ids = [create(alice, f"issue {n}") for n in range(3)]
    sync(alice, "three issues")
    bob.git("pull", "-q", "origin", "main")
    for n, issue_id in enumerate(ids):
        alice("update", issue_id, "--title", f"edited {n}")
    sync(alice, "edit all three")
    bob.git("pull", "-q", "origin", "main")
    assert {i["id"]: i["title"] for i in bob.json("list")} == {i: f"edited {n}" for n, i in enumerate(ids)}
