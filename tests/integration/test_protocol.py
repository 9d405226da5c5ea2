"""One protocol: a worker is told only what a worker may do, the whole of it, whatever the agent,
and a prompt of any size reaches it (issue 12, item 6)."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Runner, base_env
from shopfloor.agents import launch, registry
from shopfloor.agents.base import AgentOptions
from shopfloor.agents.claude import ClaudeCode
from shopfloor.errors import ShopfloorError
from shopfloor.models.scenario import parse_scenario
from shopfloor.models.server import ScriptedModelServer
from test_claude_code import claude_binary
from test_floor import setup_gate, write_commit
from workerkit import commit_turn, issue, scenario, start, wait_for

# A command a worker may not run, as an instruction: closing, claiming, exporting the tracker.
FORBIDDEN = re.compile(r"\bclose\b|--claim|\bclaim\b|\bexport\b", re.IGNORECASE)
BIG = 200 * 1024


def scripted_sessions(runner: Runner) -> list[dict[str, object]]:
    """What the scripted agent received, each session as it kept it (its prompt and system text)."""
    store = Path(runner.env["SHOPFLOOR_SCRIPTED_HOME"])
    return [json.loads(path.read_text()) for path in sorted(store.glob("*.json"))]


def big_plan(tmp_path: Path, marker: str) -> Path:
    """A plan file whose one issue has a 200 KiB description, with ``marker`` at its very end."""
    line = "The widget must keep working when the gizmo is reconfigured at runtime.\n"
    body = line * (BIG // len(line) + 1)
    plan = tmp_path / "big.md"
    plan.write_text(f"## Handle the big spec\n\n{body}{marker}\n")
    return plan


def test_prime_has_a_person_form_and_a_worker_form_that_says_only_the_worker_protocol(sf: Runner) -> None:
    person = sf("prime").stdout
    assert "shopfloor ready --claim" in person and "shopfloor close ID" in person  # a person's session
    assert "shopfloor prime --worker" in person

    worker = sf("prime", "--worker").stdout
    assert "shopfloor done --summary" in worker and "shopfloor comment ID -" in worker
    assert "shopfloor update ID --status blocked" in worker and 'shopfloor create "title"' in worker
    assert not FORBIDDEN.search(worker), FORBIDDEN.search(worker)
    assert sf("prime", env={"SHOPFLOOR_WORKER": "t-1"}).stdout == worker  # inside a worker: by itself
    shown = sf.json("prime", env={"SHOPFLOOR_WORKER": "t-1"})
    assert shown == {"form": "worker", "instructions": worker}
    assert sf.json("prime")["form"] == "person"


def test_a_floor_run_sends_its_worker_one_protocol_and_no_command_it_may_not_run(floor: Runner) -> None:
    setup_gate(floor)
    sid = issue(floor, "Add greeting")
    turns = write_commit("greeting.txt", "hello\n", "add greeting")
    floor(
        "run", "--workers", "1", "--agent", "scripted", "--terminal", "detached", "--until-idle",
        env={"SHOPFLOOR_SCENARIO": str(scenario(floor, [{"match": sid, "turns": turns}]))},
    )  # fmt: skip
    assert floor.json("show", sid)["status"] == "closed"
    [session] = scripted_sessions(floor)
    prompt = session["messages"][0]["content"]  # type: ignore[index]
    sent = f"{session['system']}\n{prompt}"  # all the agent was told: the protocol, then the issue and briefing
    assert f"Work on issue {sid}" in prompt and "# Working as a shopfloor worker" in prompt
    assert "shopfloor done --summary" in sent and "shopfloor done" in str(session["system"])
    assert not FORBIDDEN.search(sent), FORBIDDEN.search(sent)
    assert "shopfloor ready" not in sent and "heartbeat" not in sent  # the floor holds the claim, not the agent


def test_a_200_kib_description_reaches_the_agent_on_stdin_and_the_work_lands(floor: Runner, tmp_path: Path) -> None:
    marker = "END-OF-THE-BIG-SPEC"
    sid = floor.json("create", "-f", str(big_plan(tmp_path, marker)))[0]["id"]
    turns = commit_turn("big.txt", "handled\n", "handle the big spec")
    started = start(floor, sid, scenario(floor, [{"match": marker, "turns": turns}]), "--terminal", "detached")
    worker = wait_for(floor, started["name"])
    assert worker["state"] == "done", worker["error"]
    assert floor.git("log", "-1", "--format=%s", f"floor/{sid}") == "handle the big spec"

    [session] = scripted_sessions(floor)
    received = session["messages"][0]["content"]  # type: ignore[index]
    assert len(received) > BIG and f"gizmo is reconfigured at runtime.\n{marker}\n\nVibe level" in received
    assert "shopfloor done" in str(session["system"])
    spec = json.loads((Path(worker["log_dir"]) / "spec.json").read_text())
    assert max(len(part.encode()) for part in spec["argv"]) < launch.LONG_PROMPT  # never one huge argument
    fed = Path(worker["log_dir"]) / "stdin.txt"
    assert fed.read_text() == received and stat.S_IMODE(fed.stat().st_mode) == 0o600


def test_the_command_agent_gets_the_protocol_in_its_prompt(floor: Runner, tmp_path: Path) -> None:
    script = tmp_path / "record.py"
    script.write_text("import sys\nopen('got.txt', 'w').write(sys.argv[1])\nprint('recorded')\n")
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(
        config.read_text() + f'\n[agents.command]\nargv = ["{sys.executable}", "{script}", "{{prompt}}"]\n'
    )
    sid = issue(floor, "Add farewell", description="Say goodbye in farewell.txt")
    floor("worker", "start", sid, "--agent", "command", "--terminal", "detached")
    worker = wait_for(floor, sid)
    assert worker["state"] == "done", worker["error"]
    got = (Path(worker["worktree"]) / "got.txt").read_text()
    assert got.startswith("You are a shopfloor worker") and "shopfloor done --summary" in got  # the protocol
    assert f"Work on issue {sid}: Add farewell" in got and "Say goodbye in farewell.txt" in got  # then the issue


def test_an_agent_that_cannot_read_stdin_is_refused_a_huge_prompt_before_anything_starts(
    floor: Runner, tmp_path: Path
) -> None:
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + f'\n[agents.command]\nargv = ["{sys.executable}", "-c", "", "{{prompt}}"]\n')
    sid = floor.json("create", "-f", str(big_plan(tmp_path, "END")))[0]["id"]
    done = floor("worker", "start", sid, "--agent", "command", "--terminal", "detached", check=False)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "over the kernel's 128 KiB limit for one" in done.stderr and "claude" in done.stderr
    assert floor.json("worker", "list") == [] and floor.json("show", sid)["status"] == "open"  # nothing changed


@pytest.mark.parametrize("sandbox", ["on", "off"])
def test_worker_start_fails_with_the_reason_when_the_agent_cannot_be_launched(
    floor: Runner, tmp_path: Path, sandbox: str
) -> None:
    broken = tmp_path / "agent-cli"
    broken.write_text("#!/nonexistent/interpreter\n")  # on PATH and executable, but exec fails
    broken.chmod(0o755)
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + f'\n[agents.command]\nargv = ["{broken}", "{{prompt}}"]\n')
    sid = issue(floor, "Add anything")
    done = floor(
        "worker", "start", sid, "--agent", "command", "--terminal", "detached", env={"SHOPFLOOR_SANDBOX": sandbox},
        check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout
    assert "starting" not in done.stdout and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert f"worker {sid} could not start the command agent: cannot start {broken}" in done.stderr
    assert "No such file or directory" in done.stderr


def test_every_adapter_says_how_it_takes_a_long_prompt_and_none_gets_it_as_an_argument() -> None:
    long = "L" * (launch.LONG_PROMPT + 1)
    opts = AgentOptions(argv=("tool", "{prompt}"), scenario="/s.json", state_dir="/logs/w")
    for name, adapter in registry.ADAPTERS.items():
        assert launch.start(adapter, "/bin/agent", "short", "SYS", opts).stdin is None, name
        if not adapter.stdin_prompt:  # the command template: an argument, up to the kernel's limit
            assert launch.start(adapter, "", long, "SYS", opts).argv == ["tool", f"SYS\n\n{long}"]
            with pytest.raises(ShopfloorError, match="over the kernel's 128 KiB limit"):
                launch.start(adapter, "/bin/agent", "L" * launch.MAX_ARG, "SYS", opts)
            continue
        run = launch.start(adapter, "/bin/agent", long, "SYS", opts)
        assert max(len(part) for part in run.argv) < 200, (name, run.argv)
        if adapter.stdin_prompt == "all":  # no system-prompt flag: the protocol goes first on stdin
            assert run.stdin == f"SYS\n\n{long}" and "SYS" not in " ".join(run.argv), name
        else:
            assert run.stdin == long and any("SYS" in part for part in run.argv), name
        resumed = launch.resume(adapter, "/bin/agent", "sess-1", long, opts)
        if resumed is not None:
            assert resumed.stdin == long and max(len(part) for part in resumed.argv) < 200, (name, resumed.argv)


def test_real_claude_code_reads_a_200_kib_prompt_from_stdin(tmp_path: Path) -> None:
    marker = "END-OF-THE-BIG-SPEC"
    prompt = "Work on issue t-big: the spec follows.\n" + "x" * BIG + f"\n{marker}"
    scripts = {"scripts": [{"match": marker, "turns": [{"text": "Read all of it."}]}]}
    server = ScriptedModelServer(parse_scenario(json.dumps(scripts).encode(), "big.json")).start()
    try:
        run = launch.start(ClaudeCode(), claude_binary(), prompt, "Run `shopfloor done` at the end.", AgentOptions())
        assert run.stdin == prompt and max(len(part) for part in run.argv) < 1000
        env = base_env(tmp_path)
        env.update(
            ANTHROPIC_BASE_URL=server.url,
            ANTHROPIC_API_KEY="scripted",
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
            IS_SANDBOX="1",
        )
        workspace = tmp_path / "ws"
        workspace.mkdir()
        done = subprocess.run(
            run.argv, input=run.stdin, cwd=workspace, env=env, capture_output=True, text=True, timeout=120, check=False
        )
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["type"] == "result" and result["result"] == "Read all of it."
    first = json.dumps(server.requests[0])
    assert marker in first and "Run `shopfloor done` at the end." in first
