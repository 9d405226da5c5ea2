"""Admission by what the machine can take (issue 13, section 5): a free slot is filled only while
the machine has memory above ``[floor] min_free_mb`` and a load below ``[floor] max_load``.

Real agent CLIs use hundreds of MB each and gates need cores, so an agent started on a machine
that is out of either slows every other agent and gate (or gets killed by the OOM killer).

- ``admit`` is the pure decision: a reading and the limits in, (admitted, the reason in words) out.
- ``read_machine`` reads the machine: ``MemAvailable`` of ``/proc/meminfo`` and the 1-minute load
  average; with ``SHOPFLOOR_MACHINE_READING`` set, a JSON file ``{"free_mb": ..., "load": ...}``
  instead, read at every turn (tests change it while the floor runs).
- ``hold`` is what the coordinator calls before filling slots: it decides, records why slots
  stay idle where ``status`` reads it (``admission.json`` beside the tracker's database), and says
  so once when the waiting starts and once when it ends, not at every turn.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopfloor.errors import ValidationError
from shopfloor.workers.procs import is_alive

READING_ENV = "SHOPFLOOR_MACHINE_READING"
RECORD_NAME = "admission.json"


@dataclass(frozen=True)
class Reading:
    free_mb: float | None  # memory available to a new process, MB; None: unknown
    load: float | None  # the 1-minute load average; None: unknown


@dataclass(frozen=True)
class Limits:
    min_free_mb: float | None  # None: no memory check
    max_load: float | None  # None: no load check

    @property
    def enabled(self) -> bool:
        return self.min_free_mb is not None or self.max_load is not None


def _size(mb: float) -> str:
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def admit(reading: Reading, limits: Limits) -> tuple[bool, str]:
    """Whether the machine can take another agent, and why (pure). An unknown figure admits:
    a machine the floor cannot read is not one it should stop on."""
    if limits.min_free_mb is not None and reading.free_mb is not None and reading.free_mb < limits.min_free_mb:
        return False, f"waiting for memory: {_size(reading.free_mb)} free, need {_size(limits.min_free_mb)}"
    if limits.max_load is not None and reading.load is not None and reading.load >= limits.max_load:
        return False, f"waiting for load: {reading.load:.1f} over {limits.max_load:.1f}"
    parts = []
    if limits.min_free_mb is not None and reading.free_mb is not None:
        parts.append(f"{_size(reading.free_mb)} free")
    if limits.max_load is not None and reading.load is not None:
        parts.append(f"load {reading.load:.1f}")
    return True, ", ".join(parts) or "no limits"


def _injected(path: str) -> Reading:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        free, load = data.get("free_mb"), data.get("load")
        for value in (free, load):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ValueError(value)
    except (OSError, ValueError, AttributeError) as exc:
        raise ValidationError(
            f"${READING_ENV}={path}: not a readable JSON object of numbers ({exc}): "
            'write {"free_mb": 4096, "load": 0.5} there, or unset it to read the machine'
        ) from None
    return Reading(None if free is None else float(free), None if load is None else float(load))


def read_machine() -> Reading:
    """The machine now: MemAvailable (MB) and the 1-minute load average; or the injected reading."""
    injected = os.environ.get(READING_ENV)
    if injected:
        return _injected(injected)
    free: float | None = None
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                free = int(line.split()[1]) / 1024  # kB
                break
    except (OSError, ValueError, IndexError):
        free = None
    try:
        load: float | None = os.getloadavg()[0]
    except OSError:
        load = None
    return Reading(free, load)


def record_path(state_dir: Path) -> Path:
    return state_dir / RECORD_NAME


def waiting(state_dir: Path) -> dict[str, Any] | None:
    """Why the running floor's free slots stay idle ({"reason", "since", "pid"}), or None: nothing
    recorded, or recorded by a coordinator that has ended since."""
    try:
        data = json.loads(record_path(state_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("pid"), int) or not is_alive(data["pid"], None):
        return None
    return data


def hold(
    state_dir: Path,
    limits: Limits | None,
    wants: bool,
    now: str,
    progress: Callable[[str], None],
    reading: Callable[[], Reading] = read_machine,
) -> str | None:
    """Before filling slots: the reason they stay idle, or None to fill them. ``wants``: a slot is
    free and an issue is ready (otherwise nothing waits, and nothing is said)."""
    path = record_path(state_dir)
    before = waiting(state_dir)
    mine = before if before is not None and before.get("pid") == os.getpid() else None
    if not wants or limits is None or not limits.enabled:
        if mine is not None:
            path.unlink(missing_ok=True)
        return None
    ok, reason = admit(reading(), limits)
    if ok:
        if mine is not None:
            path.unlink(missing_ok=True)
            progress(f"the machine can take agents again ({reason}): filling slots")
        return None
    if mine is None:
        progress(f"{reason}: free slots stay idle until the machine can take another agent")
    if mine is None or mine.get("reason") != reason:
        since = mine["since"] if mine is not None else now
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"reason": reason, "since": since, "pid": os.getpid()}), encoding="utf-8")
        tmp.replace(path)
    return reason
