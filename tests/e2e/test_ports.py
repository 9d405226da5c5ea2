"""Each worker gets its own range of ports (issue 12, item 9): two agents' dev servers never collide."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

from conftest import SHOPFLOOR, Runner
from workerkit import issue, wait_for, workers

# An agent that writes the port range it was given to ports.txt in its workspace, then exits.
WRITE = (
    "import os; e = os.environ; "
    "open('ports.txt', 'w').write(e['SHOPFLOOR_PORT_BASE'] + ' ' + e['SHOPFLOOR_PORT_COUNT'])"
)
RECORDER = f"""
[agents.command]
argv = ["python3", "-c", "{WRITE}", "{{prompt}}"]
"""


def configure(runner: Runner, text: str) -> None:
    config = runner.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + text)


def start(runner: Runner, issue_id: str) -> dict:
    return dict(runner.json("worker", "start", issue_id, "--agent", "command", "--terminal", "detached"))


def seen_ports(worker: dict) -> str:
    return (Path(worker["worktree"]) / "ports.txt").read_text()


def test_live_workers_get_disjoint_ranges_their_agents_see_and_a_freed_range_is_reused(floor: Runner) -> None:
    configure(floor, RECORDER + "\n[workspace]\nport_base = 30000\nports_per_worker = 5\n")
    first, second, third = issue(floor, "one"), issue(floor, "two"), issue(floor, "three")
    start(floor, first)
    start(floor, second)
    one, two = wait_for(floor, first), wait_for(floor, second)
    assert (one["port_base"], one["port_count"]) == (30000, 5)
    assert (two["port_base"], two["port_count"]) == (30005, 5)
    assert seen_ports(one) == "30000 5" and seen_ports(two) == "30005 5"  # the agent's own environment
    listing = floor("worker", "list").stdout
    assert "ports 30000-30004" in listing and "ports 30005-30009" in listing, listing
    # A finished worker keeps its range (it may be restarted); removing it frees the range.
    floor("worker", "rm", first, "--force")
    start(floor, third)
    three = wait_for(floor, third)
    assert three["port_base"] == 30000 and seen_ports(three) == "30000 5"
    assert workers(floor)[second]["port_base"] == 30005


def test_parallel_starts_get_distinct_ranges(floor: Runner) -> None:
    """Six `worker start` at once: each gets its own range (and none fails on a lock another holds)."""
    configure(floor, RECORDER)
    ids = [issue(floor, f"task {n}") for n in range(6)]
    procs = [
        subprocess.Popen(
            [str(SHOPFLOOR), "worker", "start", sid, "--agent", "command", "--terminal", "detached", "--json"],
            cwd=floor.cwd,
            env=floor.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for sid in ids
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), results
    started = [json.loads(out) for out, _ in results]
    bases = sorted(w["port_base"] for w in started)
    assert bases == [20000 + 10 * n for n in range(6)], started  # the defaults: from 20000, 10 ports each
    for sid in ids:
        worker = wait_for(floor, sid)
        assert seen_ports(worker) == f"{worker['port_base']} 10"


def test_a_bad_ports_per_worker_is_one_clear_error_and_changes_nothing(floor: Runner) -> None:
    configure(floor, RECORDER + "\n[workspace]\nports_per_worker = 0\n")
    sid = issue(floor)
    done = floor("worker", "start", sid, "--agent", "command", "--terminal", "detached", check=False)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "workspace.ports_per_worker must be a whole number of ports from 1 to 1000" in lines[0]
    assert "not 0: fix the file" in lines[0]
    assert floor.json("worker", "list") == [] and floor.json("show", sid)["status"] == "open"
    configure(floor, "")  # a base with no room for the range is refused the same way
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text().replace("ports_per_worker = 0", "port_base = 65530"))
    done = floor("worker", "start", sid, "--agent", "command", "--terminal", "detached", check=False)
    assert done.returncode != 0 and "workspace.port_base must be a port from 1024 to 65526" in done.stderr


def test_a_start_waits_out_a_lock_another_git_holds(floor: Runner) -> None:
    """Parallel starts each write their branch's owner to .git/config: a moment's lock is waited out."""
    configure(floor, RECORDER)
    sid = issue(floor)
    lock = floor.cwd / ".git" / "config.lock"
    lock.write_text("")  # what another git process holds while it writes the config
    timer = threading.Timer(0.5, lock.unlink)
    timer.start()
    try:
        started = start(floor, sid)
    finally:
        timer.join()
    assert started["port_base"] == 20000
    assert floor.git("config", f"branch.floor/{sid}.shopfloor-issue") == sid
