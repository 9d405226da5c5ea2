"""One schema definition: the store, the JSONL, the merge driver and the CLI all follow it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from conftest import Runner
from shopfloor.errors import ShopfloorError
from shopfloor.tracker import db, jsonl
from shopfloor.tracker.schema import (
    COLUMN_FIELDS,
    EDITABLE,
    FIELD_NAMES,
    FIELDS,
    SEARCHABLE,
    blank_issue,
    normalise,
)
from test_cli import create

MERGE_RULES = {"identity", "scalar", "text_union", "status", "newest", "set", "comments"}


def test_store_columns_follow_the_schema(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "t.db", create=True)
    columns = [row[1] for row in conn.execute("PRAGMA table_info(issues)")]
    assert columns == [f.name for f in COLUMN_FIELDS]
    fts = [row[1] for row in conn.execute("PRAGMA table_info(issues_fts)")]
    assert fts == list(SEARCHABLE)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.LATEST
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_every_field_has_a_merge_rule_and_the_json_follows_schema_order(sf: Runner) -> None:
    assert {f.merge for f in FIELDS} <= MERGE_RULES
    assert set(EDITABLE) <= set(FIELD_NAMES)
    issue_id = create(sf, "x")
    sf("export")
    record = json.loads((sf.cwd / ".shopfloor" / "issues.jsonl").read_text())
    assert list(record) == list(FIELD_NAMES)
    assert list(sf.json("show", issue_id))[: len(FIELD_NAMES) - 1] == [n for n in FIELD_NAMES if n != "comments"]


def test_encode_decode_round_trip() -> None:
    issue = blank_issue("t-abcd", "title ✓", "2026-01-01T00:00:00.000000Z", "me")
    issue.update(labels=["b", "a"], metadata={"z": [1, {"y": 2, "x": 1}]})
    normal = normalise(issue)
    data = jsonl.encode([normal])
    assert jsonl.encode(jsonl.decode(data)) == data
    assert normal["labels"] == ["a", "b"]


def test_migrations_upgrade_an_old_database_and_refuse_a_newer_one(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    sqlite3.connect(path).close()  # version 0: an empty file
    conn = db.connect(path, create=True)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.LATEST
    conn.execute(f"PRAGMA user_version={db.LATEST + 1}")
    conn.close()
    with pytest.raises(ShopfloorError, match="upgrade shopfloor"):
        db.connect(path, create=True)


def test_newer_database_is_reported_by_the_cli(sf: Runner) -> None:
    path = sf.cwd / ".git" / "shopfloor" / "tracker.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={db.LATEST + 5}")
    conn.close()
    done = sf("list", check=False)
    assert done.returncode == 1 and "upgrade shopfloor" in done.stderr


def test_encoding_sorts_nested_metadata_keys_whatever_the_input_order() -> None:
    issue = blank_issue("t-abcd", "x", "2026-01-01T00:00:00.000000Z", "me")
    issue["metadata"] = {"zeta": {"y": 1, "b": 2}, "alpha": [{"k2": 1, "k1": 2}]}
    line = jsonl.encode([normalise(issue)]).decode()
    assert '"metadata":{"alpha":[{"k1":2,"k2":1}],"zeta":{"b":2,"y":1}}' in line
