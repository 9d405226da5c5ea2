"""What the floor's lanes are doing, for ``status``: the gate pool's jobs and the queue lane.

Gate jobs and queue passes run in threads of the coordinator (``floor.gatepool``,
``queue.lane``), so no row says "being gated now". The coordinator writes ``lanes.json`` beside
the tracker's database when that changes (atomically: a temporary file, then a rename), and
``status`` reads it; a record left by a coordinator that has ended is ignored.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from shopfloor.workers.procs import is_alive

RECORD_NAME = "lanes.json"


class Publisher:
    """Writes the lanes' record when it changes, and removes it when the floor ends."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / RECORD_NAME
        self.last: dict[str, Any] | None = None

    def publish(self, gate_jobs: int, gating: list[tuple[str, float]], landing: bool) -> None:
        record = {
            "pid": os.getpid(),
            "gate_jobs": gate_jobs,
            "gating": [{"issue": issue, "since": round(since, 3)} for issue, since in sorted(gating)],
            "landing": landing,
        }
        if record == self.last:
            return
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record), encoding="utf-8")
        tmp.replace(self.path)
        self.last = record

    def close(self) -> None:
        if self.last is not None:
            self.path.unlink(missing_ok=True)


def read(state_dir: Path) -> dict[str, Any] | None:
    """The running floor's lanes ({"gate_jobs", "gating": [{"issue", "since"}], "landing"}), or None."""
    try:
        data = json.loads((state_dir / RECORD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("pid"), int) or not is_alive(data["pid"], None):
        return None
    return data


def describe(data: dict[str, Any], now: float) -> list[str]:
    """The lanes as ``status`` lines (pure)."""
    gating = data.get("gating") or []
    jobs = data.get("gate_jobs")
    names = ", ".join(f"{g['issue']} ({now - float(g['since']):.0f} s)" for g in gating)
    out = [f"gates: {len(gating)} of {jobs} running" + (f": {names}" if names else "")]
    out.append("queue lane: " + ("landing a batch" if data.get("landing") else "idle"))
    return out
