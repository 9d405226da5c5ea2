"""`make demo` runs `shopfloor demo`: the floor on a sample backlog, and it checks its own outcomes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import SHOPFLOOR, base_env
from test_claude_code import claude_binary


@pytest.mark.parametrize("agent", ["scripted", "claude"])
def test_the_floor_demo_lands_the_backlog_with_every_special_case(tmp_path: Path, agent: str) -> None:
    env = base_env(tmp_path)
    if agent == "scripted":
        env["SHOPFLOOR_DEMO_AGENT"] = "scripted"
    else:
        claude_binary()  # fails with what to install when the pinned Claude Code is missing
    keep = ["--keep"] if agent == "scripted" else []  # as `make demo` runs it
    done = subprocess.run(
        [str(SHOPFLOOR), "demo", *keep], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    out = done.stdout
    assert ("real Claude Code" in out) == (agent == "claude") and ("scripted agent" in out) == (agent == "scripted")
    assert "All expected outcomes happened" in out
    assert "merged 8" in out and "spirals 1" in out and "handoffs 1" in out
    assert "resuming the same session with the report" in out and "handoff" in out
    # The memory: the second-pass issue's retro is shown, and a later issue that depended on it
    # was briefed with it before the floor's tracker commit carried the retro to main.
    retro = out[out.index("# The memory: every finished issue leaves a retro.") :]
    first = retro.split(" needed a second pass", 1)[0].rsplit(" ", 1)[1]
    assert f".agents/retros/{first}.md on main:" in retro and "outcome: merged" in retro
    assert "signature ` no-fixme:" in retro and "fixed by attempt 2" in retro
    briefed = retro[retro.index(f"its first attempt was briefed with these learnings from {first}:") :]
    line = next(x for x in briefed.splitlines() if x.startswith(f"    - retro:{first} (retro) Retro of {first}: Write"))
    assert "Failed: no-fixme:" in line and ", fixed by attempt 2" in line  # what the next agent can act on
    if keep:  # its last line says how to open the kept repository in the dashboard
        last = out.strip().splitlines()[-1]
        assert last.startswith("see it in the dashboard: ") and " dashboard --repo " in last, last
        kept = Path(last.split(" --repo ", 1)[1].split(" (then", 1)[0])
        try:
            assert (kept / ".shopfloor" / "config.toml").is_file()
        finally:
            shutil.rmtree(kept.parent, ignore_errors=True)
