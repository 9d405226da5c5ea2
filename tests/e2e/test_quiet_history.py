"""Quiet history and watching (issue 12): renewals are no events, inputs are bounded, corruption
anywhere points at `doctor --fix`, `status` counts live queue entries, `peek` shows what a tool
did, and `worker attach` outside a terminal follows the log."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from conftest import Runner
from test_queue import branch, repo, run_queue, states
from workerkit import commit_turn, issue, scenario, start, wait_for

__all__ = ["repo"]  # the fixture, used by name


def test_a_lease_renewal_keeps_the_lease_current_and_writes_no_event(sf: Runner) -> None:
    issue_id = sf.json("create", "long work")["id"]
    first = sf.json("update", issue_id, "--claim", "--lease", "1m", actor="alice")
    again = sf.json("update", issue_id, "--claim", "--lease", "2h", actor="alice")  # the holder renews
    beat = sf.json("heartbeat", issue_id, "--lease", "3h", actor="alice")
    assert first["lease_until"] < again["lease_until"] < beat["lease_until"]
    shown = sf.json("show", issue_id)
    assert shown["lease_until"] == beat["lease_until"] and shown["assignee"] == "alice"
    assert [e["kind"] for e in shown["events"]] == ["created", "claimed"]


def test_a_plan_file_over_the_bound_is_one_line_and_creates_nothing(sf: Runner, tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    subprocess.run(["truncate", "-s", "17M", str(big)], check=True)  # sparse: fast to make and to read
    refused = sf("create", "-f", str(big), check=False)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [f"error: {big} is over 16 MB: split the plan into smaller files"]
    endless = sf("create", "-f", "/dev/zero", check=False)  # no end at all: read up to the bound only
    assert endless.returncode == 2 and "/dev/zero is over 16 MB" in endless.stderr
    piped = sf("create", "-f", "-", input=b"\0" * (16 * 1024 * 1024 + 1), check=False)
    assert piped.returncode == 2 and "the plan on stdin is over 16 MB" in piped.stderr
    imported = sf("import", "-i", "/dev/zero", check=False)
    assert imported.returncode == 2 and "/dev/zero is over 64 MB" in imported.stderr
    assert sf.json("list", "--all") == []


def test_a_corrupt_page_read_by_any_command_points_at_doctor_fix(sf: Runner) -> None:
    for n in range(3):
        sf("create", f"issue {n}")
    db_path = sf.cwd / ".git" / "shopfloor" / "tracker.db"
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'issues'").fetchone()[0]
    conn.close()
    data = bytearray(db_path.read_bytes())  # the header is fine: connecting works, reading the table does not
    data[page_size * (root - 1) : page_size * root] = bytes([0xA5]) * page_size
    db_path.write_bytes(bytes(data))
    listed = sf("list", check=False)
    assert listed.returncode == 1
    assert listed.stderr.strip().splitlines() == [
        f"error: the tracker database {db_path} is corrupt (database disk image is malformed): "
        "run `shopfloor doctor --fix` to rebuild it from .shopfloor/issues.jsonl"
    ]


def test_status_counts_live_queue_entries_not_old_conflict_rounds(repo: Runner) -> None:
    sid = repo.json("create", "edit shared")["id"]
    branch(repo, "first", {"shared.txt": "one\nTWO\nthree\n"})
    branch(repo, f"floor/{sid}", {"shared.txt": "one\n2\nthree\n"})
    repo.git("config", f"branch.floor/{sid}.shopfloor-issue", sid)
    repo.json("queue", "add", "first")
    repo.json("queue", "add", sid)
    run_queue(repo)
    assert states(repo)[f"floor/{sid}"] == "conflict"
    assert repo("status").stdout.splitlines()[1:3] == [
        "queue: 0 waiting, 1 stuck, 1 merged",
        f"     2 conflict       floor/{sid}",
    ]
    # The worker resolves it on top of the target and the branch is queued again: it lands.
    repo.git("checkout", "-q", f"floor/{sid}")
    repo.git("reset", "-q", "--hard", "main")
    (repo.cwd / "shared.txt").write_text("one\nTWO and 2\nthree\n")
    repo.git("commit", "-qam", "resolved")
    repo.git("checkout", "-q", "main")
    repo.json("queue", "add", sid)
    run_queue(repo)
    assert states(repo)[f"floor/{sid}"] == "merged"
    status = repo.json("status")
    assert status["queue"] == [] and status["queue_stuck"] == []
    assert "queue: 0 waiting, 2 merged" in repo("status").stdout


def test_peek_shows_tool_inputs_and_attach_outside_a_terminal_follows_the_log(floor: Runner) -> None:
    sid = issue(floor)
    turns = [*commit_turn("src/app.py", "x = 1\n", "add app"), {"text": "done"}]
    turns[0]["tool"]["input"]["file_path"] = "src/app.py"
    long = "printf 'a\x1bb' > /dev/null; true " + "x" * 300  # an escape character, and too long for a line
    turns.insert(0, {"tool": {"name": "Bash", "input": {"command": long}}})
    started = start(floor, sid, scenario(floor, [{"match": sid, "turns": turns}]), "--terminal", "tmux")
    assert started["terminal"].startswith("tmux:")
    wait_for(floor, sid)
    lines = [line.split(" ", 1)[1] for line in floor.json("worker", "peek", sid, "-n", "20")["lines"]]
    assert "tool  Write: src/app.py" in lines
    assert "tool  Bash: git add -A && git commit -qm 'add app'" in lines
    shown = next(line for line in lines if line.startswith("tool  Bash: printf"))
    assert shown.startswith("tool  Bash: printf 'a\ufffdb' > /dev/null; true xxx") and "\x1b" not in shown
    assert len(shown) == 120 and shown.endswith("…")
    # The tmux window is still there; stdin here is a pipe, not a terminal.
    attached = floor("worker", "attach", sid, check=False)
    assert attached.returncode == 0, attached.stderr
    assert "not a terminal" in attached.stderr and "following" in attached.stderr
    assert "tool  Write: src/app.py" in attached.stdout and "worker done (exit status 0)" in attached.stdout
