"""The merge queue with real git repositories and branches, and the real gate."""

from __future__ import annotations

import json
import math
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import SHOPFLOOR, Runner
from workerkit import until

GATE = """
[gate]
builtins = ["protected-files"]

[[gate.check]]
name = "no-fixme"
argv = ["sh", "-c", "! grep -rq FIXME --include=*.txt ."]
timeout = 60
"""


@pytest.fixture
def repo(sf: Runner) -> Runner:
    config = sf.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + GATE)
    (sf.cwd / "shared.txt").write_text("one\ntwo\nthree\n")
    sf.git("add", "-A")
    sf.git("commit", "-qm", "base with a gate")
    return sf


def branch(runner: Runner, name: str, files: dict[str, str], base: str = "main") -> str:
    runner.git("checkout", "-q", "-b", name, base)
    for path, text in files.items():
        (runner.cwd / path).write_text(text)
    runner.git("add", "-A")
    runner.git("commit", "-qm", f"work on {name}")
    runner.git("checkout", "-q", "main")
    return name


def run_queue(runner: Runner, *args: str, env: dict[str, str] | None = None) -> dict:
    return runner.json("queue", "run", "--once", *args, env=env)


def states(runner: Runner) -> dict[str, str]:
    return {e["branch"]: e["state"] for e in runner.json("queue", "list", "--all")}


def gate_passed(runner: Runner, name: str) -> bool:
    """The entry's gate has passed and the queue has not landed it yet: it is testing, with its run."""
    entry = next(e for e in runner.json("queue", "list", "--all") if e["branch"] == name)
    return bool(entry["state"] == "testing" and entry["gate_run"])


def test_clean_entries_land_and_close_their_issues(repo: Runner) -> None:
    sid = repo.json("create", "add a")["id"]
    branch(repo, f"floor/{sid}", {"a.txt": "a\n"})
    repo.git("config", f"branch.floor/{sid}.shopfloor-issue", sid)
    branch(repo, "feature-b", {"b.txt": "b\n"})
    repo.git("commit", "-q", "--allow-empty", "-m", "main moves on")  # b now needs a rebase
    assert repo.json("queue", "add", sid)["branch"] == f"floor/{sid}"
    repo.json("queue", "add", "feature-b")
    result = run_queue(repo)
    assert len(result["landed"]) == 2 and result["gate_runs"] == 1
    assert (repo.cwd / "a.txt").exists() and (repo.cwd / "b.txt").exists()  # main's worktree followed
    merged = {e["branch"]: e for e in repo.json("queue", "list", "--all")}
    shown = repo.json("show", sid)
    assert shown["status"] == "closed" and merged[f"floor/{sid}"]["merged"] in shown["close_reason"]
    assert repo.git("rev-parse", "main") == merged["feature-b"]["merged"]
    again = repo("queue", "add", "feature-b", check=False)
    assert again.returncode == 0  # landed entries do not block queueing the branch again


def test_a_conflict_goes_back_to_its_worker_with_the_files(repo: Runner) -> None:
    sid = repo.json("create", "edit shared")["id"]
    branch(repo, "first", {"shared.txt": "one\nTWO\nthree\n"})
    branch(repo, f"floor/{sid}", {"shared.txt": "one\n2\nthree\n"})
    repo.git("config", f"branch.floor/{sid}.shopfloor-issue", sid)
    repo.json("queue", "add", "first")
    repo.json("queue", "add", sid)
    result = run_queue(repo)
    assert len(result["landed"]) == 1 and len(result["conflicts"]) == 1
    assert states(repo)[f"floor/{sid}"] == "conflict"
    comments = repo.json("show", sid)["comments"]
    assert any("conflicts in shared.txt" in c["text"] for c in comments)
    assert repo.json("show", sid)["status"] != "closed"


def test_one_failing_branch_in_a_batch_of_eight(repo: Runner) -> None:
    for n in range(8):
        text = "FIXME\n" if n == 5 else f"{n}\n"
        repo.json("queue", "add", branch(repo, f"b{n}", {f"f{n}.txt": text}))
    result = run_queue(repo, "--batch", "8")
    assert len(result["landed"]) == 7 and result["gate_runs"] <= 1 + 2 * math.ceil(math.log2(8))
    assert states(repo)["b5"] == "failed"
    culprit = next(e for e in repo.json("queue", "list") if e["branch"] == "b5")
    assert "no-fixme: fail" in culprit["detail"]
    assert sorted(p.name for p in repo.cwd.glob("f*.txt")) == [f"f{n}.txt" for n in range(8) if n != 5]


def test_main_moving_during_a_test_means_testing_again(repo: Runner, tmp_path: Path) -> None:
    repo.json("queue", "add", branch(repo, "mine", {"mine.txt": "mine\n"}))
    env = {**repo.env, "SHOPFLOOR_QUEUE_PAUSE_BEFORE_LAND": "2"}
    queue = subprocess.Popen(
        [str(SHOPFLOOR), "queue", "run", "--once", "--json"],
        cwd=repo.cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    until(lambda: gate_passed(repo, "mine"), "mine's gate to pass")  # now inside the pause before the ref update
    (repo.cwd / "theirs.txt").write_text("theirs\n")
    repo.git("add", "theirs.txt")
    repo.git("commit", "-qm", "someone else lands first")
    out, err = queue.communicate(timeout=60)
    result = json.loads(out)
    assert result["retries"] >= 1 and result["gate_runs"] >= 2, err
    merged = next(e for e in repo.json("queue", "list", "--all") if e["branch"] == "mine")["merged"]
    assert repo.git("rev-parse", "main") == merged
    assert (repo.cwd / "theirs.txt").exists() and (repo.cwd / "mine.txt").exists()
    # The exact tree that became main was gated (the landed commit is the gated tree, recommitted
    # with the passing run's id in its message).
    runs = {r["id"]: r for r in repo.json("gate", "list")}
    passed = int(repo.git("log", "-1", "--format=%(trailers:key=Gate-Run,valueonly)", merged))
    assert runs[passed]["verdict"] == "pass"
    assert repo.git("rev-parse", f"{runs[passed]['commit']}^{{tree}}") == repo.git("rev-parse", f"{merged}^{{tree}}")


def test_a_queue_killed_between_gate_and_landing_resumes_without_landing_twice(repo: Runner) -> None:
    repo.json("queue", "add", branch(repo, "once", {"once.txt": "once\n"}))
    env = {**repo.env, "SHOPFLOOR_QUEUE_PAUSE_BEFORE_LAND": "30"}
    queue = subprocess.Popen(
        [str(SHOPFLOOR), "queue", "run", "--once"],
        cwd=repo.cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    until(lambda: gate_passed(repo, "once"), "once's gate to pass")  # killed in the pause before the ref update
    queue.send_signal(signal.SIGKILL)
    queue.wait()
    assert states(repo)["once"] == "testing"
    before = repo.git("rev-parse", "main")
    result = run_queue(repo)
    assert len(result["landed"]) == 1 and states(repo)["once"] == "merged"
    assert repo.git("rev-list", "--count", f"{before}..main") == "1"  # landed exactly once
    assert run_queue(repo)["landed"] == []  # nothing left, nothing lands twice


def test_a_flaky_check_does_not_keep_a_branch_out(sf: Runner, tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    flaky = (
        f"import pathlib, sys; p = pathlib.Path({str(counter)!r}); n = len(p.read_text()) if p.exists() else 0; "
        "p.write_text('x' * (n + 1)); sys.exit(1 if n == 0 else 0)"
    )
    config = sf.cwd / ".shopfloor" / "config.toml"
    config.write_text(
        config.read_text() + f'\n[gate]\nbuiltins = []\n[[gate.check]]\nname = "wobbly"\n'
        f'argv = ["python3", "-c", {json.dumps(flaky)}]\n'
        f'[sandbox]\nwritable = ["{tmp_path}"]\n'  # the counter lives outside the confined checkout
    )
    sf.git("add", "-A")
    sf.git("commit", "-qm", "gate")
    sf.json("queue", "add", branch(sf, "lucky", {"l.txt": "l\n"}))
    assert len(run_queue(sf)["landed"]) == 1


def test_bad_input_is_one_line_and_changes_nothing(repo: Runner) -> None:
    missing = repo("queue", "add", "no-such-thing", check=False)
    assert missing.returncode == 3 and "neither a branch nor an issue" in missing.stderr
    target = repo("queue", "add", "main", check=False)
    assert target.returncode == 1 and "is the target itself" in target.stderr
    repo.json("queue", "add", branch(repo, "dup", {"d.txt": "d\n"}))
    twice = repo("queue", "add", "dup", check=False)
    assert twice.returncode == 4 and "already queued" in twice.stderr
    assert repo("queue", "remove", "99", check=False).returncode == 3
    assert [e["branch"] for e in repo.json("queue", "list")] == ["dup"]


def test_a_red_target_is_reported_and_not_blamed_on_the_entry(repo: Runner) -> None:
    (repo.cwd / "broken.txt").write_text("FIXME\n")
    repo.git("add", "broken.txt")
    repo.git("commit", "-qm", "main goes red")
    repo.json("queue", "add", branch(repo, "innocent", {"ok.txt": "ok\n"}))
    done = repo("queue", "run", "--once")
    assert "fails the gate by itself" in done.stderr
    entry = repo.json("queue", "list")[0]
    assert entry["state"] == "queued" and "not blamed" in entry["detail"]


def test_a_low_vibe_entry_waits_for_a_persons_approval(repo: Runner) -> None:
    sid = repo.json("create", "risky change", "--vibe", "2")["id"]
    branch(repo, f"floor/{sid}", {"risky.txt": "risky\n"})
    repo.git("config", f"branch.floor/{sid}.shopfloor-issue", sid)
    repo.json("queue", "add", sid)
    assert run_queue(repo)["landed"] == [] and states(repo)[f"floor/{sid}"] == "needs-approval"
    repo("approve", sid)
    assert len(run_queue(repo)["landed"]) == 1 and states(repo)[f"floor/{sid}"] == "merged"


def test_two_queue_runs_at_once_never_share_a_pass(repo: Runner) -> None:
    repo.json("queue", "add", branch(repo, "slowpoke", {"s.txt": "s\n"}))
    env = {**repo.env, "SHOPFLOOR_QUEUE_PAUSE_BEFORE_LAND": "3"}
    first = subprocess.Popen(
        [str(SHOPFLOOR), "queue", "run", "--once"],
        cwd=repo.cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    until(lambda: states(repo).get("slowpoke") == "testing", "the first pass to be testing slowpoke")
    second = repo("queue", "run", "--once", check=False)
    assert second.returncode == 4 and "pass is in progress" in second.stderr
    assert first.wait(timeout=60) == 0 and states(repo)["slowpoke"] == "merged"


def test_a_branch_with_a_merge_commit_that_needs_a_rebase_is_refused_not_flattened(repo: Runner) -> None:
    branch(repo, "side", {"side.txt": "side\n"})
    repo.git("checkout", "-q", "-b", "feat", "main")
    (repo.cwd / "feat.txt").write_text("feat\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "feat")
    repo.git("merge", "-q", "--no-edit", "side")
    repo.git("checkout", "-q", "main")
    repo.git("commit", "-q", "--allow-empty", "-m", "main moves on")
    repo.json("queue", "add", "feat")
    result = run_queue(repo)
    assert result["conflicts"] and states(repo)["feat"] == "conflict"
    assert "merge commit" in repo.json("queue", "list")[0]["detail"]


def test_a_branch_that_moved_after_it_was_queued_lands_its_tip(repo: Runner) -> None:
    repo.json("queue", "add", branch(repo, "grows", {"a.txt": "a\n"}))
    repo.git("checkout", "-q", "grows")
    (repo.cwd / "fix.txt").write_text("fix\n")
    repo.git("add", "fix.txt")
    repo.git("commit", "-qm", "fix after review")
    repo.git("checkout", "-q", "main")
    assert len(run_queue(repo)["landed"]) == 1
    assert (repo.cwd / "a.txt").exists() and (repo.cwd / "fix.txt").exists()


def test_local_changes_in_the_way_keep_entries_queued(repo: Runner) -> None:
    repo.json("queue", "add", branch(repo, "blocked", {"b.txt": "from the branch\n"}))
    (repo.cwd / "b.txt").write_text("an untracked local file in the way\n")
    done = repo("queue", "run", "--once")
    assert "cannot fast-forward main" in done.stderr
    entry = repo.json("queue", "list")[0]
    assert entry["state"] == "queued" and "local changes" in entry["detail"]
    assert (repo.cwd / "b.txt").read_text() == "an untracked local file in the way\n"  # untouched


def test_until_empty_stops_when_a_red_target_blocks_everything(repo: Runner) -> None:
    (repo.cwd / "broken.txt").write_text("FIXME\n")
    repo.git("add", "broken.txt")
    repo.git("commit", "-qm", "main goes red")
    repo.json("queue", "add", branch(repo, "waiting", {"w.txt": "w\n"}))
    done = subprocess.run(
        [str(SHOPFLOOR), "queue", "run", "--until-empty", "--json"],
        cwd=repo.cwd,
        env=repo.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    result = json.loads(done.stdout)
    assert done.returncode == 0 and result["landed"] == []
    # One gate run, no spinning: the entry's own run already ran the failing check on main (the
    # differential rule), which is how the queue knows main is red by itself.
    assert result["gate_runs"] == 1


def test_a_landing_waits_out_a_ref_lock_another_git_holds_for_a_moment(repo: Runner) -> None:
    import threading

    branch(repo, "feature-a", {"a.txt": "a\n"})
    repo.json("queue", "add", "feature-a")
    lock = repo.cwd / ".git" / "refs" / "heads" / "main.lock"
    lock.write_text("")  # what another git process holds while it moves main
    timer = threading.Timer(0.5, lock.unlink)
    timer.start()
    try:
        report = run_queue(repo)
    finally:
        timer.join()
    assert report["landed"], report
    assert states(repo) == {"feature-a": "merged"}
    assert repo.git("show", "main:a.txt") == "a"


def test_a_persons_export_in_the_main_checkout_never_wedges_a_landing_that_changes_the_tracker_file(
    repo: Runner,
) -> None:
    # A branch that commits the tracker file (a fresh export, with a new issue in it) ...
    repo.git("checkout", "-q", "-b", "with-tracker")
    sid = repo.json("create", "an issue the branch's export holds")["id"]
    repo("export")
    (repo.cwd / "b.txt").write_text("b\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "b, and the tracker's export")
    repo.git("checkout", "-q", "main")
    repo.json("queue", "add", "with-tracker")
    # ... while a person runs `shopfloor export` in the main checkout, after another change.
    other = repo.json("create", "an issue only the person's export holds")["id"]
    repo("export")
    mine = (repo.cwd / ".shopfloor" / "issues.jsonl").read_text()
    assert other in mine and repo.git("status", "--porcelain") == "M .shopfloor/issues.jsonl"
    report = run_queue(repo)
    assert report["landed"], report
    assert states(repo) == {"with-tracker": "merged"}
    assert sid in repo.git("show", "main:.shopfloor/issues.jsonl")
    assert repo.git("show", "main:b.txt") == "b" and (repo.cwd / "b.txt").read_text() == "b\n"
    # The person's file is left as they wrote it: their change on top of the new main.
    assert (repo.cwd / ".shopfloor" / "issues.jsonl").read_text() == mine
    assert repo.git("status", "--porcelain") == "M .shopfloor/issues.jsonl"
