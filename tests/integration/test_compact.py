"""``shopfloor compact`` through the real command line: old closed issues' long text replaced by a
summary that points to the commit still holding it (issue 15, part 8)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from conftest import Runner
from shopfloor.tracker import db

LONG = "The parser drops the last token when the line ends in a comment. " * 8  # ~520 characters
OLD = "2026-01-01T00:00:00.000000Z"


def _db(sf: Runner) -> sqlite3.Connection:
    return db.connect(Path(sf.git("rev-parse", "--absolute-git-dir")) / "shopfloor" / "tracker.db", create=False)


def _dump(sf: Runner) -> list[str]:
    conn = _db(sf)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def _rows(dump: list[str]) -> list[str]:
    return [line for line in dump if line.startswith(('INSERT INTO "issues" ', 'INSERT INTO "events" '))]


def _closed_long_ago(sf: Runner, issue_id: str) -> None:
    conn = _db(sf)
    try:
        with db.transaction(conn):
            conn.execute("UPDATE issues SET closed_at = ? WHERE id = ?", (OLD, issue_id))
    finally:
        conn.close()


def _commit_tracker(sf: Runner) -> str:
    sf("export")
    sf.git("add", ".shopfloor/issues.jsonl")
    sf.git("commit", "-q", "-m", "tracker")
    return sf.git("rev-parse", "HEAD").strip()


def _setup(sf: Runner) -> dict[str, str]:
    """An old closed issue with a retro, one without, one closed recently, and an open one, all
    with long text, exported and committed; plus an old closed one never committed since edited."""
    made = {}
    for name in ("retro", "stub", "recent", "open", "edited"):
        made[name] = sf.json("create", f"{name} issue", "-d", LONG, "--design", LONG)["id"]
    sf("close", made["retro"], made["stub"], made["recent"], made["edited"])
    retro = sf.cwd / ".agents" / "retros" / f"{made['retro']}.md"
    retro.parent.mkdir(parents=True, exist_ok=True)
    retro.write_text(
        f'---\nissue: "{made["retro"]}"\noutcome: merged\nattempts: 2\n---\n\n# Retro of {made["retro"]}\n\n'
        "## Failure signatures\n\n- check `unit`, signature `E1 parser`: first met at attempt 1, fixed by attempt 2\n"
    )
    made["commit"] = _commit_tracker(sf)
    sf("update", made["edited"], "-d", LONG + " Edited after the commit.")  # its text is in no commit
    for name in ("retro", "stub", "open", "edited"):
        _closed_long_ago(sf, made[name])  # (the open one has no closed_at that counts: it is open)
    return made


def test_compact_replaces_old_closed_text_by_a_summary_that_finds_it_in_git(sf: Runner) -> None:
    made = _setup(sf)
    before = {name: sf.json("show", made[name]) for name in ("recent", "open")}
    dump = _dump(sf)
    dry = sf.json("compact", "--dry-run")
    assert _dump(sf) == dump  # a dry run changes nothing
    assert sorted(c["id"] for c in dry["compacted"]) == sorted([made["retro"], made["stub"]])
    assert dry["not_in_history"] == [made["edited"]] and dry["dry_run"] is True

    out = sf("compact").stdout
    assert f"compacted {made['retro']} (1,040 characters, retro; full text in {made['commit'][:12]})" in out
    assert "compacted 2 issues closed before" in out and "skipped 1 issue: their text is in no commit" in out
    with_retro = sf.json("show", made["retro"])
    assert with_retro["design"] == "" and LONG not in with_retro["description"]
    assert with_retro["description"].startswith("[compacted ")
    assert "merged after 2 attempts; check `unit`, signature `E1 parser`" in with_retro["description"]
    pointer = f"git show {made['commit'][:12]}:.shopfloor/issues.jsonl | grep {made['retro']}"
    assert pointer in with_retro["description"]
    stub = sf.json("show", made["stub"])["description"]
    assert "Retro" not in stub and f"git show {made['commit'][:12]}:.shopfloor/issues.jsonl" in stub
    # The commit the summary names really holds the old text.
    held = sf.git("show", f"{made['commit'][:12]}:.shopfloor/issues.jsonl")
    line = next(x for x in held.splitlines() if made["retro"] in x)
    assert LONG.strip() in line
    # Recently closed, open, and not-yet-committed issues keep their text.
    for name in ("recent", "open"):
        assert sf.json("show", made[name])["description"] == before[name]["description"] == LONG
    assert "Edited after the commit." in sf.json("show", made["edited"])["description"]
    # The change is an event of the person who ran it.
    history = sf("show", made["retro"]).stdout
    assert "tester compacted description: 1040 characters -> [compacted " in history

    dump = _dump(sf)
    again = sf("compact").stdout
    assert "compacted 0 issues" in again and _dump(sf) == dump  # idempotent
    assert "compacted 0 issues" in sf("compact", "--vacuum").stdout
    # (VACUUM and the search index's merge rewrite the index's rows: the issues and events stay.)
    assert _rows(_dump(sf)) == _rows(dump)

    exported = sf.json("export")
    assert exported["issues"] == 5
    jsonl = (sf.cwd / ".shopfloor" / "issues.jsonl").read_text()
    assert jsonl.count(LONG.strip()) == 3 * 2  # recent, open, edited: description and design each


def test_compact_is_a_persons_and_checks_its_input(sf: Runner) -> None:
    made = _setup(sf)
    dump = _dump(sf)
    refused = sf("compact", actor="worker/w1", check=False)
    assert refused.returncode == 4 and "worker/w1 is an agent and may not compact issues" in refused.stderr
    bad = sf("compact", "--older-than", "soon", check=False)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "invalid --older-than 'soon'" in bad.stderr
    assert _dump(sf) == dump
    assert sf.json("show", made["retro"])["description"] == LONG
