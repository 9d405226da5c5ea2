"""A worker is briefed with what the memory holds for its issue (issue 15, section 4): a note
committed under ``.agents/research/`` reaches its first prompt, its attempt records the note's
source id, it may search the memory through its channel (and nothing else new), and
``[flywheel] brief_tokens = 0`` turns the briefing off."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Runner
from test_floor import run_floor, scripted_sessions, setup_gate, write_commit

LESSON = "Quokka caches must be flushed before the zanzibar migration runs, or it deadlocks."
SOURCE = "research:zanzibar.md"


def commit_note(floor: Runner, extra_config: str = "") -> None:
    note = floor.cwd / ".agents" / "research" / "zanzibar.md"
    note.parent.mkdir(parents=True, exist_ok=True)
    note.write_text(f"# Zanzibar migration notes\n\n{LESSON}\n")
    if extra_config:
        config = floor.cwd / ".shopfloor" / "config.toml"
        config.write_text(config.read_text() + extra_config)
    floor.git("add", "-A")
    floor.git("commit", "-qm", "notes")


def first_prompt(floor: Runner, sid: str) -> str:
    run = floor.cwd / ".git" / "shopfloor" / "archive" / sid / "001-gen1"
    return str(json.loads((run / "prompts.jsonl").read_text().splitlines()[0])["prompt"])


def scenario_for(floor: Runner, sid: str, turns: list[dict[str, object]]) -> Path:
    path = floor.cwd.parent / f"{sid}.json"
    path.write_text(json.dumps({"scripts": [{"match": sid, "turns": turns}]}))
    return path


def test_a_research_note_briefs_the_worker_whose_issue_it_matches(floor: Runner) -> None:
    setup_gate(floor)
    commit_note(floor)
    sid = floor.json("create", "Speed up the zanzibar migration", "-d", "It deadlocks on big tables.")["id"]
    other = floor.json("learn", "search", "deadlocks")  # a person's view of the same memory
    assert [h["id"] for h in other] == [SOURCE]
    turns = [
        {"tool": {"name": "Bash", "input": {"command": "shopfloor learn search quokka"}}},
        {"tool": {"name": "Bash", "input": {"command": f"shopfloor learn show {SOURCE}"}}},
        {"tool": {"name": "Bash", "input": {"command": "shopfloor learn stats"}}},
        *write_commit("z.txt", "z\n", "add z"),
    ]
    run_floor(floor, scenario_for(floor, sid, turns))
    shown = floor.json("show", sid)
    assert shown["status"] == "closed"
    assert [a["learnings"] for a in shown["attempts"]] == [[SOURCE]]  # what the briefing included
    prompt = first_prompt(floor, sid)
    assert "Learnings from earlier work" in prompt and f"- {SOURCE} (research) Zanzibar migration notes" in prompt
    assert "zanzibar" in prompt.split(SOURCE, 1)[1].lower()  # the snippet of the lesson
    assert len(prompt.split("Learnings from earlier work", 1)[1].split("\n\n")[0]) <= 1500 * 4
    # Through its channel the agent searched and read the memory, and was refused anything more.
    session = next(s for s in scripted_sessions(floor) if sid in s)
    assert "[Quokka] caches must be flushed" in session and LESSON in session
    assert "refused: a worker may search the memory" in session


def test_brief_tokens_zero_leaves_the_learnings_out(floor: Runner) -> None:
    setup_gate(floor)
    commit_note(floor, "\n[flywheel]\nbrief_tokens = 0\n")
    sid = floor.json("create", "Speed up the zanzibar migration")["id"]
    run_floor(floor, scenario_for(floor, sid, write_commit("z.txt", "z\n", "add z")))
    shown = floor.json("show", sid)
    assert shown["status"] == "closed" and [a["learnings"] for a in shown["attempts"]] == [[]]
    prompt = first_prompt(floor, sid)
    assert f"Work on issue {sid}" in prompt
    assert "Learnings from earlier work" not in prompt and SOURCE not in prompt


def test_a_bad_brief_tokens_stops_the_floor_before_anything_is_claimed(floor: Runner) -> None:
    setup_gate(floor)
    commit_note(floor, "\n[flywheel]\nbrief_tokens = 99999\n")
    sid = floor.json("create", "Speed up the zanzibar migration")["id"]
    scenario = scenario_for(floor, sid, write_commit("z.txt", "z\n", "add z"))
    done = floor(
        "run", "--agent", "scripted", "--terminal", "detached", "--until-idle",
        env={"SHOPFLOOR_SCENARIO": str(scenario)}, check=False,
    )  # fmt: skip
    assert done.returncode != 0 and "flywheel.brief_tokens must be a whole number from 0 to 20000" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert floor.json("show", sid)["status"] == "open"


def test_the_retro_of_one_issue_briefs_the_next_that_names_its_files(floor: Runner) -> None:
    """The flywheel turning once: the floor's retro of a finished issue (its files: in the front
    matter) is in the first prompt of a later worker whose issue names one of those files."""
    setup_gate(floor)
    first = floor.json("create", "Add the exporter")["id"]
    run_floor(floor, scenario_for(floor, first, write_commit("exporter.py", "x = 1\n", "add exporter")))
    assert (floor.cwd / ".agents" / "retros" / f"{first}.md").exists()  # committed, and in the main checkout
    second = floor.json("create", "Make the exporter stream", "-d", "exporter.py loads everything.")["id"]
    run_floor(floor, scenario_for(floor, second, write_commit("exporter.py", "x = 2\n", "stream")))
    learned = [a["learnings"] for a in floor.json("show", second)["attempts"]]
    assert learned and learned[0][0] == f"retro:{first}", learned
    assert f"- retro:{first} (retro)" in first_prompt(floor, second)
