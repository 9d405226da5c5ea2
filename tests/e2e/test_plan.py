"""``shopfloor plan``: the scripted agent researches a read-only checkout and writes a plan, which is
checked as ``create -f`` checks it; ``create -f`` then makes issues linked to the plan.

Real git, the real bubblewrap sandbox, the real scripted agent process: nothing is mocked."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import Runner, base_env, copy_template

PLAN = """\
# Plan: greetings

## Add a greet function
type: feature
priority: 1
labels: core

app.py gets greet(name).

### Acceptance
greet("x") returns "hello x".

## Print the greeting
deps: blocks:#1

The main block prints greet("world").

### Acceptance
Running app.py prints hello world.
"""
OUT = ".agents/plans/add-greetings.md"


@pytest.fixture
def repo(tmp_path: Path, repo_template: Callable[[str], Path]) -> Runner:
    runner = Runner(copy_template(repo_template("committed"), tmp_path), base_env(tmp_path))
    (runner.cwd / "app.py").write_text("print('hi')\n")
    runner.git("add", "app.py")
    runner.git("commit", "-qm", "app")
    return runner


def tool(name: str, **given: Any) -> dict[str, Any]:
    return {"tool": {"name": name, "input": given}, "usage": {"input_tokens": 1000, "output_tokens": 50}}


def scenario(runner: Runner, *turns: dict[str, Any]) -> dict[str, str]:
    path = runner.cwd.parent / "plan-scenario.json"
    done = {"text": "The plan is written.", "usage": {"input_tokens": 1200, "output_tokens": 10}}
    path.write_text(json.dumps({"scripts": [{"match": "planning work", "turns": [*turns, done]}]}))
    return {"SHOPFLOOR_SCENARIO": str(path)}


def session(runner: Runner) -> dict[str, Any]:
    """The scripted agent's one saved session: what it was told, and what each tool call returned."""
    (found,) = Path(runner.env["SHOPFLOOR_SCRIPTED_HOME"]).glob("*.json")
    return dict(json.loads(found.read_text()))


def tool_results(runner: Runner) -> list[dict[str, Any]]:
    return [
        m["content"][0] for m in session(runner)["messages"] if m["role"] == "user" and isinstance(m["content"], list)
    ]


def snapshot(runner: Runner) -> tuple[str, str, str]:
    """HEAD, every ref, and the working tree's state: what a plan must leave as it was."""
    return (
        runner.git("rev-parse", "HEAD"),
        runner.git("for-each-ref"),
        runner.git("status", "--porcelain", "--untracked-files=all"),
    )


def test_plan_writes_a_checked_plan_and_create_makes_linked_issues(repo: Runner) -> None:
    env = scenario(
        repo,
        tool("Bash", command="ls && git log --oneline -1"),
        tool("Read", file_path="app.py"),
        tool("Write", file_path=OUT, content=PLAN),
    )
    done = repo("plan", "Add greetings", "--agent", "scripted", env=env)
    assert (repo.cwd / OUT).read_text() == PLAN
    assert f"wrote {OUT}: 2 proposed issue(s)" in done.stdout
    assert "#1  P1 feature Add a greet function  [core]" in done.stdout
    assert "#2  P2 task    Print the greeting  after #1" in done.stdout
    assert "tool  Write: " + OUT in done.stderr  # the progress line followed the session
    assert repo.json("list") == []  # a plan proposes; nothing is created yet
    # The agent researched the checkout of the target's tip, and was told the format and its one output.
    results = tool_results(repo)
    assert "app.py" in results[0]["content"] and repo.git("log", "--format=%h", "-1") in results[0]["content"]
    prompt = session(repo)["messages"][0]["content"]
    for needed in ("Add greetings", OUT, "## TITLE", "### Acceptance", "deps: blocks:#1", "read-only"):
        assert needed in prompt

    created = repo.json("create", "-f", OUT)
    first, second = created
    assert second["dependencies"] == [{"id": first["id"], "type": "blocks"}]
    assert first["acceptance"] == 'greet("x") returns "hello x".' and first["labels"] == ["core"]
    assert all(issue["metadata"] == {"plan": OUT} for issue in created)
    assert f"  plan {OUT}" in repo("show", second["id"]).stdout
    assert [i["id"] for i in repo.json("ready")] == [first["id"]]
    # Its issues keep the name taken after the file is gone: a new plan never links to the old set.
    (repo.cwd / OUT).unlink()
    again = OUT.replace(".md", "-2.md")
    done = repo(
        "plan", "Add greetings", "--agent", "scripted", env=scenario(repo, tool("Write", file_path=again, content=PLAN))
    )
    assert f"wrote {again}" in done.stdout and "git ignores" not in done.stdout
    # A plan under a name it was not told is not taken, and the error says where it went.
    wrong = repo(
        "plan",
        "Add greetings",
        "--agent",
        "scripted",
        check=False,
        env=scenario(repo, tool("Write", file_path=OUT, content=PLAN)),
    )
    assert wrong.returncode == 1 and "add-greetings.md in .agents/plans/ instead" in wrong.stderr
    assert not (repo.cwd / OUT).exists()


def test_a_plan_git_ignores_is_written_with_a_note(repo: Runner) -> None:
    (repo.cwd / ".gitignore").write_text(".*\n")  # as some projects do (tabulate's sdist)
    repo.git("add", "-f", ".gitignore")
    repo.git("commit", "-qm", "ignore dotted paths")
    done = repo(
        "plan", "Add greetings", "--agent", "scripted", env=scenario(repo, tool("Write", file_path=OUT, content=PLAN))
    )
    assert f"note: git ignores {OUT} (.gitignore:1: .*): commit it with git add -f" in done.stdout


def test_dry_runs_change_nothing(repo: Runner) -> None:
    before = snapshot(repo)
    done = repo(
        "plan",
        "Add greetings",
        "--agent",
        "scripted",
        "--dry-run",
        env=scenario(repo, tool("Write", file_path=OUT, content=PLAN)),
    )
    assert "dry run: 2 proposed issue(s), nothing written" in done.stdout
    assert "#2  P2 task    Print the greeting  after #1" in done.stdout
    assert snapshot(repo) == before and not (repo.cwd / OUT).exists()
    kept = Path(done.stdout.split("kept at ")[1].split(" (outside")[0])
    assert kept.read_text() == PLAN and not kept.is_relative_to(repo.cwd.resolve() / ".agents")

    shown = repo("create", "-f", str(kept), "--dry-run")
    assert "would create 2 issues" in shown.stdout and "#2  P2 task    Print the greeting  after #1" in shown.stdout
    assert repo.json("create", "-f", str(kept), "--dry-run")[1]["after"] == ["#1"]
    assert repo.json("list") == [] and snapshot(repo) == before
    refused = repo("create", "--dry-run", "a title", check=False)
    assert refused.returncode == 2 and "--dry-run goes with -f FILE" in refused.stderr


def test_the_planning_agent_can_write_nothing_but_its_plan(repo: Runner, tmp_path: Path) -> None:
    main = repo.cwd.resolve()
    before = snapshot(repo)
    attacks = [
        tool("Write", file_path="app.py", content="hacked\n"),  # a tracked file of its checkout
        tool("Bash", command="echo hacked > app.py"),
        tool("Bash", command="echo hacked > NEW.md"),
        tool("Bash", command=f"echo hacked >> {main}/app.py"),  # the repository's working tree
        tool("Bash", command=f"echo x > {main}/.agents/plans/sneaky.md"),
        tool("Bash", command=f"git -C {main} commit --allow-empty -qm hacked"),
        tool("Bash", command=f"git -C {main} update-ref refs/heads/main HEAD~1"),
        tool("Bash", command=f"touch {tmp_path}/escaped"),
        tool("Bash", command="touch ../escaped"),
    ]
    repo(
        "plan",
        "Add greetings",
        "--agent",
        "scripted",
        env=scenario(repo, *attacks, tool("Write", file_path=OUT, content=PLAN)),
    )
    results = tool_results(repo)
    assert [r["is_error"] for r in results] == [True] * len(attacks) + [False]
    assert "Read-only file system" in results[1]["content"]
    assert (main / "app.py").read_text() == "print('hi')\n"
    assert not (tmp_path / "escaped").exists() and not (main / ".agents/plans/sneaky.md").exists()
    head, refs, status = snapshot(repo)
    assert (head, refs) == before[:2]
    assert status == f"?? {OUT}"  # the one file shopfloor itself copied in


def test_a_plan_that_does_not_parse_is_refused_and_kept(repo: Runner) -> None:
    bad = PLAN.replace("### Acceptance\nRunning", "### Risks\nRunning")
    line = bad.splitlines().index("### Risks") + 1
    before = snapshot(repo)
    done = repo(
        "plan",
        "Add greetings",
        "--agent",
        "scripted",
        check=False,
        env=scenario(repo, tool("Write", file_path=OUT, content=bad)),
    )
    assert done.returncode == 2
    (error,) = [row for row in done.stderr.splitlines() if row.startswith("error:")]
    assert f"add-greetings.md:{line}: unknown section 'risks'" in error
    kept = Path(error.split("does not parse: ")[1].split(f":{line}:")[0])  # the error names where it is kept
    assert kept.read_text() == bad
    assert snapshot(repo) == before and repo.json("list") == []

    # A value create -f would refuse is refused here too, naming its line.
    worse = PLAN.replace("priority: 1", "priority: 9")
    done = repo(
        "plan",
        "Add greetings",
        "--agent",
        "scripted",
        check=False,
        env=scenario(repo, tool("Write", file_path=OUT, content=worse)),
    )
    assert done.returncode == 2 and "add-greetings.md:3: " in done.stderr and "priority" in done.stderr
    assert snapshot(repo) == before and repo.json("list") == []

    # No plan at all: one line naming the session's log.
    done = repo(
        "plan", "Add greetings", "--agent", "scripted", check=False, env=scenario(repo, tool("Bash", command="true"))
    )
    assert done.returncode == 1 and f"the agent wrote no plan at {OUT}" in done.stderr
    assert Path(done.stderr.split("session log is ")[1].strip()).is_file()


def test_hostile_goals_get_a_safe_file_name(repo: Runner, tmp_path: Path) -> None:
    goal = "../../../etc/x; $(touch pwned) `touch pwned2` && rm -rf ~"
    out = ".agents/plans/etc-x-touch-pwned-touch-pwned2-rm-rf.md"
    done = repo("plan", goal, "--agent", "scripted", env=scenario(repo, tool("Write", file_path=out, content=PLAN)))
    assert f"wrote {out}" in done.stdout and (repo.cwd / out).read_text() == PLAN
    assert not list(tmp_path.rglob("pwned*"))
    assert goal in session(repo)["messages"][0]["content"]  # the goal reaches the agent as text, unchanged
    # The same goal again never replaces the plan a person may be reviewing.
    again = repo(
        "plan",
        goal,
        "--agent",
        "scripted",
        env=scenario(repo, tool("Write", file_path=out.replace(".md", "-2.md"), content=PLAN)),
    )
    assert "wrote .agents/plans/etc-x-touch-pwned-touch-pwned2-rm-rf-2.md" in again.stdout
    refused = repo("plan", b"caf\xe9 \xff", "--agent", "scripted", check=False)
    assert refused.returncode == 2 and "not valid UTF-8" in refused.stderr
    assert repo("plan", "  ", "--agent", "scripted", check=False).returncode == 2


def test_a_missing_agent_is_one_line_naming_the_install(repo: Runner) -> None:
    config = repo.cwd / ".shopfloor" / "config.toml"
    config.write_text(config.read_text() + '\n[agents.claude]\nbinary = "claude-not-installed-here"\n')
    before = snapshot(repo)
    done = repo("plan", "Add greetings", check=False)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "npm install -g @anthropic-ai/claude-code" in done.stderr
    assert snapshot(repo) == before
    done = repo("plan", "Add greetings", "--agent", "claud", check=False)
    assert done.returncode == 2 and "did you mean claude?" in done.stderr


def test_a_session_past_its_timeout_is_stopped(repo: Runner) -> None:
    env = scenario(repo, tool("Bash", command="sleep 97.31"), tool("Write", file_path=OUT, content=PLAN))
    done = repo("plan", "Add greetings", "--agent", "scripted", "--timeout", "2", check=False, env=env, timeout=60)
    assert done.returncode == 1 and "ran past its 2 s" in done.stderr
    assert not (repo.cwd / OUT).exists()
    leftover = subprocess.run(["pgrep", "-f", "sleep 97.31"], capture_output=True, text=True, check=False)
    assert leftover.stdout == ""


@pytest.mark.parametrize(
    ("command", "said"),
    [
        # A plan that points elsewhere would have the floor read (and copy into the repository) a
        # file the agent could not read itself: never through a symlink.
        (f"ln -s /etc/passwd {OUT}", "it must be a plain file"),
        (f"mkfifo {OUT}", "not a plain file"),
        (f"head -c 17000000 /dev/zero | tr '\\0' x > {OUT}", "over 16 MB"),
    ],
)
def test_a_plan_that_is_not_a_plain_file_of_sane_size_is_refused(repo: Runner, command: str, said: str) -> None:
    before = snapshot(repo)
    done = repo(
        "plan", "Add greetings", "--agent", "scripted", check=False, env=scenario(repo, tool("Bash", command=command))
    )
    assert done.returncode != 0 and said in done.stderr, done.stderr
    assert [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert snapshot(repo) == before and repo.json("list") == []
    assert not (repo.cwd / OUT).exists() and not (repo.cwd / OUT).is_symlink()
