"""The memory (`shopfloor init`'s .agents/, `shopfloor learn`) through the real command line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import shopfloor.floor.tables  # noqa: F401  (every package's tables, as the CLI registers them)
from conftest import Runner
from shopfloor.floor import attempts
from shopfloor.gate import runlog
from shopfloor.tracker import db

NOW = "2026-01-01T00:00:00.000000Z"


def commit_note(sf: Runner, relpath: str, text: str) -> None:
    path = sf.cwd / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    sf.git("add", relpath)
    sf.git("commit", "-q", "-m", f"note {relpath}")


def test_init_creates_the_agents_directories_once_and_keeps_a_readme_of_its_own(bare_runner: Runner) -> None:
    sf = bare_runner
    first = sf.json("init", "--prefix", "t")
    root = sf.cwd / ".agents"
    assert all((root / name).is_dir() for name in ("research", "plans", "retros"))
    assert "created .agents/research/, .agents/plans/, .agents/retros/" in first["actions"]
    assert "research/" in (root / "README.md").read_text()
    (root / "README.md").write_text("our own words\n")
    (root / "plans").rmdir()
    again = sf.json("init")
    assert again["actions"] == ["created .agents/plans/"]  # only what was missing
    assert (root / "README.md").read_text() == "our own words\n"  # never overwritten
    assert sf.json("init")["actions"] == []
    assert "research note in\n  `.agents/research/`" in sf("prime", "--worker").stdout


def test_search_ranks_shows_and_counts_committed_notes(sf: Runner) -> None:
    commit_note(
        sf,
        ".agents/research/sqlite-lock.md",
        "# Flaky sqlite lock in tests\n\nClose the sqlite connection before the git checkout, or the lock stays.\n",
    )
    commit_note(
        sf,
        ".agents/retros/t-abcd.md",
        "---\noutcome: merged\n---\n# Retro t-abcd\n\nruff E501 failed; sqlite was fine.\n",
    )
    commit_note(sf, ".agents/plans/next.md", "# Plan\n\nNothing about databases here.\n")
    hits = sf.json("learn", "search", "sqlite", "lock")
    assert [h["id"] for h in hits] == ["research:sqlite-lock.md", "retro:t-abcd"]  # the better match first
    assert hits[0]["kind"] == "research" and hits[0]["place"] == ".agents/research/sqlite-lock.md"
    assert hits[0]["title"] == "Flaky sqlite lock in tests" and "[lock]" in hits[0]["snippet"]
    assert hits[0]["score"] > hits[1]["score"]
    assert [h["id"] for h in sf.json("learn", "search", "sqlite", "-n", "1")] == ["research:sqlite-lock.md"]
    text = sf("learn", "search", "E501").stdout
    assert text.startswith("retro:t-abcd  [retro] Retro t-abcd  (.agents/retros/t-abcd.md)\n")

    shown = sf("learn", "show", "retro:t-abcd").stdout
    assert "outcome: merged" in shown and "ruff E501 failed; sqlite was fine." in shown
    assert sf.json("learn", "show", "plan:next.md")["text"] == "# Plan\n\nNothing about databases here.\n"
    stats = sf.json("learn", "stats")
    assert stats["documents"] == 3
    assert stats["by_kind"] == {"retro": 1, "research": 1, "plan": 1, "handoff": 0, "gate": 0}
    assert sf("learn", "stats").stdout.startswith("3 learning(s)")


def test_an_edited_note_is_indexed_again_and_a_removed_one_is_gone(sf: Runner) -> None:
    commit_note(sf, ".agents/research/api.md", "# The widget API\n\nwidgets paginate with cursors\n")
    assert [h["id"] for h in sf.json("learn", "search", "cursors")] == ["research:api.md"]
    path = sf.cwd / ".agents/research/api.md"
    commit_note(sf, ".agents/research/api.md", "# The widget API\n\nwidgets paginate with offsets now\n")
    os.utime(path, ns=(1, 1))  # a changed stamp even within the file system's clock resolution
    assert sf.json("learn", "search", "cursors") == []
    assert [h["id"] for h in sf.json("learn", "search", "offsets")] == ["research:api.md"]
    sf.git("rm", "-q", ".agents/research/api.md")
    assert sf.json("learn", "search", "offsets") == []
    assert sf.json("learn", "stats")["documents"] == 0


def test_query_syntax_is_searched_as_plain_words(sf: Runner) -> None:
    commit_note(sf, ".agents/research/near.md", "# Near misses\n\nthe NEAR operator and a star * and a minus - here\n")
    for hostile in (['"'], ["NEAR("], ["*"], ["-"], ['"unclosed'], ["a", "OR", "NOT"], ["title:x"], ["NEAR(a b, 2)"]):
        done = sf("learn", "search", *hostile, "--json", check=False)
        assert done.returncode == 0, (hostile, done.stderr)
    assert [h["id"] for h in sf.json("learn", "search", "NEAR(")] == ["research:near.md"]
    assert [h["id"] for h in sf.json("learn", "search", '"minus')] == ["research:near.md"]


def test_bad_input_is_one_line_and_a_non_zero_exit(sf: Runner) -> None:
    for args, code in ((["show", "retro:t-nope"], 3), (["show", "nonsense"], 2), (["search", "-n", "0", "x"], 2)):
        done = sf("learn", *args, check=False)
        assert done.returncode == code, args
        assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "no learning retro:t-nope" in sf("learn", "show", "retro:t-nope", check=False).stderr


def _report(issue: str, check: dict[str, Any]) -> Any:
    return {
        "verdict": "fail", "rev": "HEAD", "commit": "c" * 40, "tree": "t" * 40, "base": "main",
        "base_commit": "b" * 40, "merge_base": "b" * 40, "config_hash": "h", "issue": issue, "attempt": None,
        "vibe": 2, "approval_required": False, "approved": False, "cached": False, "itself": False,
        "duration_s": 1.0, "checks": [check],
    }  # fmt: skip


def test_handoff_notes_and_gate_failures_of_attempts_are_searchable(sf: Runner) -> None:
    issue = str(sf.json("create", "Add the widget")["id"])
    sf("comment", issue, "handoff: the frobnicator config lives in conf/frob.toml", actor="worker/w1")
    check = {
        "name": "tests", "status": "fail", "duration_s": 1.0, "exit_code": 1, "signature": "s",
        "excerpt": "FAILED test_widget.py::test_quux - AssertionError: quux mismatch", "builtin": False,
        "junit": None, "findings": None, "differential": False, "preexisting": 0, "fixed": None,
        "base_status": None, "base_signature": None, "note": "",
    }  # fmt: skip
    conn = db.connect(Path(sf.git("rev-parse", "--absolute-git-dir")) / "shopfloor" / "tracker.db", create=False)
    try:
        attempts.begin(conn, issue, "w1", 1, "scripted", 2, NOW)
        attempts.begin(conn, issue, "w1", 2, "scripted", 2, NOW)
        first, second = attempts.of_issue(conn, issue)
        run = runlog.record_run(conn, _report(issue, check), NOW)
        with db.transaction(conn):
            attempts.finish(conn, first.id, gate_run=run, verdict="fail", outcome="failed", ended_at=NOW)
            attempts.finish(conn, second.id, outcome="writing-handoff", ended_at=NOW)
    finally:
        conn.close()
    assert [h["id"] for h in sf.json("learn", "search", "quux")] == [f"gate:{run}:tests"]
    assert sf.json("learn", "search", "frobnicator") == []  # the note is still being written
    conn = db.connect(Path(sf.git("rev-parse", "--absolute-git-dir")) / "shopfloor" / "tracker.db", create=False)
    try:
        with db.transaction(conn):
            attempts.finish(conn, second.id, outcome="handoff-note")
    finally:
        conn.close()
    [hit] = sf.json("learn", "search", "frobnicator")
    assert (hit["id"], hit["kind"], hit["place"]) == (f"handoff:{second.id}", "handoff", issue)
    assert "conf/frob.toml" in sf.json("learn", "show", hit["id"])["text"]
    assert "quux mismatch" in sf("learn", "show", f"gate:{run}:tests").stdout
    assert sf.json("learn", "stats")["by_kind"]["gate"] == 1
