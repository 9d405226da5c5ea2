"""The agent's own lessons end to end (issue 15, section 2): a real floor with the scripted agent
asks the session of an issue that needed a second pass, once, what the next agent should know;
its bullets and the turn's tokens reach the retro on main, and the memory finds them."""

from __future__ import annotations

import json
from typing import Any

from conftest import Runner
from shopfloor.floor.retro import parse_front_matter
from test_floor import run_floor, scripted_sessions, setup_gate, write_commit

ASKED = "what the next agent working on this code should know"
LESSONS = "- Run the no-fixme check before committing\n- Never leave FIXME in c.txt\n- x\n- y\n- z\n- a sixth one"


def lessons_turn(text: str) -> dict[str, Any]:
    return {"text": text, "usage": {"input_tokens": 3000, "output_tokens": 60}}


def retro(floor: Runner, issue: str) -> tuple[dict[str, object], str]:
    text = floor.git("show", f"main:.agents/retros/{issue}.md")
    return parse_front_matter(text), text


def test_a_second_pass_leaves_the_agents_lessons_in_its_retro(floor: Runner) -> None:
    setup_gate(floor)
    refine = floor.json("create", "Add c")["id"]
    easy = floor.json("create", "Add e")["id"]
    crash = floor.json("create", "Add k")["id"]
    scripts = [
        {
            "match": refine,
            "turns": write_commit("c.txt", "c FIXME\n", "add c") + write_commit("c.txt", "c\n", "fix c")
            + [lessons_turn(LESSONS)],
        },
        {"match": easy, "turns": write_commit("e.txt", "e\n", "add e")},
        {  # its lessons turn crashes: the agent process is killed
            "match": crash,
            "turns": write_commit("k.txt", "k FIXME\n", "add k") + write_commit("k.txt", "k\n", "fix k")
            + [{"tool": {"name": "Bash", "input": {"command": "kill -9 $PPID"}}}],
        },
    ]  # fmt: skip
    scenario = floor.cwd.parent / "lessons.json"
    scenario.write_text(json.dumps({"scripts": scripts, "usd_per_mtok": {"input": 3.0, "output": 15.0}}))
    done = run_floor(floor, scenario)
    assert [floor.json("show", i)["status"] for i in (refine, easy, crash)] == ["closed"] * 3, done.stdout
    assert floor.json("worker", "list") == []

    said, text = retro(floor, refine)
    assert said["attempts"] == 2 and said["lessons"] == 5
    assert said["retro_tokens"] == 3060 and said["retro_cost_usd"] == 0.0099  # 3000 in at $3/M, 60 out at $15/M
    section = text.split("## Lessons (from the agent)\n\n", 1)[1]
    assert section.startswith("- Run the no-fixme check before committing\n- Never leave FIXME in c.txt\n")
    assert "a sixth one" not in text and "The lessons turn cost 3060 tokens" in section
    # The attempts' own tokens (the worker's running total when the second ended), the lessons turn apart.
    assert said["tokens"] == floor.json("show", refine)["attempts"][-1]["tokens"] == 12760

    said, text = retro(floor, easy)  # a first-pass landing is not asked (on-trouble, the default)
    assert said["lessons"] == "not-asked" and said["retro_tokens"] == 0
    asked = [s for s in scripted_sessions(floor) if ASKED in s]
    assert len(asked) == 2 and not any(easy in s for s in asked)

    said, text = retro(floor, crash)  # its lessons turn failed: the issue finished all the same
    assert said["lessons"] == "none" and "no lessons: its lessons turn ended failed" in text

    hits = floor.json("learn", "search", "no-fixme", "check", "before", "committing")
    assert f"retro:{refine}" in [h["id"] for h in hits]


def test_never_asks_nothing_and_a_bad_value_is_one_line(floor: Runner) -> None:
    setup_gate(floor)
    refine = floor.json("create", "Add c")["id"]
    turns = write_commit("c.txt", "c FIXME\n", "add c") + write_commit("c.txt", "c\n", "fix c") + [lessons_turn("- x")]
    scenario = floor.cwd.parent / "never.json"
    scenario.write_text(json.dumps({"scripts": [{"match": refine, "turns": turns}]}))
    config = floor.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + '\n[flywheel]\nask_agent = "sometimes"\n')
    bad = floor("run", "--until-idle", "--agent", "scripted", env={"SHOPFLOOR_SCENARIO": str(scenario)}, check=False)
    assert bad.returncode != 0 and bad.stderr.strip().count("\n") == 0, bad.stderr
    assert "flywheel.ask_agent" in bad.stderr and '"always", "on-trouble", "never"' in bad.stderr
    assert floor.json("show", refine)["status"] == "open"  # nothing was claimed
    config.write_text(config.read_text().replace('"sometimes"', '"never"'))
    run_floor(floor, scenario)
    said, _ = retro(floor, refine)
    assert said["attempts"] == 2 and said["lessons"] == "not-asked"
    assert not any(ASKED in s for s in scripted_sessions(floor))
