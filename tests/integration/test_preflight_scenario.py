"""`shopfloor run --agent scripted` opens and parses its scenario before it claims anything: a
missing or broken scenario used to claim an issue, crash three times and block it as a crash loop."""

from __future__ import annotations

from conftest import Runner
from test_preflight import RUN, nothing_claimed
from workerkit import issue


def test_a_missing_or_broken_scenario_is_one_line_and_claims_nothing(sf: Runner) -> None:
    sid = issue(sf)
    broken = sf.cwd.parent / "broken.json"
    broken.write_text('{"scripts": [{"match": "x", "turns": [{"tool": 3}]}')
    for path, said in (
        ("/nonexistent.json", "the scripted agent cannot read its scenario /nonexistent.json (No such file"),
        (str(broken), f"the scripted agent cannot use its scenario: {broken}:1: invalid JSON"),
    ):
        done = sf(*RUN, check=False, env={"SHOPFLOOR_SCENARIO": path})
        assert done.returncode == 2, done
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and said in lines[0], lines
        nothing_claimed(sf, sid)
