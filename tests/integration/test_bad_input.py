"""Bad input, through the real command line: one line on stderr (``error: <problem>: <fix>``),
the right exit code (1 error, 2 usage, 3 not found, 4 conflict), and nothing changed."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from conftest import Runner
from test_cli import create, db_dump

USAGE, ERROR, CONFLICT = 2, 1, 4


def refused(sf: Runner, *args: str | bytes, code: int = USAGE, **kw: object) -> str:
    """Run a command that must fail cleanly; return its one stderr line."""
    done = sf(*args, check=False, **kw)  # type: ignore[arg-type]
    assert done.returncode == code, (args, done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, (args, done.stderr)
    assert lines[0].startswith("error: "), (args, done.stderr)
    assert "internal error" not in lines[0], (args, done.stderr)
    return lines[0]


def edit_exported(sf: Runner, issue_id: str, **changes: object) -> None:
    """Change one issue in the committed JSONL the way a hand edit or another tool would."""
    sf("export")
    path = sf.cwd / ".shopfloor" / "issues.jsonl"
    lines = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["id"] == issue_id:
            record.update(changes)
            record["updated_at"] = "2030-01-01T00:00:00.000000Z"
        lines.append(json.dumps(record, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n")


# --- 1. text that is not UTF-8 ------------------------------------------------------------------


def test_non_utf8_arguments_are_refused_everywhere(sf: Runner, tmp_path: Path) -> None:
    keep = create(sf, "keep me")
    before = db_dump(sf)
    assert "ID" in refused(sf, "show", b"t-\xff")
    assert "--assignee" in refused(sf, "list", "--assignee", b"\xff")
    assert "--label" in refused(sf, "list", "-l", b"\xff")
    assert "UTF-8" in refused(sf, "update", keep, "--notes", b"caf\xe9")
    assert "--actor" in refused(sf, "--actor", b"\xff", "list")
    target = os.fsencode(tmp_path) + b"/\xff.jsonl"
    assert "--output" in refused(sf, "export", "-o", target)
    assert not os.path.exists(target)
    assert db_dump(sf) == before


def test_metadata_must_be_real_json_with_valid_text(sf: Runner) -> None:
    keep = create(sf, "keep me")
    before = db_dump(sf)
    for bad in ('{"a": "\\udcff"}', '{"\\ud800": 1}', '{"a": NaN}', '{"a": [Infinity]}', '{"a": -Infinity}'):
        line = refused(sf, "update", keep, "--metadata", bad)
        assert "metadata" in line, (bad, line)
    assert "too deeply" in refused(sf, "update", keep, "--metadata", '{"a": ' + "[" * 100_000 + "}")
    assert db_dump(sf) == before
    assert sf.json("update", keep, "--metadata", '{"a": 1.5, "b": "ünï"}')["metadata"] == {"a": 1.5, "b": "ünï"}


def test_metadata_objects_with_non_finite_numbers_are_refused() -> None:
    from shopfloor.errors import ValidationError
    from shopfloor.tracker.schema import validate_field

    for bad in ({"a": float("nan")}, {"a": [float("inf")]}, {"a": {"b": "\udcff"}}, {"\udcff": 1}):
        with pytest.raises(ValidationError):
            validate_field("metadata", bad)
    deep: object = 1
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(ValidationError, match="nested"):
        validate_field("metadata", {"a": deep})
    assert validate_field("metadata", {"a": [1, {"b": None}]}) == {"a": [1, {"b": None}]}


def test_jsonl_refuses_nan_and_deep_nesting_with_file_and_line() -> None:
    from shopfloor.tracker import jsonl

    with pytest.raises(jsonl.JsonlError, match=r"^f\.jsonl:2: NaN"):
        jsonl.decode(b'\n{"metadata": NaN}\n', "f.jsonl")
    with pytest.raises(jsonl.JsonlError, match=r"^f\.jsonl:1: nested too deeply"):
        jsonl.decode(b"[" * 100_000, "f.jsonl")


def test_import_of_a_deeply_nested_line_is_one_clean_error(sf: Runner, tmp_path: Path) -> None:
    before = db_dump(sf)
    bad = tmp_path / "deep.jsonl"
    bad.write_bytes(b"[" * 100_000 + b"\n")
    assert "deep.jsonl:1: nested too deeply" in refused(sf, "import", "-i", str(bad), code=ERROR)
    assert db_dump(sf) == before


# --- 2. lease lengths -----------------------------------------------------------------------------


def test_lease_must_be_between_one_second_and_a_year(sf: Runner) -> None:
    issue_id = create(sf, "lease me")
    before = db_dump(sf)
    for lease in ("0", "0s", "99999999999999d", "3000000d", "366d", "9" * 5000, "soon", "-5m", "²"):
        line = refused(sf, "update", issue_id, "--claim", "--lease", lease)
        assert "lease" in line, (lease, line)
        refused(sf, "ready", "--claim", "--lease", lease)
    assert db_dump(sf) == before
    sf("update", issue_id, "--claim", "--lease", "365d")
    refused(sf, "heartbeat", issue_id, "--lease", "3000000d")


def test_parse_duration_bounds() -> None:
    from shopfloor.errors import ValidationError
    from shopfloor.tracker.clock import parse_duration

    assert parse_duration("1s") == 1
    assert parse_duration("30") == 1800
    assert parse_duration("365d") == 365 * 86400
    for bad in ("0", "366d", "99999999999999d", "3000000d", "x"):
        with pytest.raises(ValidationError):
            parse_duration(bad)


# --- 3. timestamps --------------------------------------------------------------------------------


def test_impossible_timestamps_are_refused() -> None:
    from shopfloor.errors import ValidationError
    from shopfloor.tracker.schema import validate_field

    for bad in (
        "9999-99-99T00:00:00.000000Z",
        "2026-02-30T00:00:00.000000Z",
        "2026-01-01T24:00:00.000000Z",
        "9999-12-31T23:59:59.999999Z",  # no room left to bump
        "２０２６-01-01T00:00:00.000000Z",  # not ASCII digits
    ):
        with pytest.raises(ValidationError):
            validate_field("created_at", bad)
    assert validate_field("created_at", "2026-02-28T23:59:59.999999Z") == "2026-02-28T23:59:59.999999Z"


def test_import_refuses_an_impossible_date(sf: Runner, tmp_path: Path) -> None:
    issue_id = create(sf, "dated")
    before = db_dump(sf)
    record = json.loads(before)
    record["created_at"] = "9999-99-99T00:00:00.000000Z"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(record) + "\n")
    assert "created_at" in refused(sf, "import", "-i", str(bad), code=ERROR)
    assert db_dump(sf) == before
    assert sf.json("show", issue_id)["created_at"] != "9999-99-99T00:00:00.000000Z"


def test_bump_never_overflows() -> None:
    from shopfloor.tracker.clock import bump

    assert bump("2026-01-01T00:00:00.999999Z") == "2026-01-01T00:00:01.000000Z"
    assert bump("9999-12-31T23:59:59.999999Z") == "9999-12-31T23:59:59.999999Z"
    assert bump("9998-12-31T23:59:59.999999Z") == "9998-12-31T23:59:59.999999Z"
    assert bump("0001-01-01T00:00:00.000000Z") == "0001-01-01T00:00:00.000001Z"


def test_defer_until_out_of_range_is_a_clean_message(sf: Runner) -> None:
    line = refused(sf, "create", "x", "--defer-until", "0001-01-01")
    assert "'0001-01-01'" in line and "1970" in line
    assert "1-01-01T" not in line
    for bad in ("9999-12-31", "1969-12-31", "+99999999999999d", "+3000000000d", "9999-99-99T00:00:00.000000Z"):
        refused(sf, "create", "x", "--defer-until", bad)
    assert sf.json("list") == []
    assert sf.json("create", "x", "--defer-until", "9998-12-31")["defer_until"] == "9998-12-31T00:00:00.000000Z"


# --- 4. ids ---------------------------------------------------------------------------------------


def test_ids_are_a_safe_charset() -> None:
    from shopfloor.errors import ValidationError
    from shopfloor.tracker.schema import validate_field

    for good in ("t-nx", "t-oppp", "t-b00777", "sf-a3f8.1", "A_b.c-9", "x" * 100):
        assert validate_field("id", good) == good
    for bad in ("../../x y;rm", "", " t-a", "-t", ".t", "t/a", "t a", "t;a", "t-ü", "t-a\n", "x" * 101, 5):
        with pytest.raises(ValidationError):
            validate_field("id", bad)


def test_import_refuses_an_unsafe_id(sf: Runner, tmp_path: Path) -> None:
    create(sf, "real")
    before = db_dump(sf)
    record = json.loads(before)
    record["id"] = "../../x y;rm"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(record) + "\n")
    assert "invalid id" in refused(sf, "import", "-i", str(bad), code=ERROR)
    assert db_dump(sf) == before


# --- 5. titles ------------------------------------------------------------------------------------


def test_titles_refuse_control_characters(sf: Runner) -> None:
    keep = create(sf, "keep me")
    before = db_dump(sf)
    for title in ("a\tb", "a\x1b[31mred", "bell\x07", "del\x7f", "c1\x85x"):
        assert "control character" in refused(sf, "create", title), repr(title)
        assert "control character" in refused(sf, "update", keep, "--title", title), repr(title)
    assert db_dump(sf) == before
    # Other texts keep their tabs and newlines.
    assert sf.json("update", keep, "-d", "a\tb\nc")["description"] == "a\tb\nc"


# --- 6. status, claims and holders ----------------------------------------------------------------


def test_update_refuses_status_in_progress(sf: Runner) -> None:
    issue_id = create(sf, "work")
    before = db_dump(sf)
    assert "--claim" in refused(sf, "update", issue_id, "--status", "in_progress")
    assert db_dump(sf) == before
    # With --claim the claim sets in_progress, with a holder and a lease.
    claimed = sf.json("update", issue_id, "--claim", "--status", "in_progress", actor="alice")
    assert (claimed["status"], claimed["assignee"]) == ("in_progress", "alice")
    assert claimed["lease_until"] is not None


def test_plan_cannot_create_in_progress_issues(sf: Runner, tmp_path: Path) -> None:
    plan = tmp_path / "plan.jsonl"
    plan.write_text('{"title": "fine"}\n{"title": "stuck", "status": "in_progress"}\n')
    line = refused(sf, "create", "-f", str(plan))
    assert "plan.jsonl:2" in line and "claim" in line
    assert sf.json("list", "--all") == []


def test_create_closed_records_a_close_reason(sf: Runner, tmp_path: Path) -> None:
    plan = tmp_path / "plan.jsonl"
    plan.write_text('{"title": "already done", "status": "closed"}\n')
    issue = sf.json("create", "-f", str(plan))[0]
    assert issue["status"] == "closed"
    assert issue["closed_at"] is not None
    assert issue["close_reason"] == "closed when created"


def test_in_progress_without_holder_is_claimable(sf: Runner) -> None:
    issue_id = create(sf, "orphaned")
    edit_exported(sf, issue_id, status="in_progress", assignee=None, lease_until=None)
    assert sf.json("show", issue_id)["status"] == "in_progress"
    claimed = sf.json("update", issue_id, "--claim", actor="bob")
    assert (claimed["status"], claimed["assignee"]) == ("in_progress", "bob")
    assert claimed["lease_until"] is not None


def test_only_the_holder_can_reassign_a_claimed_issue(sf: Runner) -> None:
    issue_id = create(sf, "held")
    sf("update", issue_id, "--claim", actor="alice")
    before = db_dump(sf)
    line = refused(sf, "update", issue_id, "--assignee", "bob", actor="bob", code=CONFLICT)
    assert "alice" in line
    refused(sf, "update", issue_id, "--assignee", "carol", "-p", "0", actor="bob", code=CONFLICT)
    assert db_dump(sf) == before
    assert sf.json("update", issue_id, "--assignee", "carol", actor="alice")["assignee"] == "carol"


# --- 7. plan files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        '{"title": "a", "labels": 5}',
        '{"title": "a", "labels": [1, 2]}',
        '{"title": "a", "deps": 5}',
        '{"title": "a", "deps": [{"type": "blocks"}]}',
        '{"title": "a", "deps": ["t-x"]}',
        '{"title": "a", "deps": [{"id": "t-x", "type": "nope"}]}',
        '{"title": "a", "parent": 5}',
        '{"title": "a", "defer_until": 5}',
        '{"title": "a", "metadata": {"x": NaN}}',
        "[" * 100_000,
    ],
)
def test_plan_jsonl_type_errors_name_file_and_line(sf: Runner, tmp_path: Path, line: str) -> None:
    plan = tmp_path / "p.jsonl"
    plan.write_text('{"title": "first"}\n' + line + "\n")
    assert "p.jsonl:2: " in refused(sf, "create", "-f", str(plan))
    assert sf.json("list", "--all") == []


def test_plan_errors_name_the_location_once(sf: Runner, tmp_path: Path) -> None:
    plan = tmp_path / "p5.md"
    plan.write_text("## First\nparent: #1\n")
    line = refused(sf, "create", "-f", str(plan))
    assert line.count("p5.md:1") == 1, line
    plan.write_text("## First\n\n## Second\ndeps: blocks:#9\n")
    line = refused(sf, "create", "-f", str(plan))
    assert line.count("p5.md:3") == 1 and "#9" in line, line
    plan.write_text("## First\nparent: t-nothere\n")
    line = refused(sf, "create", "-f", str(plan), code=3)
    assert line.count("p5.md:1") == 1, line
    assert sf.json("list", "--all") == []


# --- 8. dependencies without an id ----------------------------------------------------------------


def test_dependency_type_without_id_is_a_usage_error(sf: Runner) -> None:
    create(sf, "other")
    before = db_dump(sf)
    line = refused(sf, "create", "x", "--deps", "blocks")
    assert "dependency 'blocks' has no id: write blocks:ID" in line
    assert "has no id" in refused(sf, "create", "x", "--deps", "related:")
    assert db_dump(sf) == before


# --- 9. limits ------------------------------------------------------------------------------------


def test_limits_must_be_at_least_one(sf: Runner) -> None:
    create(sf, "a")
    for args in (
        ("list", "-n", "-1"),
        ("list", "-n", "0"),
        ("list", "--limit", "x"),
        ("list", "-n", "99999999999999999999"),
        ("search", "a", "-n", "-1"),
        ("search", "a", "-n", "0"),
        ("ready", "-n", "0"),
        ("ready", "-n", "-3"),
    ):
        assert "limit" in refused(sf, *args), args
    assert len(sf.json("list", "-n", "1")) == 1


# --- 10. init checks before it writes -------------------------------------------------------------


def _state(repo: Path) -> dict[str, bytes | None]:
    names = (".shopfloor", ".gitattributes", "AGENTS.md", ".shopfloor/config.toml")
    return {
        n: ((repo / n).read_bytes() if (repo / n).is_file() else b"dir" if (repo / n).exists() else None) for n in names
    }


def test_init_without_git_writes_nothing(bare_runner: Runner) -> None:
    before = _state(bare_runner.cwd)
    line = refused(bare_runner, "init", code=ERROR, env={"PATH": str(Path(sys.executable).parent)})
    assert "git" in line
    assert _state(bare_runner.cwd) == before
    assert not (bare_runner.cwd / ".shopfloor").exists()


@pytest.mark.parametrize("name", ["AGENTS.md", ".gitattributes", ".shopfloor/config.toml"])
def test_init_refuses_non_utf8_files_before_writing(bare_runner: Runner, name: str) -> None:
    path = bare_runner.cwd / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"caf\xe9\n")
    before = _state(bare_runner.cwd)
    line = refused(bare_runner, "init", code=ERROR)
    assert Path(name).name in line and "UTF-8" in line
    assert _state(bare_runner.cwd) == before
    assert bare_runner.git("config", "--get", "merge.shopfloor.driver", check=False) == ""


# --- 11. the merge driver needs its two sides -----------------------------------------------------


def test_merge_driver_needs_ours_and_theirs(sf: Runner, tmp_path: Path) -> None:
    create(sf, "one")
    sf("export")
    data = (sf.cwd / ".shopfloor" / "issues.jsonl").read_bytes()
    base, ours, theirs = tmp_path / "base", tmp_path / "ours", tmp_path / "theirs"
    missing = tmp_path / "missing"
    theirs.write_bytes(data)
    assert "ours" in refused(sf, "merge-driver", str(base), str(missing), str(theirs), code=ERROR)
    assert not missing.exists()
    ours.write_bytes(data)
    assert "theirs" in refused(sf, "merge-driver", str(base), str(ours), str(missing), code=ERROR)
    assert ours.read_bytes() == data
    # A missing or empty base only means there is no common ancestor.
    sf("merge-driver", str(base), str(ours), str(theirs))
    assert ours.read_bytes() == data
    base.write_bytes(b"")
    sf("merge-driver", str(base), str(ours), str(theirs))
    assert ours.read_bytes() == data
