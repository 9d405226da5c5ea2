"""A person's review of a vibe-1 change (issue 16): line comments go to the *same* agent session
as its next prompt, the answer is gated again, the attempt timeline and the metrics know it, and
an approval lands it. Bad input changes nothing. Real `shopfloor run`, the scripted agent."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from conftest import Runner
from shopfloor.floor import lock
from test_floor import run_floor, setup_gate
from workerkit import wait_for

FIRST = "def greet(name):\n    return 'hi ' + name\n\n\nGREETING = greet('e')\n"
ANSWER = "def greet(name: str) -> str:\n    return f'hello {name}'\n\n\nGREETING = greet('e')\n"


def turns() -> list[dict[str, Any]]:
    """The first turn writes the change; the second (the resumed session) answers the review."""
    return [
        {"tool": {"name": "Write", "input": {"file_path": "greet.py", "content": FIRST}}},
        {"tool": {"name": "Write", "input": {"file_path": "NOTES.md", "content": "greet\n"}}},
        {"tool": {"name": "Bash", "input": {"command": "git add -A && git commit -qm 'add greet'"}}},
        {"text": "added greet"},
        {"tool": {"name": "Write", "input": {"file_path": "greet.py", "content": ANSWER}}},
        {"tool": {"name": "Bash", "input": {"command": "git commit -qam 'greet: the review'"}}},
        {"text": "answered the review"},
    ]


def waiting_change(floor: Runner) -> tuple[str, Path]:
    """A vibe-1 issue whose change waits for a person's approval."""
    setup_gate(floor)
    sid = floor.json("create", "Add greet", "--vibe", "1")["id"]
    path = floor.cwd.parent / "review-scenario.json"
    path.write_text(json.dumps({"scripts": [{"match": sid, "turns": turns()}]}))
    done = run_floor(floor, path)
    assert f"{sid}: gate needs approval" in done.stdout, done.stdout
    return sid, path


def db(floor: Runner) -> sqlite3.Connection:
    return sqlite3.connect(floor.cwd / ".git" / "shopfloor" / "tracker.db")


def session_prompts(floor: Runner, session: str) -> list[str]:
    """What the scripted agent's session was told, in order (its own transcript)."""
    home = Path(floor.env["SHOPFLOOR_SCRIPTED_HOME"])
    messages = json.loads((home / f"{session}.json").read_text())["messages"]
    return [m["content"] for m in messages if m["role"] == "user" and isinstance(m["content"], str)]


def state(floor: Runner, sid: str) -> tuple[Any, ...]:
    """What a refused review must leave as it was."""
    worker = floor.json("worker", "list")[0]
    with db(floor) as conn:
        reviews = conn.execute("SELECT COUNT(*) FROM reviews").fetchone()[0]
        queue = conn.execute("SELECT state FROM queue_entries WHERE issue = ?", (sid,)).fetchall()
    shown = floor.json("show", sid)
    return worker["generation"], worker["session_id"], reviews, queue, len(shown["attempts"]), len(shown["comments"])


def test_a_review_resumes_the_same_session_its_answer_is_gated_and_an_approval_lands_it(floor: Runner) -> None:
    sid, path = waiting_change(floor)
    before = state(floor, sid)
    session = before[1]
    # --show: the change file by file, with the line numbers a comment names.
    shown = floor("review", sid, "--show").stdout
    assert f"{sid}: floor/{sid} against main (2 files, " in shown
    assert "A greet.py" in shown and "  1 +def greet(name):" in shown and "  2 +    return 'hi ' + name" in shown
    data = floor.json("review", sid, "--show")
    assert [(f["path"], f["status"]) for f in data["files"]] == [("NOTES.md", "A"), ("greet.py", "A")]
    lines = data["files"][1]["hunks"][0]["lines"]
    assert lines[4] == {"kind": "add", "old": None, "new": 5, "text": "GREETING = greet('e')"}

    # Bad input: one line, a non-zero exit, nothing changed.
    bad = [
        (("--comment", "README.md:1:why?"), 2, "README.md is not a file this change touches"),
        (("--comment", "greet.py:99:why?"), 2, "greet.py has 5 lines: there is no line 99"),
        (("--comment", "greet.py:0:why?"), 2, "positive whole number"),
        (("--comment", "greet.py:1:  "), 2, "is empty"),
        (("--comment", "greet.py"), 2, "is not FILE:LINE:TEXT"),
        ((), 2, "at least one comment"),
        (("--from-file", str(floor.cwd.parent / "absent.json")), 3, "no review file"),
    ]
    for args, code, said in bad:
        done = floor("review", sid, *args, check=False)
        assert done.returncode == code, (args, done.stdout, done.stderr)
        assert said in done.stderr and done.stderr.count("\n") == 1, (args, done.stderr)
    agent = floor("review", sid, "--comment", "greet.py:1:x", actor="worker/someone", check=False)
    assert agent.returncode == 4 and "only a person reviews" in agent.stderr
    other = floor.json("create", "No worker yet")["id"]
    none = floor("review", other, "--comment", "greet.py:1:x", check=False)
    assert none.returncode == 4 and "has no worker" in none.stderr, none.stderr
    floor("close", other)  # not work for the floor below
    transcript = Path(floor.env["SHOPFLOOR_SCRIPTED_HOME"]) / f"{session}.json"
    transcript.rename(transcript.with_suffix(".away"))  # a session that cannot be resumed
    lost = floor("review", sid, "--comment", "greet.py:1:x", check=False)
    transcript.with_suffix(".away").rename(transcript)
    assert lost.returncode == 4 and f"session {session} is gone" in lost.stderr, lost.stderr
    assert state(floor, sid) == before

    # The review: two comments, each with its file and line, and a note; no floor runs, so it is sent now.
    sent = floor(
        "review", sid, "--comment", "greet.py:1:add type hints", "--comment", "greet.py:2:use an f-string: 'hello '",
        "--note", "otherwise fine", process=True,
    )  # fmt: skip
    assert sent.stdout.startswith(f"{sid}: review 1 (2 comments on greet.py and a note) sent to {sid}'s session")
    worker = wait_for(floor, sid)
    assert worker["session_id"] == session and worker["generation"] == before[0] + 1  # the same session, resumed
    told = session_prompts(floor, session)
    assert len(told) == 2, told
    assert "1. greet.py:1\n   code: def greet(name):\n   > add type hints" in told[1]
    assert "2. greet.py:2\n   code:     return 'hi ' + name\n   > use an f-string: 'hello '" in told[1]
    assert "Overall:\n> otherwise fine" in told[1]
    with db(floor) as conn:  # it left the queue: its answer is queued again once gated
        assert conn.execute("SELECT COUNT(*) FROM queue_entries WHERE issue = ?", (sid,)).fetchone()[0] == 0

    # The answer is gated like any attempt, and waits for approval again.
    done = run_floor(floor, path)
    assert f"{sid}: gate needs approval" in done.stdout, done.stdout
    assert floor.git("show", f"floor/{sid}:greet.py") == ANSWER.rstrip("\n")
    attempts = floor.json("show", sid)["attempts"]
    assert [(a["outcome"], a["input"]) for a in attempts] == [("reviewed", None), ("queued", "review")], attempts
    assert "2. scripted gen 2: needs-approval (failed: -)" in floor("show", sid).stdout
    assert ", answering a person's review" in floor("show", sid).stdout.split("2. scripted gen 2", 1)[1]
    said = [c["text"] for c in floor.json("show", sid)["comments"] if c["text"].startswith("review by ")]
    assert [t.split(": ", 1)[1] for t in said] == ["2 comments on greet.py and a note"], said
    figures = floor.json("metrics")
    assert figures["reviews"] == 1 and figures["by_vibe"]["1"]["reviews"] == 1, figures

    # Approve: it lands through the queue.
    floor("approve", sid)
    landed = run_floor(floor, path)
    assert "landed 1:" in landed.stdout, landed.stdout
    assert floor.json("show", sid)["status"] == "closed"
    assert floor.git("show", "main:greet.py") == ANSWER.rstrip("\n")
    figures = floor.json("metrics")
    assert figures["merged"] == 1 and figures["reviews_per_merged"] == 1.0, figures


def test_a_review_sent_while_a_floor_runs_waits_for_the_floor_which_resumes_the_session(floor: Runner) -> None:
    sid, path = waiting_change(floor)
    session = floor.json("worker", "list")[0]["session_id"]
    held = lock.acquire(floor.cwd / ".git" / "shopfloor")  # as a running `shopfloor run` holds it
    try:
        sent = floor.json("review", sid, "--comment", "greet.py:1:add type hints", process=True)
    finally:
        held.close()
    assert sent["resumed"] is False and sent["review"] == 1
    assert floor.json("worker", "list")[0]["generation"] == 1  # not resumed: the floor does it
    done = run_floor(floor, path)  # its turn finds the pending review, resumes, gates the answer
    assert f"{sid}: a person's review (1); resuming the same session with the review" in done.stdout, done.stdout
    adopted = f"{sid}: adopted worker {sid} (scripted, generation 1): a person's review waits; its session resumes"
    assert adopted in done.stdout, done.stdout
    assert f"{sid}: gate needs approval" in done.stdout.split("resuming the same session", 1)[1]
    worker = floor.json("worker", "list")[0]
    assert worker["session_id"] == session and worker["generation"] == 2
    assert "1. greet.py:1" in session_prompts(floor, session)[1]
    assert [a["input"] for a in floor.json("show", sid)["attempts"]] == [None, "review"]
