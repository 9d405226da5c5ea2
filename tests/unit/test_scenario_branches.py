"""A scenario script's branches: the scripted agent plays other turns when its first prompt
holds a given text (how the flywheel bench scripts an agent that acts on a lesson it was told)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shopfloor.errors import ValidationError
from shopfloor.models.scenario import next_turn, parse_scenario

SCENARIO: dict[str, Any] = {
    "scripts": [
        {
            "match": "sf-1",
            "turns": [{"text": "the usual path"}],
            "branches": [
                {"contains": "no-print-calls", "turns": [{"text": "the path the lesson taught"}]},
                {"contains": "no-print", "turns": [{"text": "never reached when the first branch matches"}]},
            ],
        }
    ]
}


def first_text(prompt: str, messages: list[Any] | None = None) -> str:
    scripts = parse_scenario(json.dumps(SCENARIO).encode(), "s.json")
    return next_turn(scripts, [{"role": "user", "content": prompt}, *(messages or [])]).text


def test_the_first_branch_whose_text_the_first_prompt_holds_is_played() -> None:
    assert first_text("work on sf-1") == "the usual path"
    assert first_text("work on sf-1; learned: gate check no-print-calls failed") == "the path the lesson taught"
    assert first_text("work on sf-1; no-print only") == "never reached when the first branch matches"
    # the branch is chosen by the first prompt only: a later message naming it changes nothing
    later = [{"role": "assistant", "content": "ok"}, {"role": "user", "content": "no-print-calls"}]
    assert first_text("work on sf-1", later) == "(scripted model: the scenario has no more turns)"


@pytest.mark.parametrize(
    "branches, says",
    [
        ({"contains": "x"}, "branches must be a list"),
        ([{"contains": "", "turns": [{"text": "t"}]}], "branch 1: needs a non-empty contains"),
        ([{"contains": "x", "turns": []}], "branch 1: needs a non-empty list of turns"),
        ([{"contains": "x", "turns": [{"text": "t"}], "when": 1}], "branch 1: must be"),
    ],
)
def test_a_malformed_branch_is_one_error_naming_it(branches: Any, says: str) -> None:
    bad = {"scripts": [{"match": "m", "turns": [{"text": "t"}], "branches": branches}]}
    with pytest.raises(ValidationError, match=says):
        parse_scenario(json.dumps(bad).encode(), "bad.json")


def test_the_scripted_agent_acts_on_the_branch_its_prompt_chose(tmp_path: Path) -> None:
    scenario = {
        "scripts": [
            {
                "match": "sf-1",
                "turns": [
                    {"tool": {"name": "Write", "input": {"file_path": "out.txt", "content": "mistake\n"}}},
                    {"text": "done"},
                ],
                "branches": [
                    {
                        "contains": "no-print-calls",
                        "turns": [
                            {"tool": {"name": "Write", "input": {"file_path": "out.txt", "content": "right\n"}}},
                            {"text": "done"},
                        ],
                    }
                ],
            }
        ]
    }
    (tmp_path / "s.json").write_text(json.dumps(scenario))
    env = {**os.environ, "SHOPFLOOR_SCRIPTED_HOME": str(tmp_path / "sessions")}
    for prompt, wrote in (("sf-1", "mistake\n"), ("sf-1, mind the no-print-calls check", "right\n")):
        subprocess.run(
            [sys.executable, "-m", "shopfloor.agents.scripted_agent", "--scenario", str(tmp_path / "s.json"),
             f"--print={prompt}"],
            cwd=tmp_path, env=env, check=True, capture_output=True,
        )  # fmt: skip
        assert (tmp_path / "out.txt").read_text() == wrote


def test_a_script_is_chosen_by_the_prompt_without_its_learnings_but_a_branch_sees_them() -> None:
    from shopfloor.learn.brief import HEADER
    from shopfloor.models.scenario import LEARNINGS, without_learnings

    assert HEADER.startswith(LEARNINGS)  # the scenario knows where the floor's block begins
    earlier = {"match": "sf-0", "turns": [{"text": "sf-0's script"}]}
    scripts = parse_scenario(json.dumps({"scripts": [earlier, *SCENARIO["scripts"]]}).encode(), "s.json")
    learned = f"{HEADER}\n- retro:sf-0 (retro) Retro of sf-0: gate check no-print-calls failed"
    prompt = f"Work on issue sf-1: add a command\n\n{learned}\n\nThe repository's AGENTS.md says: ..."
    assert without_learnings(prompt) == "Work on issue sf-1: add a command\n\nThe repository's AGENTS.md says: ..."
    assert next_turn(scripts, [{"role": "user", "content": prompt}]).text == "the path the lesson taught"
    assert next_turn(scripts, [{"role": "user", "content": f"Work on issue sf-0: x\n\n{learned}"}]).text == (
        "sf-0's script"
    )
    assert without_learnings(f"a\n\n{HEADER}\n- x") == "a\n\n"  # a block at the end
