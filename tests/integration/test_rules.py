"""Promotion to rules (issue 15, section 5) through the real command line and real git: a failure
that recurs across finished issues is proposed, and a person's decisions reach AGENTS.md on a
queued branch, inside the section shopfloor manages."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

import shopfloor.floor.tables  # noqa: F401  (every package's tables, as the CLI registers them)
from conftest import Runner
from shopfloor.channel import policy
from shopfloor.faults import RULES_POINTS
from shopfloor.floor import attempts
from shopfloor.learn.rules import BEGIN, END
from shopfloor.tracker import db

NOW = "2026-01-01T00:00:00.000000Z"
SIGNATURE = "ruff:0123abcd"
OWN = "# Our agents\n\nKeep the diff small.\n"


def finished(sf: Runner, title: str, signature: str) -> str:
    """An issue the floor finished: closed after a merged attempt, its first pass failing with ``signature``."""
    issue = sf.json("create", title)["id"]
    conn = db.connect(Path(sf.git("rev-parse", "--absolute-git-dir")) / "shopfloor" / "tracker.db", create=False)
    try:
        attempts.begin(conn, issue, f"w-{issue}", 1, "scripted", 3, NOW)
        attempts.begin(conn, issue, f"w-{issue}", 2, "scripted", 3, NOW)
        first, second = attempts.of_issue(conn, issue)
        with db.transaction(conn):
            attempts.finish(
                conn, first.id, gate_run=1, verdict="fail", signatures=[signature], outcome="failed", ended_at=NOW
            )
            attempts.finish(
                conn, second.id, gate_run=2, verdict="pass", diff_stat="1 file changed", outcome="merged", ended_at=NOW
            )
    finally:
        conn.close()
    sf("close", issue)
    return issue


def on_branch(sf: Runner, branch: str, path: str = "AGENTS.md") -> str:
    """The file's exact bytes on ``branch`` (``Runner.git`` strips its output)."""
    done = subprocess.run(["git", "show", f"{branch}:{path}"], cwd=sf.cwd, env=sf.env, capture_output=True, check=True)
    return done.stdout.decode()


def setup(sf: Runner) -> list[str]:
    (sf.cwd / "AGENTS.md").write_text(OWN)
    (sf.cwd / "CLAUDE.md").write_text("# Claude\n")
    sf.git("add", "AGENTS.md", "CLAUDE.md")
    sf.git("commit", "-q", "-m", "context files")
    return [finished(sf, f"issue {n}", SIGNATURE) for n in range(2)]


def test_a_failure_in_three_issues_is_proposed_once_not_in_two(sf: Runner) -> None:
    issues = setup(sf)
    finished(sf, "other failure", "mypy:ffff0000")
    assert sf.json("rules", "list") == []  # the same signature in 2 issues: not yet
    issues.append(finished(sf, "issue 3", SIGNATURE))
    [rule] = sf.json("rules", "list")
    assert (rule["state"], rule["signature"]) == ("proposed", SIGNATURE)
    assert sorted(e["issue"] for e in rule["evidence"]) == sorted(issues)
    assert {e["fixed_by"] for e in rule["evidence"]} == {2}
    assert {e["retro"] for e in rule["evidence"]} == {f".agents/retros/{i}.md" for i in issues}
    assert sf.json("rules", "list") == [rule]  # refreshed again: the same one rule
    assert "fixed by attempt 2 (1 file changed)" in sf("rules", "show", str(rule["id"])).stdout
    assert sf.json("rules", "list", "--state", "accepted") == []


def test_accept_edit_retire_write_only_the_managed_section_on_queued_branches(sf: Runner) -> None:
    setup(sf)
    finished(sf, "issue 3", SIGNATURE)
    rid = str(sf.json("rules", "list")[0]["id"])
    done = sf.json("rules", "accept", rid, "--text", "Run ruff before handing in.")
    assert done["rule"]["state"] == "accepted" and done["rule"]["accepted_by"]
    assert done["branch"] == "rules/1" and done["files"] == ["AGENTS.md", "CLAUDE.md"]
    text = on_branch(sf, "rules/1")
    assert text.startswith(OWN)  # the rest of the file byte-identical
    section = text[len(OWN) :]
    assert section.startswith("\n" + BEGIN) and section.endswith(END + "\n")
    assert f"- Run ruff before handing in. (rule {rid}; evidence: .agents/retros/" in section
    assert BEGIN in on_branch(sf, "rules/1", "CLAUDE.md")
    assert sf.git("ls-tree", "--name-only", "rules/1", "GEMINI.md") == ""  # absent: not created
    [entry] = sf.json("queue", "list")
    assert entry["branch"] == "rules/1" and entry["issue"] == done["issue"]
    issue = sf.json("show", done["issue"])
    assert issue["title"].startswith("rules: ") and issue["vibe"] == 1 and issue["status"] == "deferred"

    again = sf.json("rules", "accept", rid, "--text", "Run ruff before handing in.")
    assert again["branch"] == "rules/1"  # idempotent: the queued branch already says it
    assert len(sf.json("queue", "list")) == 1

    edited = sf.json("rules", "edit", rid, "--text", "Run ruff format, then ruff check.")
    assert edited["branch"] == "rules/2"
    text2 = on_branch(sf, "rules/2")
    assert text2.startswith(OWN) and "Run ruff format, then ruff check." in text2
    assert "Run ruff before handing in." not in text2 and text2.count(BEGIN) == 1

    assert sf.git("branch", "--list", "rules/1") == ""  # superseded: out of the queue, its issue closed
    assert sf.json("show", done["issue"])["status"] == "closed"
    assert [e["branch"] for e in sf.json("queue", "list")] == ["rules/2"]

    sf.git("merge", "-q", "--ff-only", "rules/2")  # as if it landed
    retired = sf.json("rules", "retire", rid)
    assert retired["rule"]["state"] == "retired" and retired["branch"] == "rules/3"
    assert on_branch(sf, retired["branch"]) == OWN  # the section gone, the file as the person wrote it
    assert on_branch(sf, retired["branch"], "CLAUDE.md") == "# Claude\n"


def test_over_budget_names_the_rule_and_changes_nothing(sf: Runner) -> None:
    setup(sf)
    finished(sf, "issue 3", SIGNATURE)
    rid = str(sf.json("rules", "list")[0]["id"])
    (sf.cwd / ".shopfloor" / "config.toml").open("a").write("\n[flywheel]\nrules_bytes = 200\n")
    sf.git("add", ".shopfloor/config.toml")
    sf.git("commit", "-q", "-m", "a small budget")
    result = sf("rules", "accept", rid, "--text", "x" * 150, check=False)
    assert result.returncode != 0
    assert f"rule(s) {rid} do not fit" in result.stderr
    assert sf.json("rules", "show", rid)["state"] == "proposed"
    assert sf.git("branch", "--list", "rules/*") == ""


def test_only_a_person_decides_and_the_channel_never_serves_it(sf: Runner) -> None:
    setup(sf)
    finished(sf, "issue 3", SIGNATURE)
    rid = str(sf.json("rules", "list")[0]["id"])
    for action in ("accept", "reject", "retire"):
        result = sf("--actor", "worker/w1", "rules", action, rid, check=False)
        assert result.returncode != 0 and "only a person decides the rules" in result.stderr
    assert sf.json("rules", "show", rid)["state"] == "proposed"
    for command in ("rules accept", "rules reject", "rules edit", "rules retire", "rules list", "rules show"):
        assert policy.static_refusal(command) is not None
    assert sf.json("rules", "reject", rid)["rule"]["state"] == "rejected"
    assert sf.git("branch", "--list", "rules/*") == ""  # a rejected proposal writes nothing


def test_an_accepted_rule_lands_through_the_queue_once_a_person_approves_it(sf: Runner) -> None:
    config = sf.cwd / ".shopfloor" / "config.toml"
    gate = '\n[gate]\nbuiltins = ["protected-files"]\n[[gate.check]]\nname = "ok"\nargv = ["true"]\n'
    config.write_text(config.read_text() + gate)
    sf.git("add", ".shopfloor/config.toml")
    sf.git("commit", "-q", "-m", "a gate")
    setup(sf)
    finished(sf, "issue 3", SIGNATURE)
    rid = str(sf.json("rules", "list")[0]["id"])
    done = sf.json("rules", "accept", rid, "--text", "Run ruff before handing in.")
    waiting = sf.json("queue", "run", "--once")
    assert waiting["landed"] == [] and sf.json("queue", "list")[0]["state"] == "needs-approval"
    assert "Run ruff" not in on_branch(sf, "main")  # nothing reaches main before a person says so
    sf("approve", done["issue"])
    landed = sf.json("queue", "run", "--once")
    assert len(landed["landed"]) == 1, landed
    assert on_branch(sf, "main").startswith(OWN) and "- Run ruff before handing in." in on_branch(sf, "main")
    assert sf.json("show", done["issue"])["status"] == "closed"


@pytest.mark.parametrize("point", RULES_POINTS)
def test_accept_killed_at_any_step_of_publishing_finishes_when_run_again(sf: Runner, point: str) -> None:
    setup(sf)
    finished(sf, "issue 3", SIGNATURE)
    rid = str(sf.json("rules", "list")[0]["id"])
    killed = sf("rules", "accept", rid, env={"SHOPFLOOR_FAULT": point}, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    # Killed before the state was saved: the rule is still proposed, whatever was published.
    assert sf.json("rules", "show", rid)["state"] == "proposed"
    done = sf.json("rules", "accept", rid)
    assert done["rule"]["state"] == "accepted" and done["branch"] == "rules/1"
    assert sf.git("branch", "--list", "rules/*").split() == ["rules/1"]  # no second branch
    assert [(e["branch"], e["issue"]) for e in sf.json("queue", "list")] == [("rules/1", done["issue"])]
    rules_issues = [i for i in sf.json("list", "--all") if i["title"].startswith("rules: ")]
    assert [i["id"] for i in rules_issues] == [done["issue"]]  # no issue left behind
    assert BEGIN in on_branch(sf, "rules/1")


def test_a_stray_rules_branch_that_says_something_else_is_deleted_with_its_issue(sf: Runner) -> None:
    setup(sf)
    finished(sf, "issue 3", SIGNATURE)
    rid = str(sf.json("rules", "list")[0]["id"])
    killed = sf("rules", "accept", rid, "--text", "Old words.", env={"SHOPFLOOR_FAULT": "rules-issue"}, check=False)
    assert killed.returncode == -signal.SIGKILL
    [stray] = [i for i in sf.json("list", "--all") if i["title"].startswith("rules: ")]
    done = sf.json("rules", "accept", rid, "--text", "New words.")
    assert done["branch"] == "rules/2" and "New words." in on_branch(sf, "rules/2")
    assert sf.git("branch", "--list", "rules/*").split() == ["rules/2"]
    assert sf.json("show", stray["id"])["status"] == "closed"


def test_metrics_show_an_accepted_rules_rate_before_and_after_and_briefed_learnings(sf: Runner) -> None:
    issues = setup(sf)
    issues.append(finished(sf, "issue 3", SIGNATURE))
    rid = sf.json("rules", "list")[0]["id"]
    sf.json("rules", "accept", str(rid))
    later = "2099-01-01T00:00:00.000000Z"  # after the acceptance (the real clock)
    after = sf.json("create", "after the rule")["id"]
    conn = db.connect(Path(sf.git("rev-parse", "--absolute-git-dir")) / "shopfloor" / "tracker.db", create=False)
    try:
        attempts.begin(conn, after, "w-after", 1, "scripted", 3, later, learnings=[f"retro:{issues[0]}"])
        [one] = attempts.of_issue(conn, after)
        with db.transaction(conn):
            attempts.finish(conn, one.id, gate_run=9, verdict="pass", ended_at=later, outcome="merged")
    finally:
        conn.close()
    m = sf.json("metrics")["rules"]
    [rule] = m["accepted"]
    assert (rule["id"], rule["signature"]) == (rid, SIGNATURE)
    assert rule["before"] == {"met": 3, "gated": 6, "rate": 0.5}  # 3 issues: a failing pass, then a passing one
    assert rule["after"] == {"met": 0, "gated": 1, "rate": 0.0}
    [learned] = m["briefed"]["learnings"]
    assert learned["source"] == f"retro:{issues[0]}" and learned["briefed"] == {"met": 0, "gated": 1, "rate": 0.0}
    text = sf("metrics").stdout
    assert f"rule {rid} {SIGNATURE}: 50% (3/6) -> 0% (0/1)" in text
    assert f"retro:{issues[0]}: 0% (0/1) briefed" in text


def test_near_identical_lines_of_handoff_notes_in_three_issues_are_proposed_once(sf: Runner) -> None:
    notes = {
        "one": "- Status: half done\n- Run ruff format, then ruff check",
        "two": "Tried twice.\n* run `ruff format` before running ruff check",
        "three": "Always run ruff format before the ruff check.\nThe parser is in src/p.py",
    }
    ids = []
    for title, note in notes.items():
        issue = finished(sf, title, f"t{title}:0000")  # each its own failure: no failure rule
        conn = db.connect(Path(sf.git("rev-parse", "--absolute-git-dir")) / "shopfloor" / "tracker.db", create=False)
        try:
            [first, _] = attempts.of_issue(conn, issue)
            with db.transaction(conn):
                attempts.finish(conn, first.id, outcome="handoff-note")
        finally:
            conn.close()
        sf("comment", issue, note, actor=f"worker/w-{issue}")
        ids.append(issue)
        if len(ids) == 2:
            assert sf.json("rules", "list") == []  # two issues: not yet
    [rule] = sf.json("rules", "list")
    assert rule["signature"].startswith("lesson:") and rule["state"] == "proposed"
    assert rule["text"] == "Run ruff format, then ruff check"  # the shortest
    assert sorted(e["issue"] for e in rule["evidence"]) == sorted(ids)
    assert all(e["source"].startswith("handoff:") for e in rule["evidence"])
    shown = sf("rules", "show", str(rule["id"])).stdout
    assert "said: Always run ruff format before the ruff check." in shown
    assert sf.json("rules", "list") == [rule]  # refreshed again: the same one rule
    sf("rules", "reject", str(rule["id"]))
    sf("comment", ids[0], "Run ruff format before ruff check!", actor=f"worker/w-{ids[0]}")
    assert [r["state"] for r in sf.json("rules", "list")] == ["rejected"]  # never proposed again


def test_the_agents_near_identical_lessons_in_three_issues_are_proposed(sf: Runner) -> None:
    from shopfloor.floor import lessonturn

    said = {
        "one": ["Close the sqlite connection before git checkout in the fixtures", "The parser is slow"],
        "two": ["close the SQLite connection before `git checkout` (fixtures)"],
        "three": ["Fixtures: close the sqlite connection before a git checkout", "Use tabs"],
    }
    ids = []
    for title, bullets in said.items():
        issue = finished(sf, title, f"t{title}:0000")
        conn = db.connect(Path(sf.git("rev-parse", "--absolute-git-dir")) / "shopfloor" / "tracker.db", create=False)
        try:
            with db.transaction(conn):
                lessonturn.ROWS.insert(
                    conn,
                    {"issue": issue, "series": 1, "worker": f"w-{issue}", "generation": 3, "asked_at": NOW,
                     "settled_at": NOW, "bullets": json.dumps(bullets)},
                )  # fmt: skip
        finally:
            conn.close()
        ids.append(issue)
    [rule] = sf.json("rules", "list")
    assert rule["signature"].startswith("lesson:")
    assert rule["text"] == "Fixtures: close the sqlite connection before a git checkout"  # the shortest
    assert [(e["issue"], e["source"]) for e in rule["evidence"]] == sorted((i, f"retro:{i}") for i in ids)
    assert {e["retro"] for e in rule["evidence"]} == {f".agents/retros/{i}.md" for i in ids}
