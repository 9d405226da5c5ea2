"""Admission by what the machine can take (issue 13, section 5): a free slot is filled only while
free memory is above ``[floor] min_free_mb`` and the load below ``[floor] max_load``. The floor runs
for real through the CLI; the machine's reading is injected (``SHOPFLOOR_MACHINE_READING``), not squeezed."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import SHOPFLOOR, Runner
from shopfloor.errors import ValidationError
from shopfloor.floor import settings
from shopfloor.floor.admission import Limits, Reading, admit, read_machine
from workerkit import until

RUN = ("run", "--workers", "1", "--agent", "scripted", "--builtins-only", "--terminal", "detached", "--until-idle")


@pytest.mark.parametrize(
    ("reading", "limits", "ok", "reason"),
    [
        (Reading(1229, 0.5), Limits(2048, 4), False, "waiting for memory: 1.2 GB free, need 2.0 GB"),
        (Reading(300, 0.5), Limits(1024, 4), False, "waiting for memory: 300 MB free, need 1.0 GB"),
        (Reading(8192, 5.3), Limits(1024, 4), False, "waiting for load: 5.3 over 4.0"),
        (Reading(8192, 4.0), Limits(1024, 4), False, "waiting for load: 4.0 over 4.0"),  # at the limit: no room
        (Reading(100, 9.0), Limits(1024, 4), False, "waiting for memory: 100 MB free, need 1.0 GB"),  # memory first
        (Reading(1024, 3.9), Limits(1024, 4), True, "1.0 GB free, load 3.9"),
        (Reading(100, 9.0), Limits(None, None), True, "no limits"),  # both checks off
        (Reading(100, 0.1), Limits(None, 4), True, "load 0.1"),  # memory check off
        (Reading(None, None), Limits(1024, 4), True, "no limits"),  # a machine it cannot read does not stop it
    ],
)
def test_admit_decides_from_the_reading_and_the_limits(reading: Reading, limits: Limits, ok: bool, reason: str) -> None:
    assert admit(reading, limits) == (ok, reason)


def test_the_limits_parse_with_sensible_defaults_and_zero_or_none_turns_a_check_off() -> None:
    default = settings.parse({}, "c.toml")
    assert default.min_free_mb == 1024 and default.max_load == 2.0 * (os.cpu_count() or 1)
    off = settings.parse({"floor": {"min_free_mb": 0, "max_load": "none"}}, "c.toml")
    assert off.min_free_mb is None and off.max_load is None
    for bad in ({"min_free_mb": -1}, {"max_load": "high"}, {"max_load": True}):
        with pytest.raises(ValidationError, match=r"\[floor\] (min_free_mb|max_load) must be"):
            settings.parse({"floor": bad}, "c.toml")


def test_the_machine_is_read_from_proc_and_the_load_average(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOPFLOOR_MACHINE_READING", raising=False)
    now = read_machine()
    assert now.free_mb is not None and now.free_mb > 0
    assert now.load is not None and now.load >= 0


def _reading(path: Path, free_mb: float, load: float) -> None:
    """Replace the injected reading in one step: the running floor never reads half a file."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"free_mb": free_mb, "load": load}))
    tmp.replace(path)


def test_a_floor_short_of_memory_claims_nothing_says_why_and_fills_the_slot_once_it_can(floor: Runner) -> None:
    sid = floor.json("create", "Add a")["id"]
    turns = [
        {"tool": {"name": "Write", "input": {"file_path": "a.txt", "content": "a\n"}}},
        {"tool": {"name": "Bash", "input": {"command": "git add a.txt && git commit -qm 'add a'"}}},
        {"text": "done"},
    ]
    scenario = floor.cwd.parent / "scenario.json"
    scenario.write_text(json.dumps({"scripts": [{"match": sid, "turns": turns}]}))
    machine = floor.cwd.parent / "machine.json"
    _reading(machine, 300, 0.2)  # 300 MB free; the default needs 1024
    env = {**floor.env, "SHOPFLOOR_SCENARIO": str(scenario), "SHOPFLOOR_MACHINE_READING": str(machine)}
    proc = subprocess.Popen(
        [str(SHOPFLOOR), *RUN], cwd=floor.cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        idle = until(lambda: floor.json("status")["slots_idle"], "status to say why the slot is idle")
        assert idle["reason"] == "waiting for memory: 300 MB free, need 1.0 GB"
        assert "slots idle: waiting for memory: 300 MB free, need 1.0 GB" in floor("status").stdout
        # Waiting is not idle: --until-idle carries on; and nothing was claimed meanwhile.
        time.sleep(2)  # a few turns of the floor
        assert proc.poll() is None
        assert floor.json("show", sid)["status"] == "open"
        assert floor.json("worker", "list") == []
        _reading(machine, 8192, 0.2)  # the memory is back
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out + err
    assert floor.json("show", sid)["status"] == "closed"
    assert floor.git("show", "main:a.txt") == "a"
    # Said once when the waiting started and once when it ended, not at every turn.
    assert out.count("waiting for memory") == 1 and out.count("the machine can take agents again") == 1, out
    assert out.index("waiting for memory") < out.index("the machine can take agents again") < out.index("started")
    assert floor.json("status")["slots_idle"] is None  # the floor has ended: nothing waits


def test_a_bad_admission_limit_stops_the_run_before_anything_is_claimed(floor: Runner) -> None:
    sid = floor.json("create", "Add a")["id"]
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + '\n[floor]\nmin_free_mb = "lots"\n')
    scenario = floor.cwd.parent / "scenario.json"
    scenario.write_text(json.dumps({"scripts": [{"match": sid, "turns": [{"text": "done"}]}]}))
    bad = floor(*RUN, env={"SHOPFLOOR_SCENARIO": str(scenario)}, check=False)
    assert bad.returncode != 0
    assert len(bad.stderr.splitlines()) == 1, bad.stderr
    assert "[floor] min_free_mb must be a number of MB >= 0" in bad.stderr and "fix the file" in bad.stderr
    assert floor.json("show", sid)["status"] == "open" and floor.json("worker", "list") == []
    # So does an injected reading the floor cannot read.
    config.write_text(config.read_text().replace('min_free_mb = "lots"', "min_free_mb = 1024"))
    machine = floor.cwd.parent / "machine.json"
    machine.write_text("{not json")
    env = {"SHOPFLOOR_SCENARIO": str(scenario), "SHOPFLOOR_MACHINE_READING": str(machine)}
    bad = floor(*RUN, env=env, check=False)
    assert bad.returncode != 0 and len(bad.stderr.splitlines()) == 1, bad.stderr
    assert "$SHOPFLOOR_MACHINE_READING" in bad.stderr and "not a readable JSON object" in bad.stderr
    assert floor.json("show", sid)["status"] == "open" and floor.json("worker", "list") == []
