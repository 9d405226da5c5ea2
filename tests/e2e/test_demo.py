"""`make demo` is a deliverable: it must run start to finish and show what it claims."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import base_env


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shopfloor.tour"], capture_output=True, text=True, env=base_env(tmp_path), check=False
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    out = done.stdout
    assert "created 4 issues from plan.md" in out
    assert "is already claimed by agent-2" in out
    assert "would make a dependency cycle" in out
    assert "Merge made by" in out and "CONFLICT" not in out
    # Both branches' edits survive the merge and the automatic import.
    show = out[out.index("$ shopfloor show") :]
    assert "Write the user guide and the FAQ" in show and "priority P1" in show and "docs, urgent" in show
    assert "FAIL" not in out
    # The worker committed on its own branch and reported the scenario's usage.
    assert "Add a changelog" in out[out.index("$ git log --oneline -2 floor/") :]
    assert "worker done (exit status 0)" in out and "scripted [#" in out
    assert "has unmerged work" in out
