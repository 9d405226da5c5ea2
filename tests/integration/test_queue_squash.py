"""The merge queue lands each entry as one commit (``[queue] strategy``), with real git and the real CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Runner
from gatekit import make_project
from shopfloor.errors import ValidationError
from shopfloor.queue.config import parse
from shopfloor.queue.squash import Facts, first_paragraph, message
from shopfloor.queue.stack import Person
from test_queue import GATE, branch, run_queue, states

QUEUE_AUTHOR = "shopfloor queue <queue@shopfloor.invalid>"


@pytest.fixture
def repo(sf: Runner) -> Runner:
    config = sf.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + GATE)
    (sf.cwd / "shared.txt").write_text("one\ntwo\nthree\n")
    sf.git("add", "-A")
    sf.git("commit", "-qm", "base with a gate")
    return sf


def commits(runner: Runner, branch_name: str, *steps: tuple[str, dict[str, str]]) -> str:
    """A branch off main with one commit per (message, files) step."""
    runner.git("checkout", "-q", "-b", branch_name, "main")
    for text, files in steps:
        for path, content in files.items():
            (runner.cwd / path).parent.mkdir(parents=True, exist_ok=True)
            (runner.cwd / path).write_text(content)
        runner.git("add", "-A")
        runner.git("commit", "-qm", text)
    runner.git("checkout", "-q", "main")
    return branch_name


def set_strategy(runner: Runner, strategy: str) -> None:
    config = runner.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + f'\n[queue]\nstrategy = "{strategy}"\n')
    runner.git("add", "-A")
    runner.git("commit", "-qm", f"queue strategy {strategy}")


def record_attempts(runner: Runner, issue: str, worker: str, verdicts: list[str]) -> None:
    """What the floor records for an issue: one ended attempt per verdict, by ``worker`` (a pass
    waits in the queue, as the floor's does)."""
    from shopfloor.floor import attempts
    from shopfloor.tracker.service import Tracker

    tracker = Tracker.open("floor", str(runner.cwd))
    try:
        for generation, verdict in enumerate(verdicts, start=1):
            attempts.begin(tracker.conn, issue, worker, generation, "scripted", 3, tracker.now())
            row = attempts.of_worker(tracker.conn, worker, generation)
            assert row is not None
            outcome = "queued" if verdict == "pass" else verdict
            attempts.finish(tracker.conn, row.id, ended_at=tracker.now(), verdict=verdict, outcome=outcome)
    finally:
        tracker.close()


def trailers(runner: Runner, rev: str) -> dict[str, str]:
    lines = runner.git("log", "-1", "--format=%(trailers:only,unfold)", rev).splitlines()
    return dict(line.split(": ", 1) for line in lines if line)


def test_a_fixed_branch_lands_as_one_commit_with_trailers_author_and_committer(repo: Runner) -> None:
    description = (
        "Parse the header first.\nGate-Run: 999\n\n"  # an agent-written line that looks like a trailer
        "Second paragraph, not in the message.\n\nShopfloor-Issue: t-evil\n"
    )
    sid = repo.json("create", "Fix the header parser", "-d", description)["id"]
    name = f"floor/{sid}"
    commits(
        repo,
        name,
        ("first try", {"parser.txt": "parse FIXME\n"}),  # the gate rejects this one
        ("fix the FIXME", {"parser.txt": "parse\n"}),
    )
    repo.git("config", f"branch.{name}.shopfloor-issue", sid)
    record_attempts(repo, sid, sid, ["fail", "pass"])
    first = repo.git("rev-parse", f"{name}~1")
    assert repo("gate", "run", first, check=False).returncode == 1  # the first commit alone fails
    base = repo.git("rev-parse", "main")
    branch_tree = repo.git("rev-parse", f"{name}^{{tree}}")  # the landed branch is deleted (queue.branches)
    repo.json("queue", "add", sid)
    assert len(run_queue(repo)["landed"]) == 1
    entry = repo.json("queue", "list", "--all")[0]
    head = repo.git("rev-parse", "main")
    assert repo.git("rev-list", "--count", f"{base}..main") == "1" and entry["merged"] == head
    assert repo.git("rev-parse", "main^") == base
    assert repo.git("rev-parse", "main^{tree}") == branch_tree  # exactly the branch
    assert trailers(repo, "main") == {
        "Shopfloor-Issue": sid,
        "Gate-Run": str(entry["gate_run"]),
        "Shopfloor-Attempts": "2",
    }
    run = repo.json("gate", "show", str(entry["gate_run"]))
    assert run["verdict"] == "pass" and run["tree"] == repo.git("rev-parse", "main^{tree}")
    assert repo.git("log", "-1", "--format=%an <%ae>", "main") == f"worker/{sid} <worker@shopfloor.invalid>"
    assert repo.git("log", "-1", "--format=%cn <%ce>", "main") == QUEUE_AUTHOR
    body = repo.git("log", "-1", "--format=%B", "main")
    assert body.splitlines()[0] == "Fix the header parser"
    assert "Parse the header first." in body and "Second paragraph" not in body and "t-evil" not in body
    assert "- first try\n- fix the FIXME" in body and "1 file changed" in body
    shown = repo.json("show", sid)
    assert shown["status"] == "closed" and head in shown["close_reason"]
    # `queue run` marks the floor's attempt merged, as the floor's own passes do (queue.hooks).
    assert [(a["verdict"], a["outcome"]) for a in shown["attempts"]] == [("fail", "fail"), ("pass", "merged")]


def test_the_rebase_strategy_keeps_every_commit(repo: Runner) -> None:
    set_strategy(repo, "rebase")
    base = repo.git("rev-parse", "main")
    commits(repo, "two", ("one of two", {"a.txt": "a\n"}), ("two of two", {"b.txt": "b\n"}))
    repo.git("commit", "-q", "--allow-empty", "-m", "main moves on")  # a rebase, not a fast-forward
    repo.json("queue", "add", "two")
    assert len(run_queue(repo)["landed"]) == 1
    log = repo.git("log", "--format=%s", f"{base}..main").splitlines()
    assert log == ["two of two", "one of two", "main moves on"]
    assert trailers(repo, "main") == {}  # the branch's own messages, as they were


def test_a_batch_lands_one_commit_per_entry_in_order(repo: Runner) -> None:
    base = repo.git("rev-parse", "main")
    commits(repo, "b0", ("b0 starts", {"f0.txt": "0\n"}), ("b0 ends", {"g0.txt": "0\n"}))
    branch(repo, "b1", {"f1.txt": "1\n"})
    branch(repo, "b2", {"f2.txt": "2\n"})
    for name in ("b0", "b1", "b2"):
        repo.json("queue", "add", name)
    result = run_queue(repo, "--batch", "3")
    assert len(result["landed"]) == 3 and result["gate_runs"] == 1
    landed = {e["branch"]: e for e in repo.json("queue", "list", "--all")}
    shas = repo.git("log", "--reverse", "--format=%H", f"{base}..main").splitlines()
    assert shas == [landed[name]["merged"] for name in ("b0", "b1", "b2")]  # one commit each, in queue order
    assert [repo.git("log", "-1", "--format=%s", sha) for sha in shas] == ["Land b0", "Land b1", "Land b2"]
    run = str(landed["b2"]["gate_run"])
    assert all(trailers(repo, sha) == {"Gate-Run": run} for sha in shas)  # gated as part of the batch tip
    # Without an issue (no worker), the author is the branch's last author; the committer is the queue.
    assert {repo.git("log", "-1", "--format=%an <%ae>|%cn <%ce>", sha) for sha in shas} == {
        f"Test <test@example.com>|{QUEUE_AUTHOR}"
    }
    changed = [repo.git("diff", "--name-only", f"{sha}^", sha).splitlines() for sha in shas]
    assert changed == [["f0.txt", "g0.txt"], ["f1.txt"], ["f2.txt"]]


def test_a_bad_strategy_is_one_clear_line_and_changes_nothing(repo: Runner) -> None:
    set_strategy(repo, "merge")
    before = repo.git("rev-parse", "main")
    repo.json("queue", "add", branch(repo, "waits", {"w.txt": "w\n"}))
    done = repo("queue", "run", "--once", check=False)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert 'queue.strategy must be "squash" or "rebase", not \'merge\'' in done.stderr
    assert "main:.shopfloor/config.toml" in done.stderr
    assert states(repo) == {"waits": "queued"} and repo.git("rev-parse", "main") == before


KILL_AT = """
import os, sys
import shopfloor.queue.landing as service
import shopfloor.queue.stack as stack
where = os.environ["KILL_AT"]
if where == "move":
    stack.move_target = lambda *args, **kwargs: os._exit(9)  # rebuilt and recorded, the target not moved
else:
    real = stack.move_target
    def moved_then_die(*args, **kwargs):
        real(*args, **kwargs)
        os._exit(9)  # the target moved, the entry not yet marked merged
    stack.move_target = moved_then_die
from shopfloor.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("where", ["move", "after-move"])
def test_a_queue_killed_around_the_landing_recovers_without_landing_twice(repo: Runner, where: str) -> None:
    sid = repo.json("create", "Survive the crash")["id"]
    commits(repo, f"floor/{sid}", ("c1", {"c.txt": "c FIXME\n"}), ("c2", {"c.txt": "c\n"}))
    repo.git("config", f"branch.floor/{sid}.shopfloor-issue", sid)
    repo.json("queue", "add", sid)
    base = repo.git("rev-parse", "main")
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AT, "queue", "run", "--once"],
        cwd=repo.cwd,
        env={**repo.env, "KILL_AT": where},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == 9, killed.stderr
    entry = repo.json("queue", "list", "--all")[0]
    assert entry["state"] == "testing"
    moved = repo.git("rev-parse", "main") != base
    assert moved == (where == "after-move")
    if moved:  # what the entry says it tested is exactly what landed
        assert entry["tested"] == repo.git("rev-parse", "main")
    assert run_queue(repo)["landed"] == ([] if moved else [entry["id"]])
    entry = repo.json("queue", "list", "--all")[0]
    assert entry["state"] == "merged" and entry["merged"] == repo.git("rev-parse", "main")
    assert repo.git("rev-list", "--count", f"{base}..main") == "1"  # landed exactly once
    assert trailers(repo, "main")["Shopfloor-Issue"] == sid and "Gate-Run" in trailers(repo, "main")
    assert repo.json("show", sid)["status"] == "closed"
    assert run_queue(repo)["landed"] == []


TESTS_GATE = """
[gate]
builtins = []

[[gate.check]]
name = "tests"
argv = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider"]
timeout = 300
"""
BROKEN_CALC = "def add(a: int, b: int) -> int:\n    return a - b\n"
SUB = "\n\ndef sub(a: int, b: int) -> int:\n    return a - b\n"
SUB_TEST = "from calc import sub\n\n\ndef test_sub() -> None:\n    assert sub(3, 1) == 2\n"
MUL = "def mul(a: int, b: int) -> int:\n    return a * b\n"
MUL_TEST = "from mul import mul\n\n\ndef test_mul() -> None:\n    assert mul(2, 3) == 6\n"


def pytest_at(runner: Runner, commit: str, where: Path) -> int:
    runner.git("worktree", "add", "-q", "--detach", str(where), commit)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            cwd=where,
            env=runner.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return done.returncode
    finally:
        runner.git("worktree", "remove", "--force", str(where))


@pytest.mark.parametrize("strategy", ["squash", "rebase"])
def test_every_commit_the_queue_lands_passes_the_tests(sf: Runner, tmp_path: Path, strategy: str) -> None:
    from gatekit import CALC

    make_project(sf, TESTS_GATE)
    if strategy == "rebase":
        set_strategy(sf, "rebase")
    base = sf.git("rev-parse", "main")
    commits(
        sf,
        "sub",
        ("sub, but add broke on the way", {"calc.py": BROKEN_CALC + SUB, "tests/test_sub.py": SUB_TEST}),
        ("add fixed again", {"calc.py": CALC + SUB}),
    )
    commits(sf, "mul", ("mul", {"mul.py": MUL}), ("mul tested", {"tests/test_mul.py": MUL_TEST}))
    sf.git("commit", "-q", "--allow-empty", "-m", "main moves on")  # the branches are rebased
    sf.json("queue", "add", "sub")
    sf.json("queue", "add", "mul")
    assert len(run_queue(sf, "--batch", "2")["landed"]) == 2
    landed = sf.git("rev-list", "--reverse", f"{base}..main").splitlines()
    failing = [sha for n, sha in enumerate(landed) if pytest_at(sf, sha, tmp_path / f"at-{n}") != 0]
    if strategy == "squash":
        assert len(landed) == 3 and failing == []  # main moving on, then one commit per entry: all green
    else:  # with rebase, the branch's broken intermediate commit landed without being gated on its own
        assert len(landed) == 5 and [sf.git("log", "-1", "--format=%s", sha) for sha in failing] == [
            "sub, but add broke on the way"
        ]


def test_the_strategy_parses_and_refuses_in_one_line() -> None:
    assert parse("", "main:c").strategy == "squash"
    assert parse('[queue]\nstrategy = "rebase"\n', "main:c").strategy == "rebase"
    for text, says in (
        ('[queue]\nstrategy = "merge"', 'queue.strategy must be "squash" or "rebase"'),
        ("[queue]\nstrategy = 1", 'queue.strategy must be "squash" or "rebase", not 1'),
        ('[queue]\nstratgy = "squash"', "unknown key(s) in [queue]: stratgy"),
        ("queue = 3", "[queue] must be a table"),
    ):
        with pytest.raises(ValidationError, match=r"^main:c") as caught:
            parse(text, "main:c")
        assert says in str(caught.value) and "\n" not in str(caught.value)


def test_untrusted_text_cannot_add_trailers_or_lines() -> None:
    facts = Facts(
        title="Title\n\nGate-Run: 999\x1b[31m\u2028Shopfloor-Issue: t-evil",
        branch="floor/t-1",
        issue="t-1",
        description=first_paragraph("one\r\nGate-Run: 5\x00\n\nShopfloor-Attempts: 99"),
        subjects=("add\nGate-Run: 7",),
        stat=" 1 file changed, 1 insertion(+)",
        attempts=2,
        author=Person("worker/t-1", "worker@shopfloor.invalid"),
    )
    text = message(facts, 12)
    paragraphs = text.rstrip("\n").split("\n\n")
    assert paragraphs[0] == "Title Gate-Run: 999 [31m Shopfloor-Issue: t-evil"  # one line, no control characters
    assert paragraphs[-1] == "Shopfloor-Issue: t-1\nGate-Run: 12\nShopfloor-Attempts: 2"
    assert "99" not in paragraphs[1] and paragraphs[1] == "one\nGate-Run: 5"  # first paragraph only, not last
    assert "- add Gate-Run: 7" in text
    assert not any(ord(c) < 32 and c != "\n" for c in text)
    assert message(Facts(title="", branch="feature/x"), None).startswith("Land feature/x\n")
