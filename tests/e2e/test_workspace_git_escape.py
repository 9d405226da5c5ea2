"""An agent's workspace config must not run its programs with the floor's powers (field test of
issue 12). The floor runs git in the agent's workspace after the agent ends (the shim's wip
commit, a worker's removal); `core.fsmonitor`, a filter driver or `gpg.program` in that
workspace's `.git/config` would run there, outside the sandbox, able to write the main repository."""

from __future__ import annotations

import json
import subprocess

from conftest import SHOPFLOOR, Runner

RUN = ("run", "--agent", "scripted", "--builtins-only", "--terminal", "detached", "--until-idle")


def _plant_and_run(floor: Runner, sid: str, path: str, program: str, plant: str) -> subprocess.CompletedProcess[str]:
    """A floor run whose agent writes ``program`` to ``path`` in its workspace, runs ``plant``, and
    ends; with a deadline, so a floor that never goes idle fails the test."""
    turns = [
        {"tool": {"name": "Write", "input": {"file_path": path, "content": program}}},
        {"tool": {"name": "Bash", "input": {"command": plant}}},
        {"text": "done"},
    ]
    scenario = floor.cwd.parent / "scenario.json"
    scenario.write_text(json.dumps({"scripts": [{"match": sid, "turns": turns}]}))
    return subprocess.run(
        [str(SHOPFLOOR), *RUN], cwd=floor.cwd, env={**floor.env, "SHOPFLOOR_SCENARIO": str(scenario)},
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


def test_a_workspace_config_hook_runs_only_inside_the_agents_sandbox(floor: Runner) -> None:
    sid = floor.json("create", "Add a")["id"]
    main = floor.cwd
    escape = floor.cwd.parent / "escaped"
    # A program that, run outside the sandbox, moves a ref in the main repository and leaves a mark.
    hook = (
        "#!/bin/sh\n"
        f"git -C {main} update-ref refs/heads/pwned-by-agent HEAD 2>/dev/null\n"
        f"echo ran >> {escape} 2>/dev/null\n"
        "exec cat\n"  # as a clean filter: the file passes through; as fsmonitor: no answer, git scans
    )
    plant = (
        'chmod +x .git/esc.sh && git config core.fsmonitor "$PWD/.git/esc.sh"'
        " && git config filter.esc.clean \"$PWD/.git/esc.sh\" && echo '*.txt filter=esc' > .git/info/attributes"
        " && echo unsaved > left.txt"  # uncommitted: the floor's wip commit runs status, add, commit here
    )
    done = _plant_and_run(floor, sid, ".git/esc.sh", hook, plant)
    assert "pwned-by-agent" not in floor.git("branch", "--list"), done.stdout + done.stderr
    assert not escape.exists(), escape.read_text()
    # The floor did run git there: the uncommitted file was saved on the branch (inside the sandbox).
    assert "left.txt" in floor.git("log", "--all", "--name-only", "--format=", "--", "left.txt"), done.stdout


def test_a_workspace_that_declares_itself_a_partial_clone_cannot_run_a_program_through_a_lazy_fetch(
    floor: Runner,
) -> None:
    """Found by an adversary: the workspace's config makes it a partial clone whose promisor
    remote's upload-pack is the agent's script, and points the branch at a missing object. The
    floor's read-only git there (`rev-parse` before bringing the branch back) fetched the
    object lazily, running the script outside the sandbox."""
    sid = floor.json("create", "Fix a typo")["id"]
    escape = floor.cwd.parent / "escaped"
    script = (
        "#!/bin/sh\n"
        f"git -C {floor.cwd} update-ref refs/heads/pwned-by-agent HEAD 2>/dev/null\n"
        f"echo ran >> {escape} 2>/dev/null\n"
        'exec git-upload-pack "$@"\n'
    )
    missing = "1234567890123456789012345678901234567890"
    plant = (
        "set -e; chmod +x .git/p.sh; echo x >> README.md; git add README.md; git commit -qm typo;"
        " git config core.repositoryformatversion 1; git config extensions.partialClone evil;"
        ' git config remote.evil.url "$(git config remote.origin.url)"; git config remote.evil.promisor true;'
        f' git config remote.evil.uploadpack "$PWD/.git/p.sh"; echo {missing} > .git/refs/heads/floor/{sid}'
    )
    done = _plant_and_run(floor, sid, ".git/p.sh", script, plant)
    assert "pwned-by-agent" not in floor.git("branch", "--list"), done.stdout + done.stderr
    assert not escape.exists(), done.stdout + done.stderr
