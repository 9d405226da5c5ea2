"""Workers given bad input or bad luck: one clear error and nothing changed, or a recorded failure."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import SHOPFLOOR, Runner
from workerkit import issue, pane_log, scenario, start, until, wait_for, workers


def assert_untouched(floor: Runner, sid: str, *, had_branch: bool = False) -> None:
    assert floor.json("show", sid)["status"] == "open"
    assert sid not in workers(floor)
    assert not (floor.cwd.parent / "repo.floor" / sid).exists()
    assert floor.git("branch", "--list", f"floor/{sid}") == (f"floor/{sid}" if had_branch else "")
    assert floor.git("worktree", "list").count("\n") == 0


def try_start(floor: Runner, sid: str) -> subprocess.CompletedProcess[str]:
    """Start a scripted worker with a one-turn scenario, expecting it to be refused."""
    plan = scenario(floor, [{"match": sid, "turns": [{"text": "hi"}]}])
    return floor(
        "worker",
        "start",
        sid,
        "--agent",
        "scripted",
        "--terminal",
        "detached",
        check=False,
        env={"SHOPFLOOR_SCENARIO": str(plan)},
    )


def test_a_missing_agent_cli_names_the_install_command_and_changes_nothing(floor: Runner) -> None:
    sid = issue(floor)
    done = floor("worker", "start", sid, "--agent", "claude", check=False, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 1
    assert (
        "'claude' was not found on PATH" in done.stderr and "npm install -g @anthropic-ai/claude-code@" in done.stderr
    )
    assert len(done.stderr.strip().splitlines()) == 1
    assert_untouched(floor, sid)


def test_unknown_agent_and_unknown_issue_are_usage_and_not_found(floor: Runner) -> None:
    sid = issue(floor)
    unknown = floor("worker", "start", sid, "--agent", "gpt-pilot", check=False)
    assert unknown.returncode == 2 and "(known: " in unknown.stderr
    missing = floor("worker", "start", "t-zzzz", "--agent", "scripted", check=False)
    assert missing.returncode == 3
    assert floor("worker", "peek", "nobody", check=False).returncode == 3
    assert_untouched(floor, sid)


def test_an_agent_that_crashes_is_failed_with_its_stderr_and_its_work_saved(floor: Runner) -> None:
    sid = issue(floor)
    turns = [
        {"tool": {"name": "Write", "input": {"file_path": "half.txt", "content": "half done\n"}}},
        {
            "tool": {
                "name": "Bash",
                "input": {"command": "echo 'fatal: out of memory' > /proc/$PPID/fd/2; kill -9 $PPID"},
            }
        },
        {"text": "never reached"},
    ]
    start(floor, sid, scenario(floor, [{"match": sid, "turns": turns}]), "--terminal", "detached")
    worker = wait_for(floor, sid)
    assert worker["state"] == "failed" and worker["exit_code"] == -9  # killed, confined or not
    assert "fatal: out of memory" in worker["error"]
    assert worker["wip_commit"]
    space = Path(worker["worktree"])
    assert floor.git("log", "-1", "--format=%s", f"floor/{sid}", cwd=space).startswith(f"wip: {sid}")
    assert floor.git("show", f"floor/{sid}:half.txt", cwd=space) == "half done"
    listing = floor("worker", "list").stdout
    assert "failed" in listing and "exited with status -9" in listing


def test_a_malformed_event_line_is_recorded_and_skipped(floor: Runner) -> None:
    sid = issue(floor)
    turns = [
        {"tool": {"name": "Emit", "input": {"line": "{this is not json"}}},
        {"tool": {"name": "Emit", "input": {"line": "[1, 2]"}}},
        # Valid JSON of a shape the parser does not expect must not take the shim down either.
        {"tool": {"name": "Emit", "input": {"line": '{"type": "assistant", "message": {"content": ["x"]}}'}}},
        {"tool": {"name": "Emit", "input": {"line": '{"type": "result", "modelUsage": {"m": 5}}'}}},
        {"text": "still fine", "usage": {"input_tokens": 10}},
    ]
    start(floor, sid, scenario(floor, [{"match": sid, "turns": turns}]), "--terminal", "detached")
    worker = wait_for(floor, sid)
    assert worker["state"] == "done" and worker["tokens"] > 0
    log = pane_log(worker)
    assert "warning: malformed event line" in log and "warning: unexpected event" in log
    assert log.count("warning: skipped an event line") == 2
    raw = (Path(worker["log_dir"]) / "events.jsonl").read_text().splitlines()
    assert "{this is not json" in raw
    assert json.loads(raw[-1])["type"] == "result"


def test_a_branch_made_for_another_issue_is_refused(floor: Runner) -> None:
    first, second = issue(floor, "first"), issue(floor, "second")
    floor.git("branch", f"floor/{second}")
    floor.git("config", f"branch.floor/{second}.shopfloor-issue", first)
    done = try_start(floor, second)
    assert done.returncode == 4 and f"belongs to issue {first}" in done.stderr
    assert_untouched(floor, second, had_branch=True)
    assert floor.git("config", f"branch.floor/{second}.shopfloor-issue") == first


def test_a_workspace_directory_that_cannot_be_written_is_one_error(floor: Runner) -> None:
    sid = issue(floor)
    (floor.cwd.parent / "repo.floor").write_text("a file where the worktree directory should be\n")
    done = try_start(floor, sid)
    assert done.returncode == 1 and "cannot create the workspace directory" in done.stderr
    assert floor.json("show", sid)["status"] == "open" and sid not in workers(floor)


def test_a_failing_setup_command_names_it_and_takes_back_the_claim_and_worktree(floor: Runner) -> None:
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + '\n[workspace]\nsetup = [["git", "no-such-command"]]\n')
    sid = issue(floor)
    done = try_start(floor, sid)
    assert done.returncode == 1 and "['git', 'no-such-command'] failed with exit code" in done.stderr
    assert_untouched(floor, sid)


def test_bad_config_is_one_line_naming_the_file(floor: Runner) -> None:
    config = floor.cwd / ".shopfloor" / "config.toml"
    sid = issue(floor)
    for table, message in (
        ('[workspace]\nsetup = "npm ci"\n', "workspace.setup must be a list of argv lists"),
        ('[workspace]\ncopy = ["../secrets"]\n', "must be a relative path inside the repository"),
        ("[agents.scripted]\ncontext_limit = 2\n", "context_limit must be a fraction"),
        ("[agents.scripted]\nbogus = 1\n", "unknown key(s) in [agents.scripted]: bogus"),
        ('[workspace]\ncopy = ["."]\n', "not the repository itself or .git"),
        ('[workspace]\ncopy = [".git/config"]\n', "not the repository itself or .git"),
        ("[workspace\n", "is not valid TOML"),
    ):
        config.write_text('[tracker]\nprefix = "t"\n' + table)
        done = floor(
            "worker", "start", sid, "--agent", "scripted", check=False, env={"SHOPFLOOR_SCENARIO": "/nonexistent.json"}
        )
        assert done.returncode == 2, done.stderr
        assert message in done.stderr and "config.toml" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert_untouched(floor, sid)


def test_a_running_worker_cannot_be_started_twice_or_removed_without_force(floor: Runner) -> None:
    sid = issue(floor)
    turns = [{"tool": {"name": "Bash", "input": {"command": "sleep 30"}}}, {"text": "x"}]
    plan = scenario(floor, [{"match": sid, "turns": turns}])
    start(floor, sid, plan, "--terminal", "detached")
    wait_for(floor, sid, {"running"})
    again = floor("worker", "start", sid, "--agent", "scripted", check=False, env={"SHOPFLOOR_SCENARIO": str(plan)})
    assert again.returncode == 4 and "already exists (running)" in again.stderr
    refused = floor("worker", "rm", sid, check=False)
    assert refused.returncode == 4 and "worker kill" in refused.stderr
    assert workers(floor)[sid]["state"] == "running"
    floor("worker", "rm", sid, "--force")
    assert sid not in workers(floor)


def test_two_starts_at_once_make_one_worker_and_keep_the_claim(floor: Runner) -> None:
    sid = issue(floor)
    turns = [{"tool": {"name": "Bash", "input": {"command": "sleep 5"}}}, {"text": "x"}]
    plan = scenario(floor, [{"match": sid, "turns": turns}])
    env = {**floor.env, "SHOPFLOOR_SCENARIO": str(plan)}
    argv = [str(SHOPFLOOR), "worker", "start", sid, "--agent", "scripted", "--terminal", "detached"]
    racers = [subprocess.Popen(argv, cwd=floor.cwd, env=env, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(p.wait(), p.stderr.read() if p.stderr else "") for p in racers]
    assert sorted(code for code, _ in results) == [0, 4, 4], results
    assert all("already exists" in err or "just started" in err for code, err in results if code)
    assert workers(floor)[sid]["state"] in ("starting", "running", "done")
    shown = floor.json("show", sid)
    assert shown["status"] == "in_progress" and shown["assignee"] == "tester"


def test_copy_never_writes_through_a_symlink_committed_on_the_branch(floor: Runner, tmp_path: Path) -> None:
    outside = tmp_path / "precious.txt"
    outside.write_text("precious\n")
    (floor.cwd / ".env").write_text("SECRET=1\n")
    (floor.cwd / "config").mkdir()
    (floor.cwd / "config" / "local.yml").write_text("SECRET=2\n")
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + '\n[workspace]\ncopy = [".env", "config"]\n')
    sid = issue(floor)
    # An earlier agent committed .env and config/local.yml as links to a file outside the worktree.
    floor.git("worktree", "add", "-q", "-b", f"floor/{sid}", str(tmp_path / "prep"))
    (tmp_path / "prep" / ".env").symlink_to(outside)
    (tmp_path / "prep" / "config").mkdir()
    (tmp_path / "prep" / "config" / "local.yml").symlink_to(outside)
    floor.git("add", ".env", "config", cwd=tmp_path / "prep")
    floor.git("commit", "-qm", "link", cwd=tmp_path / "prep")
    floor.git("worktree", "remove", str(tmp_path / "prep"))
    plan = scenario(floor, [{"match": sid, "turns": [{"text": "hi"}]}])
    start(floor, sid, plan, "--terminal", "detached")
    worker = wait_for(floor, sid)
    assert outside.read_text() == "precious\n"
    copied = Path(worker["worktree"]) / ".env"
    assert not copied.is_symlink() and copied.read_text() == "SECRET=1\n"
    nested = Path(worker["worktree"]) / "config" / "local.yml"
    assert not nested.is_symlink() and nested.read_text() == "SECRET=2\n"


def test_a_worker_still_being_set_up_is_starting_and_cannot_be_killed_yet(floor: Runner) -> None:
    config = floor.cwd / ".shopfloor" / "config.toml"
    marker = floor.cwd.parent / "setup-may-finish"  # the setup runs until the test has looked at it
    setup = json.dumps([["sh", "-c", f"until test -e {marker}; do sleep 0.1; done"]])
    config.write_text(config.read_text() + f"\n[workspace]\nsetup = {setup}\n")
    sid = issue(floor)
    plan = scenario(floor, [{"match": sid, "turns": [{"text": "hi"}]}])
    argv = [str(SHOPFLOOR), "worker", "start", sid, "--agent", "scripted", "--terminal", "detached"]
    starter = subprocess.Popen(
        argv,
        cwd=floor.cwd,
        env={**floor.env, "SHOPFLOOR_SCENARIO": str(plan)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        during = until(lambda: workers(floor).get(sid), "the worker's row")
        assert during["state"] == "starting" and during["pid"] == starter.pid and during["terminal"] == "setup"
        refused = floor("worker", "kill", sid, check=False)
        assert refused.returncode == 4 and "still being set up" in refused.stderr
    finally:
        marker.write_text("")
    assert starter.wait(timeout=30) == 0
    assert wait_for(floor, sid)["state"] == "done"


def test_restart_by_someone_without_the_claim_changes_nothing(floor: Runner) -> None:
    sid = issue(floor)
    turns = [{"tool": {"name": "Bash", "input": {"command": "sleep 20"}}}, {"text": "x"}]
    start(floor, sid, scenario(floor, [{"match": sid, "turns": turns}]), "--terminal", "detached")
    running = wait_for(floor, sid, {"running"})
    done = floor("worker", "restart", sid, check=False, actor="bob")
    assert done.returncode == 4 and "already claimed by tester" in done.stderr
    after = workers(floor)[sid]
    assert after["state"] == "running" and after["generation"] == running["generation"]
    assert after["pid"] == running["pid"]
