"""Export, import, auto-import and doctor, through the real CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from conftest import Runner
from test_cli import create, db_dump


def jsonl(sf: Runner) -> Path:
    return sf.cwd / ".shopfloor" / "issues.jsonl"


def test_export_is_sorted_canonical_and_deterministic(sf: Runner) -> None:
    for title in ("zeta", "alpha", "mu"):
        create(sf, title, "-l", "b", "-l", "a")
    sf("export")
    first = jsonl(sf).read_bytes()
    lines = first.decode().splitlines()
    ids = [json.loads(line)["id"] for line in lines]
    assert ids == sorted(ids) and len(ids) == 3
    record = json.loads(lines[0])
    assert list(record)[:3] == ["id", "title", "description"] and list(record)[-1] == "comments"
    assert record["labels"] == ["a", "b"]
    assert lines[0] == json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    sf("export")
    assert jsonl(sf).read_bytes() == first
    assert not list(jsonl(sf).parent.glob(".issues.jsonl.*"))  # no temp files left behind


def test_export_import_round_trip_into_a_fresh_database(sf: Runner, tmp_path: Path) -> None:
    a = create(sf, "a", "-d", "üñíçødé ✓", "-l", "x")
    create(sf, "b", "--deps", a, "--parent", a)
    sf("comment", a, "a comment")
    sf("update", a, "--metadata", '{"z": 1, "a": {"y": 2, "b": 3}}')
    sf("export")
    original = jsonl(sf).read_bytes()
    fresh = tmp_path / "fresh.db"
    result = sf.json("import", env={"SHOPFLOOR_DB": str(fresh)})
    assert len(result["created"]) == 2
    out = tmp_path / "again.jsonl"
    sf("export", "-o", str(out), env={"SHOPFLOOR_DB": str(fresh)})
    assert out.read_bytes() == original


def test_import_is_idempotent_and_newer_wins(sf: Runner) -> None:
    issue_id = create(sf, "original")
    sf("export")
    again = sf.json("import")
    assert again["created"] == [] and again["updated"] == [] and again["unchanged"] == 1
    # A newer edit in the file wins over the database ...
    record = json.loads(jsonl(sf).read_text())
    record["title"] = "edited in the file"
    record["updated_at"] = "2099-01-01T00:00:00.000000Z"
    jsonl(sf).write_text(json.dumps(record) + "\n")
    assert sf.json("import")["updated"] == [issue_id]
    assert sf.json("show", issue_id)["title"] == "edited in the file"
    # ... and an older one loses to it.
    record["title"] = "stale"
    record["updated_at"] = "2000-01-01T00:00:00.000000Z"
    jsonl(sf).write_text(json.dumps(record) + "\n")
    assert sf.json("import")["kept_local"] == 1
    assert sf.json("show", issue_id)["title"] == "edited in the file"


def test_malformed_line_names_file_and_line_and_imports_nothing(sf: Runner) -> None:
    create(sf, "existing")
    sf("export")
    good = jsonl(sf).read_text()
    new_issue = json.loads(good)
    new_issue.update(id="t-zzzz", title="new", created_at="2026-01-01T00:00:00.000000Z")
    before = db_dump(sf)
    for bad_line, reason in [
        ("{not json", "invalid JSON"),
        (json.dumps({**new_issue, "priority": 9}), "invalid priority"),
        (json.dumps({**new_issue, "surprise": 1}), "unknown field"),
        (json.dumps({**new_issue, "title": ""}), "title is empty"),
    ]:
        jsonl(sf).write_text(good + json.dumps(new_issue) + "\n" + bad_line + "\n")
        done = sf("import", check=False)
        assert done.returncode == 1, bad_line
        assert "issues.jsonl:3:" in done.stderr and reason in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert db_dump(sf) == before


def test_non_utf8_jsonl_is_refused(sf: Runner) -> None:
    jsonl(sf).write_bytes(b'{"id": "t-\xff"}\n')
    done = sf("import", check=False)
    assert done.returncode == 1 and "issues.jsonl:1: not valid UTF-8" in done.stderr


def test_conflict_markers_explain_the_merge_driver(sf: Runner) -> None:
    create(sf, "x")
    sf("export")
    text = jsonl(sf).read_text()
    jsonl(sf).write_text("<<<<<<< HEAD\n" + text + "=======\n" + text + ">>>>>>> branch\n")
    done = sf("import", check=False)
    assert done.returncode == 1
    assert "conflict markers" in done.stderr and "merge driver" in done.stderr
    # Other commands keep working and warn instead of failing ...
    listed = sf("list", "--json")
    assert listed.returncode == 0 and "not auto-importing" in listed.stderr
    # ... but export refuses to overwrite the unmerged file unless forced.
    conflicted = jsonl(sf).read_text()
    refused = sf("export", check=False)
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert jsonl(sf).read_text() == conflicted
    sf("export", "--force")
    assert "<<<<<<<" not in jsonl(sf).read_text()


def test_changed_jsonl_is_imported_automatically_once(sf: Runner) -> None:
    issue_id = create(sf, "auto")
    sf("export")
    record = json.loads(jsonl(sf).read_text())
    record.update(title="pulled change", updated_at="2099-01-01T00:00:00.000000Z")
    jsonl(sf).write_text(json.dumps(record) + "\n")
    first = sf("show", issue_id, "--json")
    assert json.loads(first.stdout)["title"] == "pulled change"
    assert "imported issues.jsonl" in first.stderr
    second = sf("show", issue_id, "--json")
    assert second.stderr == ""


def test_dry_run_changes_nothing(sf: Runner, tmp_path: Path) -> None:
    other = tmp_path / "other.jsonl"
    create(sf, "one")
    sf("export", "-o", str(other))
    fresh = tmp_path / "fresh.db"
    sf("init", env={"SHOPFLOOR_DB": str(fresh)})
    plan = sf.json("import", "-i", str(other), "--dry-run", env={"SHOPFLOOR_DB": str(fresh)})
    assert len(plan["created"]) == 1 and plan["dry_run"] is True
    assert sf.json("list", env={"SHOPFLOOR_DB": str(fresh)}) == []


def test_import_collision_renames_and_reports(sf: Runner) -> None:
    mine = create(sf, "mine")
    sf("export")
    record = json.loads(jsonl(sf).read_text())
    theirs = dict(record, title="theirs", created_by="someone-else", created_at="2026-01-02T03:04:05.000000Z")
    dependent = dict(
        record,
        id="t-dep1",
        title="depends on theirs",
        created_at="2026-01-02T03:04:06.000000Z",
        dependencies=[{"id": mine, "type": "blocks"}],
    )
    jsonl(sf).write_text(json.dumps(theirs) + "\n" + json.dumps(dependent) + "\n")
    result = sf.json("import")
    assert len(result["renamed"]) == 1
    renamed = result["renamed"][0]
    assert renamed["old"] == mine and renamed["title"] == "theirs"
    assert sf.json("show", mine)["title"] == "mine"
    assert sf.json("show", renamed["new"])["title"] == "theirs"
    assert sf.json("show", "t-dep1")["dependencies"] == [{"id": renamed["new"], "type": "blocks"}]
    events = sf.json("show", renamed["new"])["events"]
    assert any(e["kind"] == "renamed" and e["old"] == mine for e in events)


def corrupt(db_path: Path) -> None:
    data = bytearray(db_path.read_bytes())
    data[:16] = b"garbage garbage!"
    db_path.write_bytes(bytes(data))


def test_doctor_detects_and_rebuilds_a_corrupt_database(sf: Runner) -> None:
    issue_id = create(sf, "survivor")
    sf("export")
    assert sf.json("doctor")["ok"] is True
    db_path = sf.cwd / ".git" / "shopfloor" / "tracker.db"
    sqlite3.connect(db_path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    corrupt(db_path)
    listed = sf("list", check=False)
    assert listed.returncode == 1 and "doctor --fix" in listed.stderr
    assert len(listed.stderr.strip().splitlines()) == 1
    report = sf("doctor", "--json", check=False)
    assert report.returncode == 1
    assert json.loads(report.stdout)["checks"][0]["status"] == "fail"
    fixed = sf.json("doctor", "--fix")
    assert fixed["ok"] is True and fixed["checks"][0]["fixed"] is True
    assert "(1 issue)" in fixed["checks"][0]["detail"]
    rebuilt = sqlite3.connect(db_path)  # the rebuild itself imported it, not a later command
    assert rebuilt.execute("SELECT title FROM issues").fetchall() == [("survivor",)]
    rebuilt.close()
    assert sf.json("show", issue_id)["title"] == "survivor"
    assert list(db_path.parent.glob("tracker.db.corrupt-*"))


def test_doctor_detects_integrity_errors_inside_the_file(sf: Runner) -> None:
    for n in range(3):
        create(sf, f"issue {n} " + "padding " * 40)
    sf("export")
    db_path = sf.cwd / ".git" / "shopfloor" / "tracker.db"
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(db_path.read_bytes())
    start = page_size * 2
    data[start : start + page_size] = bytes([0xA5]) * page_size
    db_path.write_bytes(bytes(data))
    report = sf("doctor", "--json", check=False)
    assert report.returncode == 1
    fixed = sf.json("doctor", "--fix")
    assert fixed["ok"] is True
    assert len(sf.json("list")) == 3


def test_doctor_registers_a_missing_merge_driver(sf: Runner) -> None:
    sf.git("config", "--unset", "merge.shopfloor.driver")
    checks = {c["name"]: c for c in sf.json("doctor")["checks"]}
    assert checks["merge-driver"]["status"] == "warn"
    sf("doctor", "--fix")
    assert "merge-driver" in sf.git("config", "--get", "merge.shopfloor.driver")


def test_bulk_import_keeps_search_working(sf: Runner, tmp_path: Path) -> None:
    from shopfloor.tracker import jsonl as codec
    from shopfloor.tracker.schema import blank_issue, normalise
    from shopfloor.tracker.sync import BULK_IMPORT

    issues = [
        normalise(blank_issue(f"t-b{n:05d}", f"bulk issue {n} word{n}", f"2026-01-01T00:00:{n % 60:02d}.{n:06d}Z", "x"))
        for n in range(BULK_IMPORT + 5)
    ]
    path = tmp_path / "bulk.jsonl"
    path.write_bytes(codec.encode(issues))
    assert len(sf.json("import", "-i", str(path))["created"]) == BULK_IMPORT + 5
    assert [i["id"] for i in sf.json("search", "word777")] == ["t-b00777"]
    later = create(sf, "after the bulk import zebra")
    assert [i["id"] for i in sf.json("search", "zebra")] == [later]
    sf("update", "t-b00001", "--title", "retitled giraffe")
    assert [i["id"] for i in sf.json("search", "giraffe")] == ["t-b00001"]
    assert sf.json("search", "word1") == []


def test_doctor_fix_never_rebuilds_a_database_that_is_not_corrupt(sf: Runner, tmp_path: Path) -> None:
    issue_id = create(sf, "unexported but precious")
    db_path = sf.cwd / ".git" / "shopfloor" / "tracker.db"
    conn = sqlite3.connect(db_path)
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.execute(f"PRAGMA user_version={version + 1}")
    conn.close()
    done = sf("doctor", "--fix", "--json", check=False)
    assert done.returncode == 1
    check = json.loads(done.stdout)["checks"][0]
    assert check["status"] == "fail" and "upgrade shopfloor" in check["detail"] and not check["fixed"]
    assert not list(db_path.parent.glob("tracker.db.corrupt-*"))
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version={version}")
    conn.close()
    assert sf.json("show", issue_id)["title"] == "unexported but precious"


def test_a_directory_as_database_is_reported_not_renamed(sf: Runner, tmp_path: Path) -> None:
    directory = tmp_path / "dbdir"
    directory.mkdir()
    env = {"SHOPFLOOR_DB": str(directory)}
    done = sf("list", env=env, check=False)
    assert done.returncode == 1 and "is a directory" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert sf("doctor", "--fix", env=env, check=False).returncode == 1
    assert directory.is_dir() and not list(tmp_path.glob("dbdir.corrupt-*"))


def test_export_guard_covers_the_same_file_by_another_name_and_speaks_once(sf: Runner) -> None:
    create(sf, "x")
    sf("export")
    text = jsonl(sf).read_text()
    jsonl(sf).write_text("<<<<<<< HEAD\n" + text + "=======\n" + text + ">>>>>>> branch\n")
    conflicted = jsonl(sf).read_text()
    for args in (["export"], ["export", "-o", ".shopfloor/issues.jsonl"], ["export", "-o", str(jsonl(sf))]):
        done = sf(*args, check=False)
        assert done.returncode == 1 and "--force" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert jsonl(sf).read_text() == conflicted
